"""One training run end to end: data -> CV (or search) -> final fit -> evaluate -> export -> manifest."""
from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any, Mapping

from . import export as onnx_export
from . import progress, report
from .crossval import cross_validate
from .distribute import is_chief, make_strategy, resolve_tf_config
from .families import get_family
from .hyperparams import resolve
from .inputs import rows, take
from .manifest_writer import build_manifest, golden_examples
from .quantize import quantize
from .reference import write_reference
from .search import grid, search
from .train import predict

log = logging.getLogger("lepton_training")

MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
PARITY_SAMPLES = 256


def run(
    family_name: str,
    artifact_dir: Path,
    quick: bool = False,
    layers: tuple[Mapping[str, Any] | None, ...] = (),
    strategy: Any = None,
) -> Path:
    """Train ``family_name`` and write its artifacts into ``artifact_dir`` (created if needed)."""
    started = time.monotonic()
    family = get_family(family_name)
    hp = resolve(family.defaults, family.quick, quick, *layers)
    strategy = strategy if strategy is not None else make_strategy()
    for key, other in family.requires.items():
        hp[key] = str(_required_artifact(family.name, key, other, hp[key], Path(artifact_dir), quick, strategy))
    log.info("%s: hyperparameters %s", family.name, {k: v for k, v in hp.items() if v not in ("", None)})
    progress.current().planned(planned_epochs(family, hp))

    data = family.load(hp)
    search_result = None
    if hp["search"]:
        search_result = search(family, hp, data, strategy)
        progress.current().planned(int(search_result["best"].get("epochs", hp["epochs"])) - int(hp["epochs"]))
        hp.update(search_result["best"])
        cv = search_result.pop("best_cv")
        log.info("%s: search picked %s", family.name, search_result["best"])
    else:
        cv = cross_validate(family, hp, data, strategy)
    log.info("%s: %d-fold CV mean %s", family.name, cv["folds"], {k: round(v, 4) for k, v in cv["mean"].items()})

    train, test = family.train_part(data), family.test_part(data)
    trained = family.fit(hp, train, strategy, verbose=int(hp["verbose"]))
    tf_test = family.score(lambda x: predict(trained.model, x), trained, test, train)
    baseline = family.baseline(train, test)

    artifact_dir = Path(artifact_dir)
    if not is_chief(resolve_tf_config()):
        log.info("%s: not the chief worker; artifacts are written by the chief", family.name)
        return artifact_dir
    artifact_dir.mkdir(parents=True, exist_ok=True)
    for stale in artifact_dir.glob("*.png"):
        stale.unlink()

    model_path = artifact_dir / MODEL_FILE
    test_inputs = family.inputs(trained, test)
    contract = family.contract(hp, trained)
    export_info = onnx_export.export_verified(trained.model, model_path, take(test_inputs, slice(0, PARITY_SAMPLES)),
                                              contract)
    shipped = family.score(onnx_export.onnx_predict(model_path), trained, test, train)

    quantization = None
    if hp["quantize"]:
        quantization = _try_quantize(family, hp, trained, test, train, model_path, shipped)
        if quantization["kept"]:
            shipped = quantization.pop("_metrics")
        quantization.pop("_metrics", None)
        onnx_export.check(model_path)
        onnx_export.check_contract(model_path, *contract)

    predict_shipped = onnx_export.onnx_predict(model_path)
    test_metrics = {**shipped, **baseline}
    manifest_metrics: dict[str, Any] = dict(test_metrics)
    manifest_metrics.update({f"cv_{k}_mean": v for k, v in cv["mean"].items()})
    manifest_metrics.update({"cv_folds": cv["folds"], "test_size": family.info(data)["test_size"]})
    if quantization:
        manifest_metrics.update({f"{quantization['metric']}_fp32": quantization["fp32"], f"{quantization['metric']}_int8": quantization["int8"]})

    picks = family.golden_rows(rows(test_inputs), int(hp["golden_count"]))
    golden = golden_examples(model_path, test_inputs, picks, family.golden_requests(test, picks))
    manifest = build_manifest(
        family.name, model_path, family.labels, family.preprocessing(trained, hp, data), manifest_metrics,
        golden, family.sha256(data), bool(quantization and quantization["kept"]), family.task,
    )
    manifest.reference = write_reference(family, trained, train, data, model_path, manifest, artifact_dir)
    (artifact_dir / MANIFEST_FILE).write_text(manifest.to_json() + "\n", encoding="utf-8")

    extra = family.extra_report(trained, test, predict_shipped)
    plots = ["learning_curves.png"]
    report.plot_learning_curves(artifact_dir / plots[0], trained.history, cv["histories"], family.curves)
    plots += family.plots(artifact_dir, extra, test_metrics)

    result = {
        "family": family.name,
        "created_at": manifest.created_at,
        "seconds": time.monotonic() - started,
        "hyperparameters": hp,
        "data": family.info(data),
        "training_data_sha256": manifest.training_data_sha256,
        "test": test_metrics,
        "test_tensorflow": tf_test,
        "cv": cv,
        "search": search_result,
        "export": export_info,
        "quantization": quantization,
        "history": trained.history,
        "manifest_metrics": manifest_metrics,
        **extra,
    }
    report.write_metrics(artifact_dir / METRICS_FILE, result)
    report.write_report(artifact_dir / REPORT_FILE, result, plots)
    log.info("%s: test %s in %.1f s -> %s", family.name, {k: round(v, 4) for k, v in test_metrics.items()}, result["seconds"], artifact_dir)
    if family.primary_metric in test_metrics:
        progress.current().finished(family.primary_metric, test_metrics[family.primary_metric])
    return artifact_dir


def planned_epochs(family: Any, hp: Mapping[str, Any]) -> int:
    """Every cross-validation fold's epochs (each grid point's, with --search), then the final fit's."""
    points = grid(family, bool(hp.get("quick"))) if hp["search"] else [{}]
    folds = sum(int(hp["folds"]) * int(dict(hp, **point)["epochs"]) for point in points)
    return folds + int(hp["epochs"])


def _required_artifact(name: str, key: str, other: str, given: str, artifact_dir: Path, quick: bool,
                       strategy: Any) -> Path:
    """The trained ``other`` family that ``name`` needs (e.g. the classifier that judges the
    generator): the directory ``given``, else ``<out>/<other>/`` next to this run's, trained
    there first when it holds no model, or only a --quick one and this run is a full one."""
    if given:
        folder = Path(given)
        if not (folder / MANIFEST_FILE).is_file():
            raise FileNotFoundError(f"{name}: {key}={given} holds no trained {other} model ({MANIFEST_FILE}); "
                                    f"train one there with `lepton train {other} --out {folder.parent}`, "
                                    f"or leave {key} empty to use (or train) {artifact_dir.parent / other}")
        return folder
    folder = artifact_dir.parent / other
    if (folder / MANIFEST_FILE).is_file() and (quick or not _quick_run(folder)):
        log.info("%s: using the %s model in %s", name, other, folder)
        return folder
    log.info("%s: training %s first: %s needs it (saved in %s)", name, other, key, folder)
    return run(other, folder, quick=quick, strategy=strategy)


def _quick_run(folder: Path) -> bool:
    try:
        return bool(json.loads((folder / METRICS_FILE).read_text())["hyperparameters"]["quick"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _try_quantize(family: Any, hp: dict[str, Any], trained: Any, test: Any, train: Any, model_path: Path, fp32: dict[str, float]) -> dict[str, Any]:
    """Quantise to int8; replace model.onnx only if it is smaller and the primary metric drops by
    at most quantize_max_drop."""
    metric = family.primary_metric
    int8_path = model_path.with_name("model.int8.onnx")
    try:
        quantize(model_path, int8_path)
        int8 = family.score(onnx_export.onnx_predict(int8_path), trained, test, train)
        drop = fp32[metric] - int8[metric]
        fp32_bytes, int8_bytes = model_path.stat().st_size, int8_path.stat().st_size
        # A tiny graph can grow (quantisation nodes outweigh the weights saved): keep only a win.
        kept = drop <= float(hp["quantize_max_drop"]) and int8_bytes < fp32_bytes
        info = {
            "metric": metric, "fp32": fp32[metric], "int8": int8[metric], "drop": drop, "kept": kept,
            "max_drop": float(hp["quantize_max_drop"]), "fp32_bytes": fp32_bytes,
            "int8_bytes": int8_bytes, "_metrics": int8,
        }
        if kept:
            shutil.move(int8_path, model_path)
        log.info("%s: int8 %s %.4f -> %.4f (%s)", family.name, metric, fp32[metric], int8[metric], "kept" if kept else "discarded")
        return info
    finally:
        int8_path.unlink(missing_ok=True)

