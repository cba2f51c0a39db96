"""Images of digits as a user would send them: drawn with Pillow, or upscaled from sklearn's 8x8."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw


def png_bytes(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def drawn_seven(size: int = 48, stroke: int = 5) -> Image.Image:
    """A hand-drawn-looking 7 with the crossbar most sklearn 7s have: black ink on white, margins."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    s = size / 48
    draw.line([(12 * s, 8 * s), (36 * s, 8 * s), (22 * s, 41 * s)], fill=0, width=round(stroke * s), joint="curve")
    draw.line([(19 * s, 25 * s), (35 * s, 25 * s)], fill=0, width=round(stroke * s))
    return image


def upscaled(pixels: np.ndarray, factor: int = 16, margin: int = 40, max_value: float = 16.0) -> Image.Image:
    """An 8x8 0..16 ink-high array drawn big: nearest-neighbour blocks, dark ink on white paper."""
    grey = 255 - np.round(np.asarray(pixels, dtype=np.float64) / max_value * 255).astype(np.uint8)
    big = np.kron(grey, np.ones((factor, factor), dtype=np.uint8))
    canvas = np.full((big.shape[0] + 2 * margin, big.shape[1] + 2 * margin), 255, dtype=np.uint8)
    canvas[margin:margin + big.shape[0], margin:margin + big.shape[1]] = big
    return Image.fromarray(canvas)
