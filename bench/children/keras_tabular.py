"""Build the TensorFlow baseline's Keras model: the seed architecture, 3 -> Dense(5, relu) -> Dense(2, softmax).

Training does not save a Keras model, so the baseline gets one of the same architecture, fitted
for a few steps on synthetic data (weights do not change the timings this baseline measures).
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(3,), name="features")
hidden = keras.layers.Dense(5, activation="relu")(inputs)
outputs = keras.layers.Dense(2, activation="softmax", name="probabilities")(hidden)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
x = np.random.default_rng(0).normal(size=(256, 3)).astype("float32")
model.fit(x, (x.sum(axis=1) > 0).astype("int64"), epochs=2, verbose=0)
model.save(sys.argv[1])
