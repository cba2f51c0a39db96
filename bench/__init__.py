"""Lepton's benchmark suite: cold start, serving overhead, HTTP throughput, package size, redeploy.

One command runs everything on this machine and writes docs/benchmarks.md:

    lepton bench            # or: make bench, python -m bench
    lepton bench --quick    # every section with tiny counts (a smoke test)
"""
import sys as _sys
from pathlib import Path as _Path

_ROOT = _Path(__file__).resolve().parent.parent
# The same import roots as pytest's pythonpath: the serving layer (Lambda's /opt/python), the
# training package and the repo root, ahead of any stale editable-install mapping.
for _folder in (_ROOT / "training", _ROOT / "layers" / "serving", _ROOT):
    if str(_folder) not in _sys.path:
        _sys.path.insert(0, str(_folder))
