"""An added model's default memory: measured, not a flat number.

A fresh Python process (as a cold start is) imports what a model function imports, reads the
model's bytes, opens an onnxruntime session and runs the golden example once; its peak resident
memory is the footprint. The function gets that, plus what the Lambda runtime and the serving
layer add, with headroom for batches larger than the golden one, rounded up to 64 MB, and never
less than `FLOOR_MB`: below it a cold start's share of a vCPU (one per 1,769 MB) stretches the
init phase (docs/scale.md measured 2.4 s at 128 MB against 0.3 s at 1,024 MB for generator).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FLOOR_MB = 512
#: What the runtime's bootstrap and the serving layer (Powertools, orjson, the library) add to a
#: bare interpreter with onnxruntime, which the probe does not import.
RUNTIME_MB = 48
HEADROOM = 1.5
STEP_MB = 64
MAX_MB = 10240

_PROBE = """
import json, resource, sys
import numpy as np
{imports}
def peak():
    # VmHWM: this process's own high-water mark (ru_maxrss would carry the parent's over exec)
    try:
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) / 1024.0
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
from lepton_serving.session import create_session
before = peak()
data = open(sys.argv[1], "rb").read()
session = create_session(data, threads=1, where="probe")
feed = dict(np.load(sys.argv[2], allow_pickle=True))
session.run(None, feed)
print(json.dumps({{"before": before, "peak": peak()}}))
"""


@dataclass(frozen=True)
class Footprint:
    """Peak resident memory of a fresh process before and after loading and running the model (MB)."""

    before_mb: float
    peak_mb: float
    model_bytes: int

    @property
    def session_mb(self) -> float:
        return max(0.0, self.peak_mb - self.before_mb)

    @property
    def memory_mb(self) -> int:
        needed = (self.peak_mb + RUNTIME_MB) * HEADROOM
        return int(min(MAX_MB, max(FLOOR_MB, STEP_MB * math.ceil(needed / STEP_MB))))

    def describe(self) -> str:
        return (f"{self.memory_mb} MB (default: model {self.model_bytes / 1e6:.1f} MB, measured session footprint "
                f"{self.session_mb:.0f} MB, process peak {self.peak_mb:.0f} MB; +{RUNTIME_MB} MB runtime, "
                f"x{HEADROOM} headroom, at least {FLOOR_MB} MB; --memory overrides)")


def measure(model: bytes, inputs: dict[str, np.ndarray], tokenizer: bool = False) -> Footprint | None:
    """The footprint, measured in a child process; None if the probe could not run."""
    imports = "import tokenizers" if tokenizer else ""
    with tempfile.TemporaryDirectory(prefix="lepton-footprint-") as folder:
        model_path, feed_path = Path(folder) / "model.onnx", Path(folder) / "feed.npz"
        model_path.write_bytes(model)
        np.savez(feed_path, **inputs)
        try:
            result = subprocess.run([sys.executable, "-c", _PROBE.format(imports=imports), str(model_path),
                                     str(feed_path)], capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired):
            return None
    if result.returncode != 0:
        return None
    try:
        found = json.loads(result.stdout.strip().splitlines()[-1])
        return Footprint(float(found["before"]), float(found["peak"]), len(model))
    except (ValueError, KeyError, IndexError):
        return None
