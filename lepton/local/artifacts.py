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
    missing = [name for name in models if not (root / name / "manifest.json").is_file()]
    for name in [m for m in missing if m not in trainable_families()]:
        log.warning("%s: nothing to publish, no %s and Lepton does not train it; `lepton add` keeps a "
                    "model there (`lepton remove %s`, then add it again), or `lepton push %s <folder>` "
                    "publishes one", name, root / name / "manifest.json", name, name)
    to_train = [m for m in missing if m in trainable_families()]
    if to_train and not train_missing:
        raise SystemExit(f"no trained '{to_train[0]}' model in {root / to_train[0]}; run `lepton train {to_train[0]}`")
    for name in [m for m in models if m not in missing and m in trainable_families()]:
        if '"reference"' not in (root / name / "manifest.json").read_text():
            log.warning("%s: trained before reference profiles existed, so its drift cannot be measured; "
                        "`lepton train %s` retrains it with one (until then `lepton drift %s` says so)",
                        name, name, name)
    if to_train:
        log.info("training %s: first start only, a few minutes; saved in %s", ", ".join(to_train), root)
    for name in to_train:
        train(name)
    return {name: root / name for name in models if name not in missing or name in to_train}


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
