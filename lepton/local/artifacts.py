"""The models the local stack serves: trained artifacts (training what is missing) and their
publication to the local model bucket, the way training publishes to the real one."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("lepton.local.stack")


def ensure_artifacts(models: list[str], root: Path, train_missing: bool) -> dict[str, Path]:
    """An artifact folder for each model: trained (in a subprocess) for a family Lepton trains
    when missing; for a model added with `lepton add`, the folder that command wrote."""
    found = {}
    for name in models:
        folder = root / name
        if not (folder / "manifest.json").is_file():
            if name not in trainable_families():
                log.warning("%s: nothing to publish, no %s and Lepton does not train it; `lepton add` keeps a "
                            "model there (`lepton remove %s`, then add it again), or `lepton push %s <folder>` "
                            "publishes one", name, folder / "manifest.json", name, name)
                continue
            if not train_missing:
                raise SystemExit(f"no trained '{name}' model in {folder}; run `lepton train {name}`")
            log.info("training %s (first start only; saved in %s)", name, folder)
            train_in_subprocess(name, root)
        elif name in trainable_families() and '"reference"' not in (folder / "manifest.json").read_text():
            log.warning("%s: trained before reference profiles existed, so its drift cannot be measured; "
                        "`lepton train %s` retrains it with one (until then `lepton drift %s` says so)",
                        name, name, name)
        found[name] = folder
    return found


def publish_models(artifacts: dict[str, Path], bucket: str, s3: Any) -> dict[str, int]:
    """Publish each artifact as its model's next version; returns model -> version."""
    from lepton_training.publish import publish

    return {name: publish(folder, bucket, s3_client=s3).version for name, folder in artifacts.items()}


def train_in_subprocess(family: str, artifacts: Path) -> None:
    """Train into artifacts/<family>/. TensorFlow stays out of the serving process (3 s of
    imports and its own thread pools)."""
    code = ("import sys; from pathlib import Path; from lepton_training import train_family; "
            "train_family(sys.argv[1], Path(sys.argv[2]))")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run([sys.executable, "-c", code, family, str(artifacts)], check=True, env=env)


def trainable_families() -> tuple[str, ...]:
    """The families lepton_training can train (none when it is not installed)."""
    try:
        from lepton_training import FAMILY_NAMES
    except ImportError:
        return ()
    return tuple(FAMILY_NAMES)
