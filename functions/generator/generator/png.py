"""An 8x8 image (0..max_value, ink high) -> a base64 PNG, scaled up for display.

Greyscale, dark ink on white like a drawing, each cell a SCALE x SCALE square (nearest
neighbour: the cells stay sharp rather than blurred).
"""
from __future__ import annotations

import base64
import io

import numpy as np

SCALE = 16  # 8x8 cells -> 128x128 pixels


def png_base64(image: np.ndarray, max_value: float, scale: int = SCALE) -> str:
    from PIL import Image  # with the first PNG: the V2 route never draws one, and a cold start skips Pillow

    ink = np.clip(np.asarray(image, dtype=np.float64) / max_value, 0.0, 1.0)
    grey = np.round(255.0 * (1.0 - ink)).astype(np.uint8)
    picture = Image.fromarray(grey)  # uint8, 2-D: mode "L"
    picture = picture.resize((grey.shape[1] * scale, grey.shape[0] * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
