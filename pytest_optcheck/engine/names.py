"""What a suite names for Keras, checked before anything trains: loss, metrics, the optimizer.

Keras reports an unknown name from deep inside `compile` or the first training
step, hundreds of lines down a traceback. Asked here first, the answer is one line
naming the suite file, the key, the value and the nearest names Keras knows.
"""

from __future__ import annotations

import difflib
import inspect

from pytest_optcheck.engine.runtime import keras_runtime
from pytest_optcheck.errors import SuiteSetupError
from pytest_optcheck.spec.suite import Suite

ALIASES = ("mse", "mae", "mape", "msle", "accuracy", "acc", "crossentropy", "ce")


def _known(module) -> list[str]:
    return sorted({n for n, v in vars(module).items() if not n.startswith("_") and inspect.isfunction(v)
                   and n not in ("get", "serialize", "deserialize")} | set(ALIASES))


def _nearest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else f"; Keras knows: {', '.join(known)}"


def check_loss_and_metrics(suite: Suite) -> None:
    """Every name in `[training]` loss and metrics resolves in this Keras, or one clear error."""
    keras_runtime()
    import keras

    loss = suite.training.loss
    try:
        keras.losses.get(loss)
    except (ValueError, TypeError):
        raise SuiteSetupError(f"{suite.path}: training.loss: {loss!r} is not a Keras loss"
                            f"{_nearest(loss, _known(keras.losses))}") from None
    for metric in suite.training.metrics:
        try:
            keras.metrics.get(metric)
        except (ValueError, TypeError):
            raise SuiteSetupError(f"{suite.path}: training.metrics: {metric!r} is not a Keras metric"
                                f"{_nearest(metric, _known(keras.metrics))}") from None


def check_before_training(suite: Suite, optimizer: str) -> None:
    """Everything an optimizer's run needs from the suite, resolved once, before it trains.

    An unknown class or a refused argument fails only that optimizer's items; an unknown
    loss or metric fails the suite's (SuiteSetupError).
    """
    from pytest_optcheck.engine.optimizers import check_optimizer

    check_loss_and_metrics(suite)
    check_optimizer(suite, optimizer)
