"""Two doors, one policy: the deployer's gate (judging an upload in the model bucket) and `lepton add`
(judging a file on disk) refuse each of these files by the same admission check, with the same
reason, because both call lepton_deploy.admission. Among them the faults the two used to judge
apart: external sparse indices, and a locale inside a model-local function's body."""
from __future__ import annotations

import boto3
import numpy as np
import onnx
import pytest
from moto import mock_aws
from onnx import TensorProto, helper, numpy_helper

import own_models
from deployer.gate import Policy, Submission, judge
from lepton.byom.errors import Refused
from lepton.byom.inspection import inspect_model
from lepton_deploy import admission
from lepton_deploy.functions import FunctionConfig
from lepton_serving.bucket import ModelBucket
from lepton_serving.manifest import Manifest, TensorSpec
from lepton_serving.store import sha256_hex

BUCKET = "lepton-models"
BUDGET = 100 * 1024 * 1024


def external_sparse_indices() -> bytes:
    """A sparse initializer whose values are inline and whose indices live in another file."""
    values = numpy_helper.from_array(np.array([1.0, 2.0], np.float32), "W")
    indices = numpy_helper.from_array(np.array([0, 4], np.int64), "W_indices")
    indices.ClearField("raw_data")
    indices.data_location = TensorProto.EXTERNAL
    indices.external_data.add(key="location", value="indices.bin")
    sparse = helper.make_sparse_tensor(values, indices, [2, 3])
    graph = helper.make_graph([helper.make_node("Add", ["x", "W"], ["y"])], "sparse",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], sparse_initializer=[sparse])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def locale_in_a_function_body() -> bytes:
    """A StringNormalizer asking for en_US.UTF-8, inside a model-local function the graph calls."""
    normalize = helper.make_function("lepton.local", "Normalize", ["s"], ["t"], [
        helper.make_node("StringNormalizer", ["s"], ["t"], case_change_action="LOWER", locale="en_US.UTF-8")],
        [helper.make_opsetid("", 17)])
    graph = helper.make_graph([helper.make_node("Normalize", ["text"], ["clean"], domain="lepton.local")], "local",
                              [helper.make_tensor_value_info("text", TensorProto.STRING, ["batch"])],
                              [helper.make_tensor_value_info("clean", TensorProto.STRING, ["batch"])])
    model = helper.make_model(graph, functions=[normalize], opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("lepton.local", 1)])
    model.ir_version = 8
    return model.SerializeToString()


CASES = {
    "not an ONNX file": (lambda tmp, text: b"PK\x03\x04 a zip, not a model", "onnx_parse"),
    "scikit-learn ZipMap": (lambda tmp, text: own_models.sklearn_classifier(zipmap=True)[0], "io_types"),
    "bfloat16 output": (lambda tmp, text: own_models.with_bfloat16_output(), "io_types"),
    "external weights": (lambda tmp, text: own_models.with_external_data(tmp).read_bytes(), "external_data"),
    "external sparse indices": (lambda tmp, text: external_sparse_indices(), "external_data"),
    "default locale (skl2onnx TF-IDF)": (lambda tmp, text: text.tfidf_default_locale.read_bytes(), "locale"),
    "locale in a function body": (lambda tmp, text: locale_in_a_function_body(), "locale"),
    "operator onnxruntime lacks": (lambda tmp, text: own_models.with_custom_domain(), "load"),
}


def signature(data: bytes) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """The graph's own signature when it has one V2 carries, so the manifest describes the file."""
    try:
        inputs, outputs = admission.graph_tensors(admission.parse(data))
        return [t.spec for t in inputs], [t.spec for t in outputs]
    except admission.Refusal:
        return [TensorSpec("x", "FP32", [-1, 3])], [TensorSpec("y", "FP32", [-1, 3])]


def gate_verdict(data: bytes):
    """The deployer's gate on this file, uploaded as models/doors/1/ (model first, manifest last)."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        inputs, outputs = signature(data)
        manifest = Manifest("doors", 1, sha256_hex(data), len(data), inputs, outputs)
        s3.put_object(Bucket=BUCKET, Key=manifest.model_key, Body=data)
        s3.put_object(Bucket=BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())
        submission = Submission(BUCKET, manifest.manifest_key, "doors", 1,
                                FunctionConfig("lepton-doors", "$LATEST"), pointer=None)
        return judge(submission, Policy(BUDGET, 10_000.0), ModelBucket(s3, BUCKET))


@pytest.mark.parametrize("case", list(CASES))
def test_the_gate_and_lepton_add_refuse_the_same_file_for_the_same_reason(case, tmp_path, text_models):
    build, check = CASES[case]
    data = build(tmp_path, text_models)
    path = tmp_path / "model.onnx"
    path.write_bytes(data)

    verdict = gate_verdict(data)
    with pytest.raises(Refused) as refused:
        inspect_model(path, BUDGET)

    assert (verdict.outcome, verdict.check) == ("rejected", check), verdict.reason
    assert refused.value.reason == verdict.reason
    assert refused.value.fix  # `lepton add` adds what to do


def test_what_both_admit_a_locale_lambda_has_and_a_contrib_operator(tmp_path, text_models):
    data = text_models.tfidf.read_bytes()  # com.microsoft Tokenizer, StringNormalizer in C.UTF-8
    assert "com.microsoft" in {n.domain for n in onnx.load_model_from_string(data).graph.node}
    path = tmp_path / "tfidf.onnx"
    path.write_bytes(data)
    model = inspect_model(path, BUDGET)
    assert [t.describe() for t in model.inputs] == ["text BYTES [?]"]
    verdict = gate_verdict(data)
    # Past admission, the gate goes on to the golden examples, which this bare manifest lacks.
    assert (verdict.outcome, verdict.check) == ("rejected", "golden")


# ------------------------------------------------------------------------- the tokenizer the gate checks
@pytest.fixture(scope="module")
def added_moods(tmp_path_factory, text_models):
    """The attention model added with its tokenizer: the artifact `lepton add` wrote."""
    from lepton.byom.cli import add_model
    from project_copy import copy_project

    project = copy_project(tmp_path_factory.mktemp("doors") / "project")
    add_model(project, "moods", text_models.attention, tokenizer_path=text_models.tokenizer)
    return project / ".lepton" / "artifacts" / "moods"


def other_tokenizer() -> bytes:
    """A valid tokenizer.json that is not the model's: lower-casing off, so its ids differ."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(["Lepton serves this model from raw text.", "A second sentence."],
                                  trainers.WordPieceTrainer(vocab_size=60, special_tokens=["[PAD]", "[UNK]"]))
    return tokenizer.to_str().encode()


def judge_upload(artifact, tokenizer: bytes | None, repin: bool = False):
    """The gate on the added version, uploaded with ``tokenizer`` (None: not uploaded); ``repin``:
    the manifest pins those bytes (as if the file had been swapped before `lepton add` finished)."""
    from lepton_serving.manifest import TokenizerFile

    manifest = Manifest.from_json((artifact / "manifest.json").read_text())
    if repin and tokenizer is not None:
        manifest.tokenizer = TokenizerFile(sha256_hex(tokenizer), len(tokenizer), manifest.tokenizer.max_length)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=manifest.model_key, Body=(artifact / "model.onnx").read_bytes())
        if tokenizer is not None:
            s3.put_object(Bucket=BUCKET, Key=manifest.tokenizer_key, Body=tokenizer)
        s3.put_object(Bucket=BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())
        submission = Submission(BUCKET, manifest.manifest_key, "moods", 1, FunctionConfig("lepton-moods", "$LATEST"),
                                pointer=None)
        return judge(submission, Policy(BUDGET, 10_000.0), ModelBucket(s3, BUCKET))


def test_the_gate_admits_the_pinned_tokenizer_and_refuses_a_missing_changed_or_different_one(added_moods):
    pinned = (added_moods / "tokenizer.json").read_bytes()
    accepted = judge_upload(added_moods, pinned)
    assert accepted.accepted, accepted.reason
    assert accepted.files.tokenizer == pinned  # the bytes the model layer ships
    missing = judge_upload(added_moods, None)
    assert (missing.outcome, missing.check) == ("rejected", "tokenizer")
    assert "the manifest pins a tokenizer.json: upload it before the manifest" in missing.reason
    changed = judge_upload(added_moods, pinned.replace(b'"[UNK]"', b'"[unk]"', 1))
    assert (changed.check, changed.reason.split(" has sha256")[0]) == ("tokenizer", "tokenizer.json")
    swapped = judge_upload(added_moods, other_tokenizer(), repin=True)
    assert swapped.check == "tokenizer"
    assert "turns golden example 0's texts into other" in swapped.reason
    assert "not the tokenizer the model was added with" in swapped.reason
