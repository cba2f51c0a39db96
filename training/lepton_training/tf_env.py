"""Import TensorFlow quietly: its C++ and Python start-up chatter buries the training output."""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from types import ModuleType


def quiet_environment() -> None:
    """Set the logging environment variables; must run before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


@contextlib.contextmanager
def _silent_stderr() -> Iterator[None]:
    """Hide file-descriptor-level stderr: TensorFlow's native start-up lines (absl/oneDNN notices)
    ignore TF_CPP_MIN_LOG_LEVEL. Python exceptions still propagate normally."""
    if "tensorflow" in sys.modules or int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")) < 2:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. captured by a test runner)
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow() -> ModuleType:
    quiet_environment()
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"keras\..*")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"keras\..*")
    with _silent_stderr():
        import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl ships with TensorFlow; guard only for odd installs
        pass
    # tf2onnx logs every rewrite pass at INFO.
    for name in ("tf2onnx", "tensorflow"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return tf
