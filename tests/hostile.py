"""What an attacker sends, built here: damaged image containers, byte mutations of valid files,
and the metric counts a handler printed (its EMF lines), read back the way CloudWatch sums them."""
from __future__ import annotations

import io
import json
import struct
import zlib
from collections import Counter
from collections.abc import Callable
from functools import cache

from lepton_serving.manifest import Manifest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@cache
def png(side: int = 16, ink: bool = True) -> bytes:
    """A valid greyscale PNG: white paper with a black bar (a '1'), so it decodes to a digit."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (side, side), 255)
    if ink:
        ImageDraw.Draw(image).rectangle([side // 2 - 1, 2, side // 2 + 1, side - 3], fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@cache
def jpeg(side: int = 16) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(png(side))).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def gif() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (8, 8), 0).save(buffer, "GIF")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _ihdr_truncated() -> bytes:
    return PNG_SIGNATURE + struct.pack(">I", 13) + b"IHDR" + b"\0\0\0\x10"


def _text_truncated() -> bytes:
    header = png()[:8 + 25]  # signature + the whole IHDR chunk
    return header + struct.pack(">I", 40) + b"tEXt" + b"Comment\0abc"


def _ztxt_past_the_text_limit() -> bytes:
    # 2 MiB of text compressed to a few KiB: Pillow refuses to inflate past MAX_TEXT_CHUNK (1 MiB).
    valid = png()
    return valid[:8 + 25] + _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"a" * (2 * 1024 * 1024))) + valid[8 + 25:]


def _jpeg_app0_truncated() -> bytes:
    return jpeg()[:2] + b"\xff\xe0\x00\x10JF"


#: Containers Pillow fails on while opening (OSError, ValueError), before any pixel is decoded.
BROKEN_IMAGES: dict[str, Callable[[], bytes]] = {
    "png-ihdr-truncated": _ihdr_truncated,
    "png-text-truncated": _text_truncated,
    "png-ztxt-past-text-limit": _ztxt_past_the_text_limit,
    "jpeg-app0-truncated": _jpeg_app0_truncated,
}


def emf_counts(printed: str) -> Counter[str]:
    """Sum of every Count metric in the EMF lines a handler printed (the service's dimensions)."""
    totals: Counter[str] = Counter()
    for line in printed.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            if directive["Dimensions"] != [["service"]]:
                continue
            for metric in directive["Metrics"]:
                if metric.get("Unit") == "Count":
                    totals[metric["Name"]] += int(sum(document[metric["Name"]]))
    return totals


def family_version(family: str, version: int) -> tuple[Manifest, bytes]:
    """A valid version of ``family``'s model and its manifest (as training writes them)."""
    import family_models as fm
    from onnx_models import manifest_for, mlp_model

    if family == "tabular":
        data = mlp_model(0).SerializeToString()
        return manifest_for(data, "tabular", version), data
    build = {"digits": (fm.digits_manifest, fm.digits_model), "sentiment": (fm.sentiment_manifest, fm.sentiment_model),
             "recommender": (fm.recommender_manifest, fm.recommender_model),
             "generator": (fm.generator_manifest, fm.generator_model), "churn": (fm.churn_manifest, fm.churn_model)}
    manifest, model = build[family]
    return manifest(version=version), model()
