"""metrics.json, report.md and the PNG plots (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curves(path: Path, final: dict[str, list[float]], cv: list[dict[str, list[float]]]) -> None:
    """Training loss of the final fit, plus the cross-validation folds' mean train/validation curves."""
    plt = _pyplot()
    metrics = ["loss"] + (["accuracy"] if "accuracy" in final else [])
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        ax.plot(range(1, len(final[metric]) + 1), final[metric], label=f"final fit: train {metric}")
        for key, style in ((metric, ":"), (f"val_{metric}", "--")):
            curves = [h[key] for h in cv if key in h]
            if curves:
                length = min(len(c) for c in curves)
                mean = np.mean([c[:length] for c in curves], axis=0)
                label = f"CV mean: {'validation' if key.startswith('val_') else 'train'} {metric}"
                ax.plot(range(1, length + 1), mean, style, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(path: Path, matrix: list[list[int]], labels: list[str]) -> None:
    plt = _pyplot()
    data = np.array(matrix)
    size = 2.5 + 0.45 * len(labels)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(data, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 2 else 0)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), value in np.ndenumerate(data):
        ax.text(j, i, str(value), ha="center", va="center", color="white" if value > data.max() / 2 else "black")
    ax.set_title("held-out confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_ranking(path: Path, metrics: dict[str, float]) -> None:
    plt = _pyplot()
    names = [k for k in metrics if not k.startswith("baseline_") and f"baseline_{k}" in metrics]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(x - 0.2, [metrics[n] for n in names], 0.4, label="model")
    ax.bar(x + 0.2, [metrics[f"baseline_{n}"] for n in names], 0.4, label="popularity")
    ax.set_xticks(x, names)
    ax.set_title("held-out ranking quality")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| metric | model | baseline |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def write_report(path: Path, result: dict[str, Any], plots: list[str]) -> None:
    """A short human-readable summary of one run; every number comes from ``result``."""
    test = result["test"]
    rows = [
        (name, f"{value:.4f}", f"{test[f'baseline_{name}']:.4f}" if f"baseline_{name}" in test else "")
        for name, value in test.items()
        if not name.startswith("baseline_")
    ]
    cv = result["cv"]
    cv_rows = [f"| {n} | {cv['mean'][n]:.4f} | {cv['std'][n]:.4f} |" for n in cv["mean"]]
    quant = result.get("quantization")
    parts = [
        f"# Training report: {result['family']}",
        "",
        f"Created {result['created_at']} in {result['seconds']:.1f} s"
        + (" (quick run: small subset, few steps; numbers are not meaningful)" if result["hyperparameters"].get("quick") else ""),
        "",
        "## Data",
        "",
        "```json",
        json.dumps(result["data"], indent=2, sort_keys=True),
        "```",
        "",
        f"training_data_sha256: `{result['training_data_sha256']}`",
        "",
        "## Held-out test split (exported model, onnxruntime)",
        "",
        _table(rows),
        "",
        f"## {cv['folds']}-fold cross-validation on the training split",
        "",
        "| metric | mean | std |",
        "| --- | --- | --- |",
        *cv_rows,
        "",
    ]
    if result.get("search"):
        parts += ["## Hyperparameter search", "", f"Best by CV {result['search']['metric']}: `{result['search']['best']}`", ""]
        parts += [f"- `{r['params']}`: {r['score']:.4f}" for r in result["search"]["results"]] + [""]
    parts += [
        "## Export",
        "",
        f"ONNX opset {result['export']['opset']}; onnxruntime vs TensorFlow max |diff| "
        f"{result['export']['parity_max_abs_diff']:.2e} on {result['export']['parity_samples']} held-out samples "
        f"(tolerance {result['export']['parity_tolerance']:g}); ops: {', '.join(result['export']['ops'])}.",
        "",
    ]
    if quant:
        parts += [
            f"int8 dynamic quantisation: {quant['metric']} {quant['fp32']:.4f} (fp32) -> {quant['int8']:.4f} (int8), "
            f"size {quant['fp32_bytes']} -> {quant['int8_bytes']} bytes; "
            f"{'kept' if quant['kept'] else 'discarded'} (allowed drop {quant['max_drop']}).",
            "",
        ]
    parts += ["## Hyperparameters", "", "```json", json.dumps(result["hyperparameters"], indent=2, sort_keys=True), "```", ""]
    parts += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    path.write_text("\n".join(parts), encoding="utf-8")
