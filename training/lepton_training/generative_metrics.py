"""Metrics for generated images, and the two trivial generators every figure is compared with.

A GAN has no accuracy of its own, so a trained classifier (the judge, see judge.py) and the
real held-out images stand in:

* conditional accuracy: the share of generated images the judge reads as the class asked for;
* diversity: the mean pairwise Euclidean distance between images of the same class (averaged
  over the classes), generated over real held-out: 1 is as varied as real digits, 0 is one
  image repeated;
* Fréchet distance: between Gaussians fitted to the judge's penultimate-layer features of the
  real held-out images and of the generated ones (the FID recipe, in the judge's feature space
  instead of Inception's). Lower is better; 0 means the same mean and covariance.

The trivial generators, given the requested labels:

* ``class_mean_and_noise``: the class's mean training image plus Gaussian noise with the
  class's per-pixel standard deviation, clipped to the pixel range. It is right on average
  and has the data's per-pixel spread, but no strokes: independent noise on a blurred digit.
* ``real_training_images``: random real training images of the class, the ceiling a perfect
  generator would reach (not exactly 1 or 0: a finite sample of other images).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.spatial.distance import pdist

#: images [N, H, W] -> (predicted class [N], features [N, F]); see judge.Judge.
JudgeFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

MAX_VALUE = 16.0


def conditional_accuracy(predicted: np.ndarray, requested: np.ndarray) -> float:
    return float(np.mean(np.asarray(predicted) == np.asarray(requested))) if len(requested) else 0.0


def mean_pairwise_distance(images: np.ndarray, labels: np.ndarray) -> float:
    """Mean over classes (with at least two images) of the mean Euclidean distance between pairs
    of that class's images."""
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    per_class = [pdist(flat[labels == c]).mean() for c in np.unique(labels) if np.sum(labels == c) >= 2]
    if not per_class:
        raise ValueError("diversity needs at least two images of one class")
    return float(np.mean(per_class))


def diversity(generated: np.ndarray, labels: np.ndarray, real: np.ndarray, real_labels: np.ndarray) -> float:
    """Same-class spread of the generated images as a fraction of the real images' spread."""
    return mean_pairwise_distance(generated, labels) / mean_pairwise_distance(real, real_labels)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) between Gaussians fitted to rows of a, b.

    Tr((S_a S_b)^1/2) is computed as the sum of the square roots of the eigenvalues of the
    symmetric S_a^1/2 S_b S_a^1/2 (same eigenvalues), which stays real where scipy's sqrtm of
    the non-symmetric product can return complex noise.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("the Fréchet distance needs at least two samples on each side")
    mean = a.mean(axis=0) - b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    middle = root_a @ cov_b @ root_a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)).sum()
    return float(max(0.0, mean @ mean + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross))


def generation_metrics(judge: JudgeFn, generated: np.ndarray, labels: np.ndarray,
                       real: np.ndarray, real_labels: np.ndarray) -> dict[str, float]:
    """The three figures for images generated for ``labels``, against real held-out images."""
    predicted, features = judge(generated)
    _, real_features = judge(real)
    return {
        "conditional_accuracy": conditional_accuracy(predicted, labels),
        "diversity": diversity(generated, labels, real, real_labels),
        "frechet_distance": frechet_distance(features, real_features),
    }


def class_mean_and_noise(x: np.ndarray, y: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each requested label: the class's mean training image plus per-pixel Gaussian noise
    with the class's per-pixel standard deviation, clipped to 0..MAX_VALUE."""
    classes = np.unique(labels)
    mean = {int(c): x[y == c].mean(axis=0) for c in classes}
    std = {int(c): x[y == c].std(axis=0) for c in classes}
    images = np.stack([mean[int(c)] + rng.standard_normal(mean[int(c)].shape) * std[int(c)] for c in labels])
    return np.clip(images, 0.0, MAX_VALUE).astype(np.float32)


def real_training_images(x: np.ndarray, y: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each requested label, a random training image of that class (without replacement while
    the class has enough images)."""
    images = np.empty((len(labels), *x.shape[1:]), dtype=np.float32)
    for c in np.unique(labels):
        wanted = np.flatnonzero(labels == c)
        pool = np.flatnonzero(y == c)
        images[wanted] = x[rng.choice(pool, size=len(wanted), replace=len(wanted) > len(pool))]
    return images


def reference_metrics(judge: JudgeFn, seen_x: np.ndarray, seen_y: np.ndarray, labels: np.ndarray,
                      real: np.ndarray, real_labels: np.ndarray, seed: int) -> dict[str, float]:
    """Both trivial generators, asked for the same labels and scored like the model:
    ``baseline_*`` is the class mean plus noise, ``real_*`` real training images."""
    rng = np.random.default_rng(seed)
    result: dict[str, float] = {}
    for prefix, generate in (("baseline_", class_mean_and_noise), ("real_", real_training_images)):
        images = generate(seen_x, seen_y, labels, rng)
        result.update({prefix + k: v for k, v in generation_metrics(judge, images, labels, real, real_labels).items()})
    return result
