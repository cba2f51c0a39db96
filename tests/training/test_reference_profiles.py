"""Every family's quick run writes a reference profile of its training split, pinned by its manifest."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from lepton_drift.errors import ProfileError
from lepton_drift.reference import verify_reference
from lepton_serving.manifest import Manifest

from lepton_training.data import digits as digits_data
from lepton_training.data import tabular as tabular_data

# What each family's profile must describe, written out (not read from the code under test).
FEATURES = {
    "tabular": {"worst radius": "numeric", "worst smoothness": "numeric", "worst texture": "numeric",
                "prediction": "categorical"},
    "digits": {"ink": "numeric", "intensity": "numeric", "centroid_row": "numeric", "centroid_column": "numeric",
               "prediction": "categorical"},
    "sentiment": {"words": "numeric", "oov_rate": "numeric", "prediction": "categorical"},
    "recommender": {"user": "categorical", "recommended_popularity": "numeric"},
    "generator": {"digit": "categorical", "latent_norm": "numeric"},
}


def pinned(artifact: Path) -> tuple[Manifest, bytes]:
    manifest = Manifest.from_json((artifact / "manifest.json").read_text())
    return manifest, (artifact / "reference.json").read_bytes()


@pytest.mark.parametrize("family", list(FEATURES))
def test_the_manifest_pins_a_profile_of_the_familys_features(family: str, quick_artifacts) -> None:
    manifest, data = pinned(quick_artifacts(family))
    # THEN the pin is the file's, and the profile reads back with exactly the family's features
    profile, _ = verify_reference(data, manifest)
    assert manifest.reference is not None and manifest.reference.size == len(data)
    assert {f.name: f.kind for f in profile.features} == FEATURES[family]
    assert profile.source == "training" and profile.model == family
    assert all(f.count == profile.rows or f.name in ("centroid_row", "centroid_column") for f in profile.features)


@pytest.mark.parametrize("family", list(FEATURES))
def test_a_changed_profile_is_refused(family: str, artifact_copy) -> None:
    folder = artifact_copy(family)
    manifest, data = pinned(folder)
    with pytest.raises(ProfileError, match="sha256"):
        verify_reference(data.replace(b'"rows":', b'"rows": '), manifest)


def test_the_tabular_profile_is_the_training_splits_own_columns(quick_artifacts) -> None:
    manifest, data = pinned(quick_artifacts("tabular"))
    profile, _ = verify_reference(data, manifest)
    # GIVEN the quick run's training rows (its subset of the split, by the same seed)
    split = tabular_data.load(seed=42, test_size=0.2).subset(96, 48, seed=42)
    for index, name in enumerate(tabular_data.FEATURES):
        feature = profile.feature(name)
        column = split.x_train[:, index].astype(np.float64)
        # THEN each column's summary is the training column's, and its quantile bins split it evenly
        assert feature.summary["mean"] == pytest.approx(column.mean(), rel=1e-6)
        assert feature.summary["max"] == pytest.approx(column.max(), rel=1e-6)
        assert sum(feature.counts) == len(column)
        assert max(feature.counts) - min(feature.counts) <= 0.1 * len(column)


def test_the_digits_profile_reads_ink_high_images(quick_artifacts) -> None:
    manifest, data = pinned(quick_artifacts("digits"))
    profile, _ = verify_reference(data, manifest)
    images = digits_data.load(seed=42, test_size=0.2).subset(200, 80, seed=42).x_train / 16.0
    # THEN the mean intensity is the training images' own, and the predictions cover the classes
    assert profile.feature("intensity").summary["mean"] == pytest.approx(images.mean(), rel=1e-5)
    assert profile.feature("prediction").categories == [str(d) for d in range(10)]


def test_the_recommender_profile_knows_the_training_users_and_item_counts(quick_artifacts) -> None:
    manifest, data = pinned(quick_artifacts("recommender"))
    profile, _ = verify_reference(data, manifest)
    # THEN every training user is known, and the item counts add up to the training interactions
    assert profile.feature("user").counts == [profile.rows, 0]
    assert len(profile.context["known_users"]) == profile.rows
    assert len(profile.context["item_counts"]) == manifest.preprocessing["num_items"]
