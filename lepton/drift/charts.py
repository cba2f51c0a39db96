"""Reference-vs-live histograms of a drift report (matplotlib, Agg, small PNGs). Imported only by
the report."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend
import numpy as np  # noqa: E402
from lepton_drift.check import FeatureDrift  # noqa: E402

DPI = 80
COLOURS = {"ok": "#2e7d32", "warning": "#ef6c00", "alarm": "#c62828", "not_enough_data": "#757575"}


def histogram(path: Path, feature: FeatureDrift) -> Path:
    """The reference's and the live window's shares over the reference's bins (or categories)."""
    from PIL import Image  # matplotlib's own dependency

    count = len(feature.labels)
    fig, axis = plt.subplots(figsize=(max(4.8, 0.55 * count + 2.2), 3.2))
    x = np.arange(count)
    axis.bar(x - 0.2, feature.reference, width=0.4, label="reference", color="#90a4ae")
    axis.bar(x + 0.2, feature.live, width=0.4, label="live", color=COLOURS.get(feature.level.value, "#1565c0"))
    axis.set_xticks(x, feature.labels, rotation=35 if count > 4 else 0, ha="right" if count > 4 else "center",
                    fontsize=7)
    axis.set_ylabel("share of rows")
    psi = f"PSI {feature.psi:.3f}" if feature.psi is not None else "not enough data"
    axis.set_title(f"{feature.name}: {psi} ({feature.level.value.replace('_', ' ')})", fontsize=10)
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    # a 256-colour palette keeps the PNGs a third of their size with no visible change
    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=256).save(path, optimize=True)
    return path
