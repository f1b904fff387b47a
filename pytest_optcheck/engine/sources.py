"""A suite's data: `[data] source` resolved to arrays, with a checksum that identifies them.

- `fashion_mnist` (the default) and `mnist`: 28x28 images scaled to [0, 1], read
  from a folder of the four IDX files (`[data] dir`, `--optcheck-data-dir` or
  `OPTCHECK_DATA_DIR`), else Keras's cache, else (Fashion-MNIST) Debian's
  package; downloaded only when allowed.
- `noisy_quadratic`: a synthetic problem generated in memory (`problems.py`).
- `package.module:function`: the project's own loader, returning
  `(x_train, y_train), (x_test, y_test)` as `keras.datasets` does; used as returned.

The checksum (sha256 of the files' contents, or of the arrays' shapes, types and
bytes) goes into every run's cache key and every baseline, so a baseline is
never compared with runs on other data without saying so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from pytest_optcheck.engine import fashion_mnist as data
from pytest_optcheck.engine.dataset import DataError, DataOptions, Dataset, how_to_fix
from pytest_optcheck.errors import OptcheckError, with_user_frames
from pytest_optcheck.imports import load_attribute

MNIST_NPZ = Path("~/.keras/datasets/mnist.npz")
# What a project's loader (and `keras.datasets`'s) returns.
RETURNS = "(x_train, y_train), (x_test, y_test), as keras.datasets loaders do"


class MnistError(DataError):
    """MNIST is missing or damaged: Keras's mnist.npz, a folder of its IDX files or Keras's download fixes it."""

    subject = "MNIST"

    def fix(self, options: DataOptions) -> str:
        return how_to_fix(options, ("put Keras's copy at", str(MNIST_NPZ)), "MNIST's four IDX files")


def load(source: str, kwargs: dict[str, Any], *, where: str, folder: Path | None,
         data_dir: str | os.PathLike | None, allow_download: bool) -> Dataset:
    """The data a suite names; `where` is the suite file, `folder` its `[data] dir` (resolved)."""
    chosen = folder if folder is not None else data_dir
    if source == "fashion_mnist":
        return data.load_dataset(chosen, allow_download=allow_download)
    if source == "mnist":
        return _mnist(chosen, allow_download)
    if source == "noisy_quadratic":
        from pytest_optcheck.engine.problems import noisy_quadratic_data

        return _from_arrays(_call(noisy_quadratic_data, kwargs, f"{where}: data.kwargs"), source, where)
    try:
        return _from_arrays(_call(_function(source, where), kwargs, f"{where}: data.source {source!r}"), source, where)
    except OptcheckError as exc:  # the project's own function: the fix is in it
        raise OptcheckError(f"{exc}\nThe data comes from the project's function {source}: it must import, "
                            f"take data.kwargs and return {RETURNS}.") from None


def _function(source: str, where: str) -> Any:
    function = load_attribute(source, f"{where}: data.source")
    if not callable(function):
        raise OptcheckError(f"{where}: data.source: {source!r} is not a function")
    return function


def _call(function: Any, kwargs: dict[str, Any], where: str) -> Any:
    try:
        return function(**kwargs)
    except Exception as exc:  # the user's loader may raise anything: say which and what
        raise OptcheckError(with_user_frames(f"{where}: the loader failed: {type(exc).__name__}: {exc}", exc)) from None


def _from_arrays(result: Any, source: str, where: str) -> Dataset:
    """Validate `(x_train, y_train), (x_test, y_test)` and fingerprint it."""
    shape_problem = f"{where}: data.source {source!r} must return {RETURNS}"
    try:
        (x_train, y_train), (x_test, y_test) = result
    except (TypeError, ValueError):
        raise OptcheckError(shape_problem) from None
    arrays = {}
    for name, value in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test)):
        array = np.asarray(value)
        if array.dtype == object or array.ndim == 0 or len(array) == 0:
            raise OptcheckError(f"{shape_problem}; {name} is not a non-empty numeric array")
        arrays[name] = array
    for split in ("train", "test"):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise OptcheckError(f"{where}: data.source {source!r}: {len(arrays['x_' + split])} x_{split} rows "
                                f"but {len(arrays['y_' + split])} y_{split} rows")
    return Dataset(**arrays, checksum=fingerprint(arrays), folder=None, official=False, source=source)


def fingerprint(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over each array's name, shape, dtype and bytes: the data's identity."""
    hasher = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        hasher.update(f"{name}:{array.shape}:{array.dtype.str};".encode())
        hasher.update(array.tobytes())
    return hasher.hexdigest()


def _mnist(chosen: str | os.PathLike | None, allow_download: bool) -> Dataset:
    """MNIST from a folder of IDX files, else Keras's mnist.npz, else (when allowed) Keras's download."""
    if chosen is not None:
        folder = Path(chosen).expanduser()
        if not all((folder / name).is_file() for name in data.FILES.values()):
            raise MnistError(f"MNIST was not found in {folder} (needs {', '.join(data.FILES.values())}).",
                             chosen_folder=True)
        arrays, digests = data.read_folder(folder, MnistError)
        return data.from_folder(folder, arrays, digests, official=False, source="mnist")
    npz = MNIST_NPZ.expanduser()
    if not npz.is_file() and (allow_download or os.environ.get("OPTCHECK_DOWNLOAD") == "1"):
        try:
            import keras

            keras.datasets.mnist.load_data()
        except Exception as exc:
            raise MnistError(f"Downloading MNIST with Keras failed: {exc}") from None
    if not npz.is_file():
        raise MnistError(f"MNIST was not found: no folder was given and {npz} does not exist.")
    with np.load(npz) as stored:
        arrays = {name: stored[name] for name in ("x_train", "y_train", "x_test", "y_test")}
    raw = _from_arrays(((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])), "mnist", str(npz))
    # The checksum is of the stored bytes; the pixels are scaled as for the IDX folders.
    return dataclasses.replace(raw, x_train=data.scale(raw.x_train), x_test=data.scale(raw.x_test), folder=npz.parent)
