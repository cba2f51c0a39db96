"""A version's pinned reference profile, read and checked: the deployer's gate, the drift function
and `lepton drift` all read it through here, so all three refuse the same profiles.

The manifest pins ``reference.json`` by sha256 and size (lepton_serving.manifest.ReferenceFile).
A profile is accepted when its bytes are the pinned ones, it parses, it is for this model, and its
features are exactly the ones this model's extractor reads (features.extractor_for): a profile
made for another model, or by an older extractor, is refused rather than compared wrongly.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from lepton_serving.errors import LimitExceeded
from lepton_serving.manifest import REFERENCE_FILE, Manifest

from .errors import ProfileError
from .features import Extractor, extractor_for
from .profile import ReferenceProfile, sha256_of

if TYPE_CHECKING:
    from lepton_serving.bucket import ModelBucket


def verify_reference(data: bytes, manifest: Manifest, where: str = REFERENCE_FILE) -> tuple[ReferenceProfile, Extractor]:
    """The profile ``manifest`` pins, from its bytes, and the extractor that reads its features;
    ProfileError for anything else."""
    pinned = manifest.reference
    if pinned is None:
        raise ProfileError(f"{manifest.name} v{manifest.version} pins no reference profile")
    digest = sha256_of(data)
    if digest != pinned.sha256 or len(data) != pinned.size:
        raise ProfileError(f"{where}: sha256 {digest[:12]}… ({len(data):,} bytes), the manifest pins "
                           f"{pinned.sha256[:12]}… ({pinned.size:,} bytes)")
    profile = ReferenceProfile.from_bytes(data, where)
    return profile, check_profile(profile, manifest, where)


def check_profile(profile: ReferenceProfile, manifest: Manifest, where: str = REFERENCE_FILE) -> Extractor:
    """The extractor of ``manifest``'s model, if ``profile`` describes exactly its features."""
    if profile.model != manifest.name:
        raise ProfileError(f"{where} is the profile of '{profile.model}', not of '{manifest.name}'")
    extractor = extractor_for(manifest, profile.context)
    expected = {(f.name, f.kind, f.role) for f in extractor.features}
    found = {(f.name, f.kind, f.role) for f in profile.features}
    if expected != found:
        missing = sorted(name for name, _, _ in expected - found)
        extra = sorted(name for name, _, _ in found - expected)
        raise ProfileError(f"{where} does not describe this model's features"
                           + (f"; missing {', '.join(missing)}" if missing else "")
                           + (f"; unknown {', '.join(extra)}" if extra else ""))
    return extractor


def read_reference(bucket: ModelBucket, manifest: Manifest) -> tuple[ReferenceProfile, Extractor] | None:
    """The version's pinned profile from the model bucket (None when it pins none)."""
    key = manifest.reference_key
    if key is None or manifest.reference is None:
        return None
    try:
        data = bucket.read(key, max_bytes=manifest.reference.size)
    except LimitExceeded as exc:
        raise ProfileError(f"{exc.message}: not the profile the manifest pins") from exc
    return verify_reference(data, manifest, bucket.uri(key))
