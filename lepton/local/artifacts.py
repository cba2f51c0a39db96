"""The models the local stack serves: trained artifacts (training what is missing) and their
publication to the local model bucket, the way training publishes to the real one."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .stack_settings import StackSettings

log = logging.getLogger("lepton.local.stack")


def ensure_artifacts(models: list[str], root: Path, train_missing: bool,
                     train: Callable[[str], None]) -> dict[str, Path]:
    """An artifact folder for each model: trained (``train``, a `FamilyTrainer`'s) for a family
    Lepton trains when missing; for a model added with `lepton add`, the folder that command wrote."""
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
            train(name)
        found[name] = folder
    return found


def publish_models(artifacts: dict[str, Path], bucket: str, s3: Any) -> dict[str, int]:
    """Publish each artifact as its model's next version; returns model -> version."""
    from lepton_training.publish import publish

    return {name: publish(folder, bucket, s3_client=s3).version for name, folder in artifacts.items()}


def trainable_families() -> tuple[str, ...]:
    """The families lepton_training can train (none when it is not installed)."""
    try:
        from lepton_training import FAMILY_NAMES
    except ImportError:
        return ()
    return tuple(FAMILY_NAMES)


def publish_trained(models: list[str], settings: StackSettings, s3: Any) -> dict[str, int]:
    """Trained models for these model functions (training what is missing, one bar per family),
    published as each model's next version; returns model -> version."""
    from .training_display import FamilyTrainer

    trainer = FamilyTrainer(settings.artifacts, settings.state / "logs" / "training.log", verbose=settings.verbose)
    try:
        found = ensure_artifacts(models, settings.artifacts, settings.train_missing, trainer.train)
    finally:
        trainer.close()
    return publish_models(found, settings.bucket, s3)
