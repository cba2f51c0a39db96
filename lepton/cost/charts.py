"""The scaling document's plots (matplotlib, Agg, small PNGs). Imported only by the report."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend

from .crossover import SECONDS_PER_MONTH, Server  # noqa: E402
from .model import Breakdown  # noqa: E402
from .simulate import Run  # noqa: E402

DPI = 80
PARTS = (("compute", "compute"), ("requests", "Lambda requests"), ("api_gateway", "HTTP API"),
         ("init", "init phase"), ("s3_dynamodb", "S3 + DynamoDB"))


def _save(fig: plt.Figure, path: Path, rect: tuple[float, float, float, float] = (0, 0, 1, 1)) -> Path:
    from PIL import Image  # matplotlib's own dependency

    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    # a 256-colour palette keeps the committed PNGs a third of their size with no visible change
    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=256).save(path, optimize=True)
    return path


def cost(path: Path, at_1024: list[Breakdown], by_memory: dict[tuple[str, str], list[Breakdown]]) -> Path:
    """Left: the parts of a million predictions at 1,024 MB; right: the total against memory."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = [f"{b.model}\n{b.arch}" for b in at_1024]
    bottom = [0.0] * len(at_1024)
    for key, label in PARTS:
        values = [b.parts[key] for b in at_1024]
        left.bar(labels, values, bottom=bottom, label=label)
        bottom = [a + v for a, v in zip(bottom, values)]
    left.set_ylabel("USD per million predictions")
    left.set_title("At 1,024 MB, 1 % cold starts")
    left.set_ylim(0, max(bottom) * 1.35)  # room for the legend above the bars
    left.legend(fontsize=8, loc="upper center", ncol=3)
    left.tick_params(axis="x", labelsize=7, labelrotation=60)
    for (model, arch), rows in sorted(by_memory.items()):
        right.plot([r.memory_mb for r in rows], [r.total for r in rows], marker="o",
                   linestyle="-" if arch == "arm64" else "--", label=f"{model} {arch}")
    memories = sorted({r.memory_mb for rows in by_memory.values() for r in rows})
    right.set_xscale("log", base=2)
    right.set_xticks(memories, [f"{m:,}" for m in memories])
    right.minorticks_off()
    right.set_xlabel("memory (MB)")
    right.set_ylabel("USD per million predictions")
    right.set_title("Total against memory")
    right.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def spike(path: Path, runs: list[tuple[str, Run]], jump_s: float, before_s: float, after_s: float) -> Path:
    """The seconds around the spike's jump, step by step, for each lever."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    styles = ("-", "--", "-.", ":", (0, (5, 1)))
    for (label, run), style in zip(runs, styles):
        dt = run.profile.step_s
        idx = [i for i, t in enumerate(run.t) if jump_s - before_s <= t < jump_s + after_s]
        t = [run.t[i] - jump_s for i in idx]
        kw = {"label": label, "linestyle": style, "linewidth": 1.6, "drawstyle": "steps-post"}
        axes[0].plot(t, [(run.gateway_throttled[i] + run.lambda_throttled[i]) / dt for i in idx], **kw)
        axes[1].plot(t, [run.cold[i] / dt for i in idx], **kw)
        axes[2].plot(t, [run.environments[i] for i in idx], **kw)
    for ax, title in zip(axes, ("throttled req/s", "cold starts a second", "execution environments (log)")):
        ax.set_title(title)
        ax.set_xlabel("seconds from the jump to 10,000 req/s")
    axes[2].set_yscale("log")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    return _save(fig, path, rect=(0, 0.12, 1, 1))


def profiles(path: Path, runs: list[tuple[str, Run]]) -> Path:
    """Each profile under the default limits: traffic, cold-start share, p99 and cost over time."""
    fig, axes = plt.subplots(4, len(runs), figsize=(4.2 * len(runs), 8.5), squeeze=False)
    for col, (name, run) in enumerate(runs):
        windows = run.windows()
        scale = 3600.0 if run.profile.duration_s > 7200 else 1.0
        t = [w["t"] / scale for w in windows]
        ax = axes[0][col]
        ax.plot(t, [w["offered_rps"] for w in windows], label="offered")
        ax.plot(t, [w["served_rps"] for w in windows], label="served")
        ax.plot(t, [w["throttled_rps"] for w in windows], label="throttled")
        ax.set_title(f"{name}: req/s")
        ax.legend(fontsize=7)
        axes[1][col].plot(t, [100 * w["cold_share"] for w in windows])
        axes[1][col].set_title("cold starts, % of served")
        axes[2][col].plot(t, [w["p99_ms"] for w in windows])
        axes[2][col].set_yscale("log")
        axes[2][col].set_title("p99 of the function, ms")
        axes[3][col].plot(t, [w["cost_usd"] for w in windows])
        axes[3][col].set_title(f"USD per {run.profile.window_s:g} s window")
        axes[3][col].set_xlabel("hours" if scale > 1 else "seconds")
    return _save(fig, path)


def crossover(path: Path, models: list[tuple[str, list[tuple[str, float]], list[Server]]]) -> Path:
    """Monthly cost against a steady request rate: per-request options (lines), servers (steps)."""
    cols = min(2, len(models))
    rows = (len(models) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 3.8 * rows), squeeze=False)
    for ax, (model, per_request, servers) in zip([a for row in axes for a in row], models):
        top = max(s.capacity_rps for s in servers) * 10
        rates = [top ** (i / 400) for i in range(401)]  # 1 req/s to 10 full instances, evenly on a log axis
        for label, usd in per_request:
            ax.plot(rates, [r * usd * SECONDS_PER_MONTH for r in rates], label=label)
        for srv in servers:
            ax.step(rates, [srv.monthly_usd(r) for r in rates], where="post",
                    label=f"KServe on {srv.instance}", linestyle="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(model)
        ax.set_xlabel("steady req/s")
        ax.set_ylabel("USD a month")
        ax.legend(fontsize=7)
    for ax in [a for row in axes for a in row][len(models):]:
        ax.axis("off")
    return _save(fig, path)
