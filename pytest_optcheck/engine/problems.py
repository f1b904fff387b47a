"""Built-in synthetic problems, generated in memory from a seed: nothing to download.

**The noisy quadratic** (in the spirit of DeepOBS's `quadratic_deep`): minimise
f(theta) = 1/2 (theta - x)^T Q (theta - x) over theta in R^d, where each example
x is a draw of N(0, I) noise and Q = R^T diag(lambda) R has most eigenvalues
small (90% in [0, 1]) and a few large (10% in [30, 60]), R a random rotation. The
data source `noisy_quadratic` gives the noise draws as inputs (targets are
zeros); the model `pytest_optcheck.problems:noisy_quadratic_model` holds theta
(starting at 1, as DeepOBS does) and outputs (theta - x) Q^(1/2), so Keras's
`mse` loss is 2 f / d per example.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def curvature_root(dimension: int, problem_seed: int) -> np.ndarray:
    """Q^(1/2) for the problem: the same matrix for the same dimension and seed, on every machine."""
    rng = np.random.default_rng(problem_seed)
    large = max(1, dimension // 10)
    eigenvalues = np.concatenate([rng.uniform(0.0, 1.0, dimension - large), rng.uniform(30.0, 60.0, large)])
    rotation, _ = np.linalg.qr(rng.standard_normal((dimension, dimension)))
    return (rotation.T * np.sqrt(eigenvalues)) @ rotation


def noisy_quadratic_data(dimension: int = 100, train: int = 1000, test: int = 1000,
                         noise_seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Noise draws x ~ N(0, I) as float32 inputs, zero targets: ((x_train, y_train), (x_test, y_test))."""
    rng = np.random.default_rng(noise_seed)
    x_train = rng.standard_normal((train, dimension)).astype(np.float32)
    x_test = rng.standard_normal((test, dimension)).astype(np.float32)
    return (x_train, np.zeros_like(x_train)), (x_test, np.zeros_like(x_test))


def noisy_quadratic_model(dimension: int = 100, problem_seed: int = 0) -> Any:
    """theta (trainable, starting at 1) and the fixed Q^(1/2): an uncompiled Keras model."""
    import keras

    root = curvature_root(dimension, problem_seed).astype(np.float32)

    class Quadratic(keras.layers.Layer):
        def build(self, input_shape):
            self.theta = self.add_weight(shape=(dimension,), initializer="ones", name="theta")
            self.root = self.add_weight(shape=(dimension, dimension), trainable=False, name="curvature_root",
                                        initializer=keras.initializers.Constant(root))

        def call(self, x):
            return keras.ops.matmul(self.theta - x, self.root)

    inputs = keras.Input(shape=(dimension,))
    return keras.Model(inputs, Quadratic()(inputs), name="noisy_quadratic")
