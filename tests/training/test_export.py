"""The export stage fails loudly: broken parity, wrong contract; quantisation keeps or discards."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from lepton_training import export


def perturb_largest_weight(path: Path, delta: float = 0.5) -> None:
    proto = onnx.load(str(path))
    tensor = max(proto.graph.initializer, key=lambda t: np.prod(t.dims))
    values = numpy_helper.to_array(tensor).copy()
    values.flat[0] += delta
    tensor.CopyFrom(numpy_helper.from_array(values, tensor.name))
    onnx.save(proto, str(path))


def test_parity_holds_for_the_real_export_and_fails_for_a_perturbed_weight(tabular_fit, tmp_path) -> None:
    family, trained, data = tabular_fit["family"], tabular_fit["trained"], tabular_fit["data"]
    x = family.inputs(trained, family.test_part(data))
    path = tmp_path / "model.onnx"
    info = export.export_verified(trained.model, path, x, family.contract(tabular_fit["hp"]))
    assert path.is_file() and info["parity_max_abs_diff"] <= 1e-4 and info["parity_samples"] == len(x)
    assert export.verify_parity(trained.model, path, x) <= 1e-4
    perturb_largest_weight(path)
    with pytest.raises(export.ParityError, match="differs from TensorFlow"):
        export.verify_parity(trained.model, path, x)


def test_export_fails_and_leaves_no_file_when_the_converted_graph_is_wrong(tabular_fit, tmp_path, monkeypatch) -> None:
    family, trained, data = tabular_fit["family"], tabular_fit["trained"], tabular_fit["data"]
    x = family.inputs(trained, family.test_part(data))
    real_convert = export.convert

    def broken_convert(model, path, opset=export.OPSET):
        real_convert(model, path, opset)
        perturb_largest_weight(Path(path))

    monkeypatch.setattr(export, "convert", broken_convert)
    path = tmp_path / "model.onnx"
    with pytest.raises(export.ParityError):
        export.export_verified(trained.model, path, x, family.contract(tabular_fit["hp"]))
    assert list(tmp_path.iterdir()) == []


def test_export_fails_on_a_contract_mismatch(tabular_fit, tmp_path) -> None:
    from lepton_serving.manifest import TensorSpec

    family, trained, data = tabular_fit["family"], tabular_fit["trained"], tabular_fit["data"]
    x = family.inputs(trained, family.test_part(data))
    wrong = ([TensorSpec("features", "FP32", [-1, 4])], [TensorSpec("probabilities", "FP32", [-1, 2])])
    with pytest.raises(export.ExportError, match="contract"):
        export.export_verified(trained.model, tmp_path / "model.onnx", x, wrong)
    assert not (tmp_path / "model.onnx").exists()


@pytest.mark.parametrize(("name", "max_drop"), [("recommender", 1.0), ("recommender", -1.0), ("tabular", 1.0)])
def test_quantisation_is_kept_only_when_smaller_and_within_the_bound(quick_fit, tmp_path, name, max_drop) -> None:
    from lepton_training.pipeline import _try_quantize

    fit = quick_fit(name)
    family, trained, data, hp = fit["family"], fit["trained"], fit["data"], fit["hp"]
    train, test = family.train_part(data), family.test_part(data)
    path = tmp_path / "model.onnx"
    export.export_verified(trained.model, path, family.inputs(trained, test), family.contract(hp))
    fp32_bytes = path.read_bytes()
    fp32 = family.score(export.onnx_predict(path), trained, test, train)
    info = _try_quantize(family, dict(hp, quantize_max_drop=max_drop), trained, test, train, path, fp32)
    metric = family.primary_metric
    assert info["metric"] == metric and info["fp32"] == fp32[metric]
    assert info["drop"] == pytest.approx(info["fp32"] - info["int8"])
    assert 0.0 <= info["int8"] <= 1.0 and info["fp32_bytes"] == len(fp32_bytes)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    int8_ops = ops & {"MatMulInteger", "DynamicQuantizeLinear", "DequantizeLinear", "DynamicQuantizeMatMul"}
    if name == "tabular":  # 27 weights: quantisation nodes make the file larger, so it is discarded
        assert info["int8_bytes"] > info["fp32_bytes"] and info["kept"] is False
        assert path.read_bytes() == fp32_bytes
    elif max_drop >= 0:  # any drop allowed and the file shrinks: int8 replaces it
        assert info["int8_bytes"] < info["fp32_bytes"] and info["kept"] is True
        assert path.read_bytes() != fp32_bytes and int8_ops
        export.check(path)
    else:  # a negative bound can never be met: the fp32 file stays
        assert info["kept"] is False and path.read_bytes() == fp32_bytes and not int8_ops
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_search_picks_the_best_cross_validated_grid_point(tmp_path) -> None:
    import json

    from lepton_training import train_family

    artifact = train_family("tabular", tmp_path, quick=True, search=True)
    metrics = json.loads((artifact / "metrics.json").read_text())
    search = metrics["search"]
    # Quick runs keep their epoch count, so only the learning rate is searched.
    assert [r["params"] for r in search["results"]] == [{"learning_rate": 0.005}, {"learning_rate": 0.02}]
    best = max(search["results"], key=lambda r: r["score"])
    assert search["best"] == best["params"] and metrics["hyperparameters"]["learning_rate"] == best["params"]["learning_rate"]
    assert metrics["cv"]["mean"]["accuracy"] == pytest.approx(best["score"])
