"""The events/ folder, read exactly as `sam local invoke -e` and `lepton invoke -e` read it."""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def load_event(relative: str) -> dict:
    return json.loads((EVENTS / relative).read_text())
