"""Recommender: user id -> one score per item (dot product of learned factors, plus item bias).

The V2 route is the graph's own signature, `user_id` INT64 [-1] -> `scores` FP32 [-1, items],
with user ids range-checked first. The friendly route ranks: the top k items per user, minus
the items the caller excludes (e.g. already bought).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from lepton_serving.errors import InvalidRequest, ModelIntegrityError
from lepton_serving.manifest import Manifest
from lepton_serving.model import Model, PredictRequest
from lepton_serving.options import top_k

from recommender.ids import check_user_tensor, parse_ids
from recommender.ranking import top_k_items

DEFAULT_K = 10
MAX_K = 100


class RecommenderModel(Model):
    max_batch = 64
    row_noun = "users"

    def setup(self, manifest: Manifest) -> None:
        prep = manifest.preprocessing
        try:
            self.num_users, self.num_items = int(prep["num_users"]), int(prep["num_items"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelIntegrityError(f"recommender v{manifest.version}: preprocessing needs integer "
                                      f"num_users and num_items, got {prep}") from exc
        width = manifest.outputs[0].shape[-1]
        if self.num_users < 1 or self.num_items < 1 or width not in (-1, self.num_items):
            raise ModelIntegrityError(f"recommender v{manifest.version}: {self.num_users} users and "
                                      f"{self.num_items} items do not fit output shape {manifest.outputs[0].shape}")
        self.max_k = min(MAX_K, self.num_items)

    # -- both routes ---------------------------------------------------------------------------
    def preprocess(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        name = self.inputs[0].name
        check_user_tensor(name, inputs[name], self.num_users)
        return {name: inputs[name]}

    # -- the friendly route --------------------------------------------------------------------
    def read_predict(self, doc: Any) -> PredictRequest:
        """{"user_id": 42} or {"user_ids": [...]} (the generic {"instances": [...]} too), "k", "exclude"."""
        fields = [f for f in ("user_id", "user_ids", "instances") if isinstance(doc, dict) and f in doc]
        if len(fields) != 1:
            raise InvalidRequest('send {"user_id": 42} or {"user_ids": [42, 7]}, optionally with '
                                 f'"k" (1..{self.max_k}, default {min(DEFAULT_K, self.max_k)}) and "exclude": [item ids]')
        field = fields[0]
        users = [doc["user_id"]] if field == "user_id" else doc[field]
        if not isinstance(users, list):
            raise InvalidRequest(f"'{field}' must be a list of user ids (whole numbers 0..{self.num_users - 1})")
        k = top_k(doc, min(DEFAULT_K, self.max_k), self.max_k,
                  f"the most this model returns is {self.max_k} (min of {MAX_K} and its {self.num_items} items)")
        exclude = np.asarray(parse_ids(doc.get("exclude", []), "exclude", "item", self.num_items), dtype=np.int64)
        return PredictRequest(users, {"k": k, "exclude": exclude, "field": field})

    def decode_predict(self, request: PredictRequest) -> dict[str, np.ndarray]:
        users = parse_ids(request.rows, request.options["field"], "user", self.num_users)
        request.options["users"] = users
        return {self.inputs[0].name: np.asarray(users, dtype=np.int64)}

    def encode_predict(self, outputs: dict[str, np.ndarray], request: PredictRequest) -> dict[str, Any]:
        options = request.options
        scores = outputs[self.outputs[0].name]
        users = options.get("users", [None] * len(scores))
        items, values = top_k_items(scores, options.get("k", DEFAULT_K), options.get("exclude"))
        return {"recommendations": [
            {"user_id": user, "items": [{"item_id": i, "score": s} for i, s in zip(row_items, row_values)]}
            for user, row_items, row_values in zip(users, items.tolist(), values.tolist())
        ]}
