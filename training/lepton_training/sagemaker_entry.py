"""SageMaker training entry point: ``python -m lepton_training.sagemaker_entry``.

Reads the family and hyperparameters from /opt/ml/input/config/hyperparameters.json (string
values, coerced), uses an optional data channel (SM_CHANNEL_TRAINING or SM_CHANNEL_DATA: the
sentiment files), trains on every host listed in SM_HOSTS (multi-worker when more than one),
and the chief writes model.onnx, manifest.json, metrics.json, report.md and plots to
SM_MODEL_DIR, which SageMaker uploads as model.tar.gz.
"""
from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path

from . import FAMILY_NAMES
from .hyperparams import coerce, load_sagemaker

DATA_CHANNELS = ("SM_CHANNEL_TRAINING", "SM_CHANNEL_DATA")


def failure_file() -> Path:
    return Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output")) / "failure"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout)
    try:
        hyperparameters = load_sagemaker()
        family = str(hyperparameters.pop("family", "") or os.environ.get("LEPTON_FAMILY", ""))
        if family not in FAMILY_NAMES:
            raise ValueError(f"hyperparameter 'family' must be one of {', '.join(FAMILY_NAMES)}, got {family!r}")
        quick = coerce("quick", hyperparameters.pop("quick", False), False)
        for channel in DATA_CHANNELS:
            if os.environ.get(channel) and family == "sentiment" and not hyperparameters.get("data_dir"):
                hyperparameters["data_dir"] = os.environ[channel]
                break
        model_dir = Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))

        from .pipeline import run

        run(family, model_dir, quick=quick, layers=(hyperparameters,))
        return 0
    except Exception as exc:  # SageMaker shows the failure file as the job's FailureReason
        message = f"{type(exc).__name__}: {exc}"
        try:
            failure_file().parent.mkdir(parents=True, exist_ok=True)
            failure_file().write_text(message + "\n\n" + traceback.format_exc(), encoding="utf-8")
        except OSError:
            pass
        print(message, file=sys.stderr)
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
