"""Starting TensorFlow: once, quietly, deterministic, with this process's share of cores.

Every path that needs Keras goes through `tensorflow()`, so the settings are in
place before TensorFlow's runtime starts (it ignores them afterwards).
"""

from __future__ import annotations

import os
from typing import Any

from .errors import OptcheckError

_configured = False
# pytest-optcheck does not depend on a TensorFlow wheel: the full and the CPU-only
# one install the same package, so the user chooses (see pyproject.toml).
NOT_INSTALLED = ("TensorFlow is not installed. Install it with pip install tensorflow "
                 "(or tensorflow-cpu for the CPU-only wheel)")


def worker_threads() -> int | None:
    """Threads per process: the machine's cores shared among pytest-xdist workers."""
    explicit = os.environ.get("OPTCHECK_THREADS")
    if explicit:
        if not explicit.isdigit() or int(explicit) < 1:
            raise OptcheckError(f"OPTCHECK_THREADS={explicit!r}: give a whole number of threads, 1 or more")
        return int(explicit)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if workers > 1:
        return max(1, (os.cpu_count() or 1) // workers)
    return None


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
        threads = worker_threads()
        if threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:
                pass  # TensorFlow already started in this process; keep its settings
        tf.config.experimental.enable_op_determinism()
        # Each run builds a new model, which TensorFlow reports as "retracing": expected here.
        tf.get_logger().setLevel("ERROR")
        _configured = True
    return tf
