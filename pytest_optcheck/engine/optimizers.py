"""Optimizers a suite names: resolving the class (Keras's or the project's) and constructing it."""

from __future__ import annotations

import difflib
import inspect
from pathlib import Path
from typing import Any

from pytest_optcheck.engine.runtime import keras_runtime
from pytest_optcheck.errors import OptcheckError, with_user_frames
from pytest_optcheck.imports import load_attribute
from pytest_optcheck.spec.suite import OptimizerSpec, Suite


def resolve_optimizer_class(spec: OptimizerSpec, suite_path: Path) -> type:
    """The class an optimizer names: `keras.optimizers.<class>` or `package.module:Class`."""
    where = f"{suite_path}: optimizers.{spec.name}.class"
    if spec.is_custom:
        return load_attribute(spec.class_path, where)
    keras_runtime()
    import keras

    cls = getattr(keras.optimizers, spec.class_path, None)
    if not (inspect.isclass(cls) and issubclass(cls, keras.optimizers.Optimizer)):
        known = sorted(n for n, v in vars(keras.optimizers).items()
                       if inspect.isclass(v) and issubclass(v, keras.optimizers.Optimizer) and n != "Optimizer")
        close = difflib.get_close_matches(spec.class_path, known, n=2, cutoff=0.6)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise OptcheckError(
            f"{where}: unknown optimizer class {spec.class_path!r}; {hint}keras.optimizers has: {', '.join(known)}"
            " (or give a custom class as 'package.module:Class')"
        )
    return cls


def check_optimizer(suite: Suite, name: str) -> None:
    """Resolve one optimizer's class and construct it with the suite's arguments.

    Constructing it, rather than reading its signature, is what lets a class that
    forwards `**kwargs` to `keras.optimizers.Optimizer` take `clipnorm` and the
    like; a refused argument is reported with the class's own error, under the
    suite key. This imports Keras, so it runs only when something is about to train.
    """
    spec = suite.optimizer(name)
    cls = resolve_optimizer_class(spec, suite.path)
    try:
        cls(**spec.kwargs)
    except Exception as exc:  # the user's class may raise anything; its message is what helps
        arguments = ", ".join(f"{k}={v!r}" for k, v in spec.kwargs.items())
        raise OptcheckError(with_user_frames(
            f"{suite.path}: optimizers.{name}.kwargs: {cls.__name__}({arguments}) failed: "
            f"{type(exc).__name__}: {exc}", exc)) from None


def make_optimizer(spec: OptimizerSpec, suite: Suite) -> Any:
    cls = resolve_optimizer_class(spec, suite.path)
    try:
        return cls(**spec.kwargs)
    except Exception as exc:  # the user's class may raise anything; its message and lines are what help
        raise OptcheckError(with_user_frames(
            f"{suite.path}: optimizers.{spec.name}: {cls.__name__}(**kwargs) failed: {exc}", exc)) from None
