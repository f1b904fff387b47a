"""Update rules shared by the package's optimizers."""

import keras


def sign_step(momentum, learning_rate):
    """The step of a sign method: a fixed size per coordinate, in the direction of the momentum."""
    return learning_rate * keras.ops.sign(momentum)
