"""Import TensorFlow quietly: its C++ and Python start-up chatter buries the training output."""
from __future__ import annotations

import logging
import os
import warnings
from types import ModuleType


def quiet_environment() -> None:
    """Set the logging environment variables; must run before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


def import_tensorflow() -> ModuleType:
    quiet_environment()
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"keras\..*")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"keras\..*")
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
