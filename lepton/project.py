"""The project folder every command works in: the nearest one upwards holding template.yaml."""
from __future__ import annotations

from pathlib import Path


def find_root(start: Path | None = None, *, required: bool = True) -> Path:
    """The project folder above ``start`` (default: here). When there is none, a clear exit, or
    ``start`` itself when not ``required`` (commands that also work outside a project)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "template.yaml").is_file():
            return folder
    if not required:
        return here
    raise SystemExit("no template.yaml here or above; run lepton from the project folder")
