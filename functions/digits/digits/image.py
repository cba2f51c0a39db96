"""A PNG or JPEG of one digit -> the 8x8, 0..16, ink-high array the digits model was trained on.

sklearn's digits (UCI optdigits) are NIST 32x32 bitmaps in which every digit fills the full
height (all 1,797 of them touch the top and bottom rows) and is centred across, counted in 4x4
blocks (0..16 ink pixels per block). We redo that with grey levels: flatten transparency, make
the ink high, crop to the ink, scale the crop to fill the 32x32 box on its long side (aspect
kept, centred), then average 4x4 blocks and scale to 0..16.
"""
from __future__ import annotations

import base64
import binascii
import io
import warnings
from typing import TYPE_CHECKING

import numpy as np
from lepton_serving.errors import InvalidRequest, LimitExceeded

if TYPE_CHECKING:
    from PIL import Image

# Pillow is imported by the functions below, with the first image a request sends: the V2 route
# and 8x8 pixel arrays never need it, and a cold start would pay 10-20 ms for it (docs/coldstart.md).

MAX_IMAGE_BYTES = 1024 * 1024
MAX_SIDE = 4096
# Decoded size, read from the file's header before anything is decoded: a 94 KiB PNG can declare
# 4096x4096 pixels and take seconds and hundreds of MiB to decode. 2048x2048 decodes in about
# a quarter of that; four of them are the most one request may ask to decode.
MAX_PIXELS = 2048 * 2048
MAX_REQUEST_PIXELS = 4 * MAX_PIXELS
FORMATS = ("PNG", "JPEG")
BLOCK = 4  # NIST bitmap pixels per output cell side: 32x32 -> 8x8
WORK_SIDE = 512  # decoded images are shrunk to this first (in Pillow's C code) to bound memory
INK_THRESHOLD = 0.05  # share of the ink range that counts as ink for the bounding box
MIN_CONTRAST = 0.1  # lightest-to-darkest spread below which there is nothing to read


def decode_base64(text: object, where: str) -> bytes:
    """Base64 (standard or URL-safe, optionally a data: URL, line breaks allowed) -> bytes."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest(f"{where} must be a non-empty base64 string of a PNG or JPEG file")
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    text = "".join(text.split()).translate(str.maketrans("-_", "+/"))
    if len(text) > (MAX_IMAGE_BYTES + 2) // 3 * 4:
        raise LimitExceeded(f"{where} is {len(text) * 3 // 4} bytes; the limit is {MAX_IMAGE_BYTES} bytes "
                            "(1 MB): send a smaller image, the model only looks at 8x8 pixels")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest(f"{where} is not valid base64 ({exc}); send the file's bytes base64-encoded") from exc


def open_image(data: bytes, where: str) -> Image.Image:
    """Read a PNG/JPEG's header, refusing oversized or malformed files: nothing is decoded yet."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_IMAGE_BYTES:
        raise LimitExceeded(f"{where} is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES} bytes (1 MB)")
    with warnings.catch_warnings():
        # Pillow warns (then errors) on decompression bombs; either way it is a refusal here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise LimitExceeded(f"{where} declares too many pixels; the limit is {MAX_SIDE}x{MAX_SIDE}") from exc
        except UnidentifiedImageError as exc:
            raise InvalidRequest(f"{where} is not a PNG or JPEG image; send a PNG or JPEG file, base64-encoded") from exc
        except Exception as exc:  # a broken container: Pillow raises OSError, ValueError, SyntaxError... while opening
            raise InvalidRequest(f"{where} is a damaged PNG or JPEG file ({_first_line(exc)}); "
                                 "send the whole file, base64-encoded") from exc
    width, height = image.size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise LimitExceeded(f"{where} is {width}x{height} pixels; the limit is {MAX_SIDE}x{MAX_SIDE}")
    if width * height > MAX_PIXELS:
        raise LimitExceeded(f"{where} is {width}x{height} = {width * height:,} pixels; the limit is "
                            f"{MAX_PIXELS:,} (2048x2048): send a smaller image, the model only looks at 8x8")
    return image


def decode_image(image: Image.Image, where: str) -> Image.Image:
    """Decode an opened image (JPEG straight to a reduced scale), upright by its EXIF orientation."""
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            if image.format == "JPEG":
                image.draft("L", (WORK_SIDE, WORK_SIDE))  # JPEG can decode straight to a smaller scale
            image.load()
            return ImageOps.exif_transpose(image)
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, EOFError... on bad files
            raise InvalidRequest(f"{where} could not be decoded as {image.format} ({_first_line(exc)}); "
                                 "the file is truncated or corrupt") from exc


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc).strip() else type(exc).__name__


def open_images(texts: list[object], where: list[str]) -> list[Image.Image]:
    """Every image's header, checked one by one and in sum before any is decoded."""
    images = [open_image(decode_base64(text, at), at) for text, at in zip(texts, where)]
    total = 0
    for image, at in zip(images, where):
        total += image.size[0] * image.size[1]
        if total > MAX_REQUEST_PIXELS:
            raise LimitExceeded(f"{at} takes the request past {MAX_REQUEST_PIXELS:,} decoded pixels in all; "
                                "send fewer or smaller images (the model only looks at 8x8)")
    return images


def to_grey(image: Image.Image) -> np.ndarray:
    """Any mode -> float32 0..1 luminance, transparency flattened, at most WORK_SIDE pixels a side."""
    from PIL import Image

    if image.mode.startswith(("I", "F")):  # 16/32-bit greys: Pillow's convert("L") would clip, not scale
        raw = np.asarray(image, dtype=np.float32)
        top = 65535.0 if image.mode.startswith("I;16") or raw.max(initial=0) > 255 else 255.0
        image = Image.fromarray(np.clip(raw / top * 255.0, 0, 255).astype(np.uint8))
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    image = image.convert("RGBA").convert("LA") if has_alpha else image.convert("L")
    image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    if not has_alpha:
        return pixels
    grey, alpha = pixels[..., 0], pixels[..., 1]
    if alpha.min() >= 1.0:
        return grey
    # A canvas drawing is ink on transparency: lay it on paper that contrasts with the ink.
    opaque = alpha > 0.5
    ink_level = float(grey[opaque].mean()) if opaque.any() else 0.0
    paper = 1.0 if ink_level < 0.5 else 0.0
    return grey * alpha + paper * (1.0 - alpha)


def to_digit(grey: np.ndarray, height: int = 8, width: int = 8, max_value: float = 16.0,
             where: str = "the image") -> np.ndarray:
    """0..1 luminance of one digit -> [height, width] float32 cells, ink high, 0..max_value."""
    from PIL import Image

    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    if background > 0.5:  # dark ink on light paper: flip so ink is high, like the training data
        grey, background = 1.0 - grey, 1.0 - background
    peak = float(grey.max())
    if peak - background < MIN_CONTRAST:
        raise InvalidRequest(f"{where} shows no digit: it is one flat colour; send a drawing or photo of a digit")
    ink = np.clip((grey - background) / (peak - background), 0.0, 1.0)
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]

    box_h, box_w = BLOCK * height, BLOCK * width
    scale = min(box_h / crop.shape[0], box_w / crop.shape[1])
    new_h = min(box_h, max(1, round(crop.shape[0] * scale)))
    new_w = min(box_w, max(1, round(crop.shape[1] * scale)))
    fitted = np.asarray(Image.fromarray(crop.astype(np.float32)).resize((new_w, new_h), Image.Resampling.BOX))
    canvas = np.zeros((box_h, box_w), dtype=np.float32)
    top, left = (box_h - new_h) // 2, (box_w - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = fitted
    cells = canvas.reshape(height, BLOCK, width, BLOCK).mean(axis=(1, 3))
    return (np.clip(cells, 0.0, 1.0) * max_value).astype(np.float32)


def image_to_digit(image: Image.Image, where: str, height: int = 8, width: int = 8,
                   max_value: float = 16.0) -> np.ndarray:
    """An opened PNG/JPEG (open_images) -> the model's [height, width] input."""
    return to_digit(to_grey(decode_image(image, where)), height, width, max_value, where)
