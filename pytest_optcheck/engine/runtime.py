"""Starting Keras's backend: once, quietly, deterministic, with this process's share of cores.

Every path that needs Keras goes through `keras_runtime()`, so the settings are in
place before the backend starts (TensorFlow ignores them afterwards). The backend is
Keras's own choice, `KERAS_BACKEND` (the plugin's --optcheck-backend sets it before
Keras is imported): TensorFlow by default, or JAX.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_optcheck.environment import BACKENDS, kernel_threads, keras_backend, worker_threads
from pytest_optcheck.errors import OptcheckError

_configured = False
NOT_INSTALLED = ("TensorFlow is not installed. Install it with pip install tensorflow "
                 "(or tensorflow-cpu for the CPU-only wheel)")


JAX_NOT_INSTALLED = ("the JAX backend was chosen, but JAX is not installed. Install it with "
                     "pip install \"pytest-optcheck[jax]\" (CPU wheels), or choose --optcheck-backend tensorflow")


def keras_runtime() -> None:
    """Make Keras ready on the chosen backend: TensorFlow configured, or JAX present."""
    chosen = keras_backend()
    if chosen == "tensorflow":
        tensorflow()
        return
    if chosen != "jax":
        raise OptcheckError(f"KERAS_BACKEND={chosen!r}: the harness trains on {' or '.join(BACKENDS)}")
    deterministic_xla()
    try:
        import jax  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name not in ("jax", "jaxlib"):
            raise
        raise OptcheckError(JAX_NOT_INSTALLED) from None
    import keras

    if keras.backend.backend() != "jax":
        raise OptcheckError(f"Keras was imported on the {keras.backend.backend()} backend before the harness could "
                            "choose jax: set KERAS_BACKEND=jax before anything imports Keras")


GPU_DETERMINISM = "--xla_gpu_deterministic_ops=true"


def deterministic_xla() -> None:
    """Ask XLA for deterministic GPU kernels, JAX's counterpart of TensorFlow's op determinism.

    On a GPU, XLA's reductions may add in whatever order threads finish, so the same
    seed could give different curves; the flag makes it choose ordered kernels. The
    CPU is deterministic without it and ignores it. XLA reads its flags when JAX
    starts its backend, so this must come before the first computation; a project
    that sets the flag itself in XLA_FLAGS keeps its own value.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_gpu_deterministic_ops" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {GPU_DETERMINISM}".strip()


def tensorflow() -> Any:
    """Import TensorFlow once, quietly, deterministic, with this process's share of threads."""
    global _configured
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep CUDA-probe noise off the console
    try:
        import tensorflow as tf
    except ModuleNotFoundError as exc:
        if exc.name != "tensorflow":
            raise  # TensorFlow is there but broken: its own error says more
        raise OptcheckError(NOT_INSTALLED) from None

    if not _configured:
        # Set, not left to TensorFlow's default, so that the count the run's identity
        # records (environment.kernel_threads) is the one the kernels use: it changes results.
        threads = kernel_threads("tensorflow")
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            if worker_threads():  # a pytest-xdist worker's share; one process alone keeps the default
                tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow started in this process before the harness: its settings stay
            started = tf.config.threading.get_intra_op_parallelism_threads()
            if started not in (0, threads):
                raise OptcheckError(
                    f"TensorFlow was started with {started} intra-op threads before the harness could give it "
                    f"{threads}, and runs record the count they train with: set OPTCHECK_THREADS={started} "
                    "instead of configuring TensorFlow's threads yourself") from None
        tf.config.experimental.enable_op_determinism()
        # Each run builds a new model, which TensorFlow reports as "retracing": expected here.
        tf.get_logger().setLevel("ERROR")
        _configured = True
    return tf


# The native_log blocks open across threads, and what the first of them moved: the
# descriptor moves when the first opens and comes back when the last closes, so runs
# training side by side in threads never restore it out of order.
_log_depth = 0
_log_moved: tuple[int, int] | None = None
_log_lock = threading.Lock()


@contextlib.contextmanager
def native_log(path: Path | None) -> Iterator[None]:
    """Send what TensorFlow's C++ side prints (absl lines such as cuInit or NodeDef
    warnings, which no Python setting silences in recent versions) to `path`, or
    nowhere, instead of the terminal and pytest's failure reports.

    Only file descriptor 2 is moved: Python's own stderr output under pytest goes to
    pytest's capture, and exceptions still propagate as exceptions. While a block is
    open (in any thread), another one changes nothing.
    """
    global _log_depth, _log_moved
    with _log_lock:
        _log_depth += 1
        if _log_depth == 1:
            _log_moved = _move_stderr(path)
    try:
        yield
    finally:
        with _log_lock:
            _log_depth -= 1
            if _log_depth == 0 and _log_moved is not None:
                saved, target = _log_moved
                _log_moved = None
                os.dup2(saved, 2)
                os.close(saved)
                os.close(target)


def _move_stderr(path: Path | None) -> tuple[int, int] | None:
    """Point descriptor 2 at `path` (or nowhere); the saved and the new descriptors, or None if it cannot."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep clean
        return None
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        target = os.open(path if path is not None else os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        os.close(saved)
        return None
    os.dup2(target, 2)
    return saved, target
