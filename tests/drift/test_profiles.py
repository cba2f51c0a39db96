"""The reference profile's file: it reads back as written, and a hostile one is refused by name."""
from __future__ import annotations

import json

import numpy as np
import pytest
from lepton_drift.errors import ProfileError
from lepton_drift.features import TableFeatures
from lepton_drift.profile import ReferenceProfile, bins_for, build_profile
from lepton_drift.reference import check_profile, verify_reference
from lepton_serving.manifest import Manifest, ReferenceFile, TensorSpec


def tabular_manifest(reference: ReferenceFile | None = None) -> Manifest:
    return Manifest(name="t", version=1, sha256="0" * 64, size=1, family="tabular",
                    inputs=[TensorSpec("features", "FP32", [-1, 2])], outputs=[TensorSpec("probabilities", "FP32", [-1, 2])],
                    labels=["no", "yes"], preprocessing={"feature_names": ["a", "b"]}, reference=reference)


def profile_bytes(rows: int = 500) -> bytes:
    extractor = TableFeatures("features", ["a", "b"], "probabilities", ["no", "yes"])
    x = np.random.default_rng(0).normal(size=(rows, 2)).astype(np.float32)
    p = np.stack([x[:, 0] > 0, x[:, 0] <= 0], axis=1).astype(np.float32)
    return build_profile(extractor, extractor.columns({"features": x}, {"probabilities": p}), model="t",
                         source="training").to_bytes()


def test_a_profile_reads_back_as_written_and_pins_in_the_manifest() -> None:
    from lepton_drift.profile import sha256_of

    data = profile_bytes()
    manifest = tabular_manifest(ReferenceFile(sha256_of(data), len(data), 500))
    # The manifest keeps the pin through its own JSON
    manifest = Manifest.from_json(manifest.to_json())
    profile, extractor = verify_reference(data, manifest)
    assert profile.to_bytes() == data and profile.bins == bins_for(500) == 5
    assert [f.name for f in extractor.features] == ["a", "b", "prediction"]
    assert manifest.reference_key == "models/t/1/reference.json"


def test_a_manifest_without_a_profile_hashes_as_before() -> None:
    assert "reference" not in json.loads(tabular_manifest().to_json())


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(lepton_reference=2), "schema 1"),
    (lambda d: d.update(source="guesswork"), "source"),
    (lambda d: d.update(rows=0), "rows"),
    (lambda d: d["features"][0].update(counts=[1, 2]), "adding up"),
    (lambda d: d["features"][0].update(edges=[3.0, 1.0, 2.0, 4.0]), "sorted edges"),
    (lambda d: d["features"][0].update(sample=[1.0, "x"]), "finite"),
    (lambda d: d["features"][2].update(categories=["no", "no"]), "distinct categories"),
    (lambda d: d["features"].append(dict(d["features"][0])), "distinct"),
    (lambda d: d.update(features=[]), "non-empty"),
    (lambda d: d.update(bins=1), "bins"),
])
def test_a_malformed_profile_is_refused_naming_the_fault(change, message) -> None:
    document = json.loads(profile_bytes())
    change(document)
    with pytest.raises(ProfileError, match=message):
        ReferenceProfile.from_bytes(json.dumps(document).encode())


def test_not_json_and_oversized_profiles_are_refused() -> None:
    with pytest.raises(ProfileError, match="not JSON"):
        ReferenceProfile.from_bytes(b"\xff{")
    with pytest.raises(ProfileError, match="at most"):
        ReferenceProfile.from_bytes(b" " * (9 * 1024 * 1024))


def test_a_profile_of_another_model_or_other_features_is_refused() -> None:
    profile = ReferenceProfile.from_bytes(profile_bytes())
    renamed = tabular_manifest()
    renamed.name = "other"
    with pytest.raises(ProfileError, match="not of 'other'"):
        check_profile(profile, renamed)
    wider = tabular_manifest()
    wider.preprocessing = {"feature_names": ["a", "z"]}
    with pytest.raises(ProfileError, match="missing z; unknown b"):
        check_profile(profile, wider)
