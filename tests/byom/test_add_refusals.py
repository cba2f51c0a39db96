"""`lepton add` refuses what cannot be served, says why and what to do, and writes nothing."""
from __future__ import annotations

import json

import pytest

import own_models
from project_copy import snapshot
from lepton.cli import main


def add(project, capsys, monkeypatch, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(project)
    capsys.readouterr()
    code = main(["add", *args, "--aws-port", "1"])  # port 1: never a running stack
    out, err = capsys.readouterr()
    return code, " ".join((out + err).split())


def assert_refused_and_nothing_written(project, capsys, monkeypatch, args: list[str], *words: str) -> None:
    before = snapshot(project)
    code, text = add(project, capsys, monkeypatch, *args)
    assert code == 1, text
    assert "refused" in text
    for word in words:
        assert word in text, text
    assert snapshot(project) == before
    assert not (project / ".lepton").exists()


def test_a_zipmap_classifier_is_refused_with_the_skl2onnx_option_that_fixes_it(project, model_file, capsys,
                                                                               monkeypatch):
    data, _ = own_models.sklearn_classifier(zipmap=True)
    assert_refused_and_nothing_written(project, capsys, monkeypatch, ["churn", "--model", str(model_file(data))],
                                       "output 'output_probability' is a sequence of maps (scikit-learn ZipMap)",
                                       'options={"zipmap": False}', '{id(classifier): {"zipmap": False}}')


def test_a_sequence_output_is_refused_because_v2_carries_tensors_only(project, model_file, capsys, monkeypatch):
    path = model_file(own_models.with_sequence_output())
    assert_refused_and_nothing_written(project, capsys, monkeypatch, ["seq", "--model", str(path)],
                                       "output 'items' is a sequence", "the V2 protocol carries tensors only",
                                       "dense tensor")


def test_an_operator_onnxruntime_does_not_implement_is_refused_naming_it(project, model_file, capsys, monkeypatch):
    path = model_file(own_models.with_custom_domain())
    assert_refused_and_nothing_written(project, capsys, monkeypatch, ["gelu", "--model", str(path)],
                                       "onnxruntime 1.32.0 does not implement operator FastGelu of domain "
                                       "'com.example'", "operators onnxruntime implements")


def test_external_weights_are_refused_with_how_to_save_one_file(project, tmp_path, capsys, monkeypatch):
    path = own_models.with_external_data(tmp_path)
    assert_refused_and_nothing_written(project, capsys, monkeypatch, ["big", "--model", str(path)],
                                       "external file(s) external.onnx.data", "save_as_external_data=False")


def test_a_bfloat16_output_is_refused_as_a_datatype_v2_cannot_carry(project, model_file, capsys, monkeypatch):
    path = model_file(own_models.with_bfloat16_output())
    assert_refused_and_nothing_written(project, capsys, monkeypatch, ["half", "--model", str(path)],
                                       "output 'y' is BFLOAT16, which the V2 protocol cannot carry", "Cast node")


def test_a_file_over_the_deployers_size_budget_is_refused_before_it_is_read(project, model_file, capsys,
                                                                          monkeypatch):
    template = project / "template.yaml"
    template.write_text(template.read_text().replace('LEPTON_MAX_MODEL_BYTES: "104857600"',
                                                     'LEPTON_MAX_MODEL_BYTES: "50"'))
    path = model_file(own_models.small_float_model())
    size = path.stat().st_size
    assert_refused_and_nothing_written(project, capsys, monkeypatch, ["small", "--model", str(path)],
                                       f"is {size:,} bytes; a model function's budget is 50 bytes",
                                       "LEPTON_MAX_MODEL_BYTES")


def test_a_file_that_is_not_onnx_is_refused(project, model_file, capsys, monkeypatch):
    path = model_file(b"PK\x03\x04 this is a zip, not a model", "model.zip")
    assert_refused_and_nothing_written(project, capsys, monkeypatch, ["zipped", "--model", str(path)],
                                       "the file is not an ONNX model", "Export the model to ONNX first")


def test_a_missing_file_is_refused(project, tmp_path, capsys, monkeypatch):
    assert_refused_and_nothing_written(project, capsys, monkeypatch,
                                       ["ghost", "--model", str(tmp_path / "nowhere.onnx")],
                                       "there is no file", "--model model.onnx")


@pytest.mark.parametrize("name, words", [
    ("Churn", ["has upper-case letters", "Use 'churn'"]),
    ("churn_model", ["is not a model name", "single hyphens"]),
    ("2fast", ["is not a model name", "starting with a letter"]),
    ("churn-", ["is not a model name", "not ending with a hyphen"]),
    ("c" * 41, ["has 41 characters; the most is 40"]),
    ("tabular", ["a model named 'tabular' is already served by TabularFunction"]),
    ("deployer", ["template.yaml already has a resource DeployerFunction"]),
    ("json", ["would make a Python package 'json', which already exists"]),
    ("class", ["is a Python keyword"]),
])
def test_bad_or_taken_names_are_refused(project, model_file, capsys, monkeypatch, name, words):
    path = model_file(own_models.small_float_model())
    assert_refused_and_nothing_written(project, capsys, monkeypatch, [name, "--model", str(path)], *words)


def test_a_name_whose_function_folder_exists_is_refused(project, model_file, capsys, monkeypatch):
    (project / "functions" / "stray").mkdir()
    (project / "functions" / "stray" / "notes.txt").write_text("someone's work")
    path = model_file(own_models.small_float_model())
    assert_refused_and_nothing_written(project, capsys, monkeypatch, ["stray", "--model", str(path)],
                                       "functions/stray/ already exists", "move that folder away")


def test_labels_that_match_no_score_output_are_refused(project, model_file, tmp_path, capsys, monkeypatch):
    data, _ = own_models.sklearn_classifier()
    labels = tmp_path / "labels.txt"
    labels.write_text("low\nmedium\nhigh\n")
    assert_refused_and_nothing_written(project, capsys, monkeypatch,
                                       ["churn", "--model", str(model_file(data)), "--labels", str(labels)],
                                       "has 3 labels, and no output has 3 scores per row",
                                       "'probabilities' has 2")


def test_a_sample_that_does_not_fit_the_signature_is_refused(project, model_file, tmp_path, capsys, monkeypatch):
    data, _ = own_models.sklearn_classifier()
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps({"instances": [[1.0, 2.0, 3.0]]}))
    assert_refused_and_nothing_written(project, capsys, monkeypatch,
                                       ["churn", "--model", str(model_file(data)), "--sample", str(sample)],
                                       "sample.json does not fit the model", "input 'X' must have shape [-1, 4]",
                                       "X FP32 [?, 4]")


def test_a_model_that_fails_on_generated_inputs_asks_for_a_sample(project, model_file, capsys, monkeypatch):
    # Gather with a 1-row table: the generated 0/1 indices go out of range, as real token ids might.
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np

    table = numpy_helper.from_array(np.zeros((1, 2), np.float32), "table")
    graph = helper.make_graph([helper.make_node("Gather", ["table", "ids"], ["vectors"])], "lookup",
                              [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch"])],
                              [helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["batch", 2])], [table])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = model_file(model.SerializeToString())
    assert_refused_and_nothing_written(project, capsys, monkeypatch, ["lookup", "--model", str(path)],
                                       "onnxruntime cannot run the model on the generated inputs",
                                       "--sample sample.json")


def test_remove_refuses_a_trained_family_and_an_unknown_model(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    before = snapshot(project)
    assert main(["remove", "tabular"]) == 1
    assert main(["remove", "nosuch"]) == 1
    text = " ".join(capsys.readouterr().err.split())
    assert "'tabular' is one of the families Lepton trains" in text
    assert "no function in template.yaml serves a model named 'nosuch'" in text
    assert snapshot(project) == before
