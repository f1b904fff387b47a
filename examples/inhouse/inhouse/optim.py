"""SignMomentum: momentum on the gradients, then a step of fixed size along their sign."""

import keras

from .steps import sign_step


class SignMomentum(keras.optimizers.Optimizer):
    """m <- beta m + (1 - beta) g;  w <- w - lr sign(m).

    Other keyword arguments (clipnorm, weight_decay, ...) go to keras.optimizers.Optimizer.
    """

    def __init__(self, learning_rate=0.001, beta=0.9, name="sign_momentum", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta = beta

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = [self.add_variable_from_reference(v, "momentum") for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        momentum = self.momentums[self._get_variable_index(variable)]
        lr = keras.ops.cast(learning_rate, variable.dtype)
        gradient = keras.ops.cast(gradient, variable.dtype)
        self.assign(momentum, self.beta * momentum + (1.0 - self.beta) * gradient)
        self.assign_sub(variable, sign_step(momentum, lr))

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}
