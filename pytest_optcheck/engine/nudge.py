"""The benign perturbation behind the noise model: every initial weight moved by one ulp.

A different CPU, BLAS or TensorFlow build changes the rounding of a few
operations; the effect on training is the same as moving a few weights by one
unit in the last place, and chaos does the rest within an epoch or two. So the
harness measures how far an optimizer's curves drift when each nonzero initial
weight is moved one ulp up or down (a random sign per weight, drawn from the
nudge's own seed), everything else unchanged. Zeros (the biases) stay zero:
moving them would create subnormal numbers, which is not a rounding change.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def nudge_weights(model: Any, nudge_seed: int) -> None:
    """Move every nonzero weight of `model` one ulp up or down, deterministically for `nudge_seed`."""
    import keras

    rng = np.random.default_rng(nudge_seed)
    for variable in model.weights:
        # convert_to_numpy: the same values on every backend, without the NumPy 2 copy warning
        # JAX arrays raise through variable.numpy().
        values = np.array(keras.ops.convert_to_numpy(variable.value))
        up = rng.integers(0, 2, size=values.shape).astype(bool)
        target = np.where(up, np.inf, -np.inf).astype(values.dtype)
        moved = np.where(values != 0, np.nextafter(values, target), values)
        variable.assign(moved)
