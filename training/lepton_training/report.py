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


def plot_learning_curves(path: Path, final: dict[str, list[float]], cv: list[dict[str, list[float]]],
                         curves: tuple[str, ...] = ("loss", "accuracy")) -> None:
    """Per metric in ``curves``: the final fit's training curve, plus the cross-validation folds'
    mean train/validation curves (metrics that no history records are left out)."""
    plt = _pyplot()
    metrics = [m for m in curves if m in final or any(m in h or f"val_{m}" in h for h in cv)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        if metric in final:
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


def plot_samples(path: Path, samples: np.ndarray, labels: list[str]) -> None:
    """A grid of generated images: one row per class [classes, per_row, H, W], ink dark on white."""
    plt = _pyplot()
    rows, cols = samples.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(0.6 * cols + 0.6, 0.6 * rows), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r][c]
            ax.imshow(samples[r, c], cmap="gray_r", vmin=0.0, vmax=16.0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(labels[r], rotation=0, labelpad=12, va="center")
    fig.suptitle("generated samples, one row per requested digit", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_generation(path: Path, metrics: dict[str, float]) -> None:
    """Each generation metric for the model, the class-mean-plus-noise baseline and real images."""
    plt = _pyplot()
    names = ["conditional_accuracy", "diversity", "frechet_distance"]
    sources = [("model", ""), ("class mean + noise", "baseline_"), ("real training images", "real_")]
    fig, axes = plt.subplots(1, len(names), figsize=(11, 3.5))
    for ax, name in zip(axes, names):
        values = [metrics.get(prefix + name, np.nan) for _, prefix in sources]
        ax.bar(range(len(sources)), values, color=["tab:blue", "tab:gray", "tab:green"])
        ax.set_xticks(range(len(sources)), [label for label, _ in sources], rotation=20, fontsize=8)
        ax.set_title(name + (" (lower is better)" if name == "frechet_distance" else ""), fontsize=9)
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:.3g}", ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")


#: Reference columns of the held-out table: metric-name prefix -> column title. ``real_`` is the
#: generator's ceiling (real training images scored like generated ones).
REFERENCES = {"baseline_": "baseline", "real_": "real data"}


def _table(test: dict[str, float]) -> str:
    prefixes = [p for p in REFERENCES if any(k.startswith(p) for k in test)]
    lines = ["| metric | model | " + " | ".join(REFERENCES[p] for p in prefixes) + " |",
             "| --- | --- | " + " | ".join("---" for _ in prefixes) + " |"]
    for name, value in test.items():
        if name.startswith(tuple(REFERENCES)):
            continue
        cells = [f"{test[p + name]:.4f}" if p + name in test else "" for p in prefixes]
        lines.append(f"| {name} | {value:.4f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(path: Path, result: dict[str, Any], plots: list[str]) -> None:
    """A short human-readable summary of one run; every number comes from ``result``."""
    test = result["test"]
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
        _table(test),
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
