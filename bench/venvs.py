"""The peers' own virtual environments: KServe and BentoML never enter .venv or a Lambda layer.

Each lives at the repo root as .venv-bench-<peer> (git-ignored by `.venv-*/`), is created with
the same Python as the running interpreter, and gets pinned versions from PyPI. A stamp file
records the pins so a changed pin rebuilds the environment and an unchanged one is reused.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The same onnxruntime/numpy/orjson as our layer, so only the server differs.
COMMON = ["onnxruntime==1.32.0", "numpy==2.4.6", "orjson==3.13.0"]
PINS: dict[str, list[str]] = {
    "kserve": ["kserve==0.21.0", *COMMON],
    "bentoml": ["bentoml==1.4.40", *COMMON],
}


def venv_path(peer: str) -> Path:
    return ROOT / f".venv-bench-{peer}"


def python_of(peer: str) -> Path:
    return venv_path(peer) / "bin" / "python"


def ready(peer: str) -> bool:
    stamp = venv_path(peer) / ".bench-pins"
    return python_of(peer).exists() and stamp.exists() and stamp.read_text() == "\n".join(PINS[peer])


def ensure(peer: str, log=print) -> Path:
    """Create or update the peer's venv; returns its python. Raises CalledProcessError on failure."""
    if ready(peer):
        return python_of(peer)
    path = venv_path(peer)
    log(f"creating {path.name} with {' '.join(PINS[peer])} (one-time, a few minutes)")
    if not python_of(peer).exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    pip = [str(python_of(peer)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *PINS[peer]], check=True)
    (path / ".bench-pins").write_text("\n".join(PINS[peer]))
    return python_of(peer)


if __name__ == "__main__":
    for name in sys.argv[1:] or list(PINS):
        print(ensure(name))
