"""``python -m lepton_training train <family>|all ...``"""
from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
