"""Adversarial training of a conditional GAN, and the moving average of its generator that ships.

Each batch takes one discriminator step and one generator step (Adam, non-saturating logistic
loss). The discriminator also classifies real images (an auxiliary classifier, as in AC-GAN),
and the generator is rewarded when its images are classified as the label it was given: that
keeps the requested digit from drifting while the adversarial loss adds variety.

The exported generator is an exponential moving average of the generator's weights, updated
after every step. A GAN's weights keep circling around an equilibrium; their average draws
steadier digits than any single step's weights.

Everything random (initial weights, shuffling, latent vectors, fake labels) comes from the
seed, and TensorFlow's ops run deterministically: a seed gives the same model every time.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from . import progress
from .tf_env import import_tensorflow

log = logging.getLogger("lepton_training")

#: (generator, discriminator): generator([z, label]) -> images; discriminator([images, label])
#: -> (real/fake logit [N, 1], class logits [N, classes]).
Build = Callable[[], tuple[Any, Any]]
#: Called after each epoch with the averaged generator; returns curves to record (e.g. val_*).
EpochHook = Callable[[Any], dict[str, float]]

LOG_EVERY = 10  # epochs between progress lines of a verbose fit


def fit_gan(build: Build, x: np.ndarray, y: np.ndarray, hp: dict[str, Any], on_epoch: EpochHook | None = None,
            verbose: int = 0) -> tuple[Any, dict[str, list[float]]]:
    """Train on images ``x`` with labels ``y``; return (averaged generator, history)."""
    tf = import_tensorflow()
    import keras

    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(int(hp["seed"]))
    tf.config.experimental.enable_op_determinism()
    generator, discriminator = build()
    average, _ = build()
    average.set_weights(generator.get_weights())
    optimizer = {name: keras.optimizers.Adam(float(hp["learning_rate"]), beta_1=float(hp["beta_1"]))
                 for name in ("generator", "discriminator")}
    step = _train_step(tf, generator, discriminator, average, optimizer, float(hp["aux_weight"]), float(hp["ema"]))

    rng = np.random.default_rng(int(hp["seed"]))
    batch, latent, classes = int(hp["batch_size"]), int(hp["latent_dim"]), int(hp["num_classes"])
    batch = min(batch, len(y))
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)
    history: dict[str, list[float]] = {"loss": [], "discriminator_loss": []}
    epochs = int(hp["epochs"])
    for epoch in range(epochs):
        order = rng.permutation(len(y))
        losses = []
        for start in range(0, len(y) - batch + 1, batch):  # full batches only: one traced graph
            rows = order[start:start + batch]
            z = rng.standard_normal((batch, latent), dtype=np.float32)
            fake_labels = rng.integers(0, classes, size=batch, dtype=np.int64)
            losses.append([float(v) for v in step(x[rows], y[rows], z, fake_labels)])
        d_loss, g_loss = np.mean(losses, axis=0)
        history["discriminator_loss"].append(float(d_loss))
        history["loss"].append(float(g_loss))
        for key, value in (on_epoch(average) if on_epoch else {}).items():
            history.setdefault(key, []).append(float(value))
        progress.current().epoch()
        if verbose and ((epoch + 1) % LOG_EVERY == 0 or epoch + 1 == epochs):
            extra = " ".join(f"- {k} {v[-1]:.4f}" for k, v in history.items() if k.startswith("val_"))
            print(f"epoch {epoch + 1}/{epochs} - generator loss {g_loss:.4f} - discriminator loss {d_loss:.4f} {extra}".rstrip(),
                  flush=True)
    return average, history


def _train_step(tf: Any, generator: Any, discriminator: Any, average: Any, optimizer: dict[str, Any],
                aux_weight: float, decay: float) -> Any:
    bce = lambda target, logits: tf.reduce_mean(  # noqa: E731
        tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits))
    ce = lambda labels, logits: tf.reduce_mean(  # noqa: E731
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    steps = tf.Variable(0, dtype=tf.int64, trainable=False)

    @tf.function(reduce_retracing=True)
    def step(real: Any, labels: Any, z: Any, fake_labels: Any) -> tuple[Any, Any]:
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator([z, fake_labels], training=True)
            real_logit, real_class = discriminator([real, labels], training=True)
            fake_logit, fake_class = discriminator([fake, fake_labels], training=True)
            d_loss = (bce(tf.ones_like(real_logit), real_logit) + bce(tf.zeros_like(fake_logit), fake_logit)
                      + aux_weight * ce(labels, real_class))
            g_loss = bce(tf.ones_like(fake_logit), fake_logit) + aux_weight * ce(fake_labels, fake_class)
        for name, tape, loss, model in (("discriminator", d_tape, d_loss, discriminator),
                                        ("generator", g_tape, g_loss, generator)):
            optimizer[name].apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        # Warm-up as in tf.train.ExponentialMovingAverage(num_updates=...): early steps average
        # over fewer updates, so a short (quick) run does not ship its random initial weights.
        steps.assign_add(1)
        rate = tf.minimum(decay, tf.cast(1 + steps, tf.float32) / tf.cast(10 + steps, tf.float32))
        for kept, current in zip(average.weights, generator.weights):
            kept.assign(rate * kept + (1.0 - rate) * current)
        return d_loss, g_loss

    return step
