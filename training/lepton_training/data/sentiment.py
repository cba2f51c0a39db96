"""Sentiment Labelled Sentences (UCI, CC BY 4.0): the copy in training/data/sentiment/."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .splits import dedupe, stratified_split
from .types import ClassificationData

LABELS = ["negative", "positive"]
FILES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt", "yelp": "yelp_labelled.txt"}
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "data" / "sentiment"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """An explicit directory, else $LEPTON_SENTIMENT_DATA, else the in-repo copy."""
    candidate = override or os.environ.get("LEPTON_SENTIMENT_DATA") or DEFAULT_DIR
    path = Path(candidate)
    missing = [f for f in FILES.values() if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"sentiment data directory {path} lacks {', '.join(missing)}")
    return path


def read_file(path: Path) -> list[tuple[str, int]]:
    """Lines are 'sentence<TAB>label'; split on the LAST tab and on '\\n' only (U+0085 occurs)."""
    rows: list[tuple[str, int]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        sentence, _, label = line.rpartition("\t")
        if label.strip() not in {"0", "1"}:
            raise ValueError(f"{path.name}:{number}: label must be 0 or 1, got {label!r}")
        rows.append((sentence.strip(), int(label)))
    return rows


def _normalise(sentence: str) -> str:
    return re.sub(r"\s+", " ", sentence.lower()).strip()


def load(seed: int = 42, test_size: float = 0.2, directory: str | os.PathLike[str] | None = None) -> ClassificationData:
    root = data_dir(directory)
    sentences: list[str] = []
    labels: list[int] = []
    sources: list[str] = []
    for source, name in sorted(FILES.items()):
        for sentence, label in read_file(root / name):
            sentences.append(sentence)
            labels.append(label)
            sources.append(source)
    y = np.array(labels, dtype=np.int64)
    nonempty = [i for i, s in enumerate(sentences) if _normalise(s)]
    keep, stats = dedupe([_normalise(sentences[i]) for i in nonempty], y[nonempty])
    index = np.array(nonempty, dtype=np.int64)[keep]
    x = np.array([sentences[i] for i in index], dtype=object)
    y = y[index]
    strata = np.array([f"{sources[i]}-{labels[i]}" for i in index])
    train, test = stratified_split(len(y), strata, test_size, seed)
    info = {
        "source": "UCI Sentiment Labelled Sentences (Kotzias et al., KDD 2015), CC BY 4.0",
        "files": sorted(FILES.values()),
        "rows": int(len(y)),
        "empty_dropped": len(sentences) - len(nonempty),
        **stats,
    }
    return ClassificationData(x[train], y[train], x[test], y[test], list(LABELS), info)
