"""The drift check's own errors."""
from __future__ import annotations

from lepton_serving.errors import ModelIntegrityError


class ProfileError(ModelIntegrityError):
    """A reference profile that cannot be used: malformed, not the one its manifest pins, or not
    for this model's features."""
