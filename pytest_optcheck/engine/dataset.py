"""A suite's data as every source gives it (`Dataset`), and the error a source raises when it cannot.

Each source words its own fix: a `DataError` subclass says what the user can do
about that source's data (Fashion-MNIST's in `fashion_mnist.py`, MNIST's and a
project loader's in `sources.py`), in the options of the command in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pytest_optcheck.errors import OptcheckError


@dataclass(frozen=True)
class DataOptions:
    """How the command in use spells the data options, for the fix a data error suggests."""

    data_dir: str  # the option choosing the folder
    download: str  # the option allowing a download
    command: str  # the command, as the fix shows it


PYTEST_OPTIONS = DataOptions("--optcheck-data-dir", "--optcheck-download", "pytest")


def how_to_fix(options: DataOptions, first: tuple[str, str], files: str) -> str:
    """Three ways to fix a missing source: `first` (what, how), a folder holding `files`, Keras's download."""
    folder = f"{options.command} {options.data_dir} DIR"
    download = f"{options.command} {options.download}"
    width = max(len(folder), len(download))
    what, how = first
    return "\n".join([
        "Fix it in one of three ways:",
        f"  1. {what + ':':<27} {how}",
        f"  2. point at a folder with {files}:",
        f"                                 {folder:<{width}}   (or OPTCHECK_DATA_DIR=DIR)",
        f"  3. allow Keras to download it: {download:<{width}}   (or OPTCHECK_DOWNLOAD=1)",
    ])


class DataError(OptcheckError):
    """A source's data is missing or damaged: what is wrong, then how to fix it.

    `str()` names pytest's options in the fix; `explain()` those of another command.
    Each source has a subclass of its own, whose `fix` says what to do about that source.
    """

    subject = "the data"  # what is missing or damaged, as a sentence starts

    def __init__(self, problem: str, chosen_folder: bool = False):
        super().__init__(problem, chosen_folder)  # both in args, so the error pickles whole
        self.problem = problem
        self.chosen_folder = chosen_folder  # the folder was given explicitly, so no other was tried

    def __str__(self) -> str:
        return self.explain(PYTEST_OPTIONS)

    def explain(self, options: DataOptions) -> str:
        lines = [self.problem]
        if self.chosen_folder:
            lines.append(f"The folder was chosen by {options.data_dir} / OPTCHECK_DATA_DIR, "
                         "so no other place was tried.")
        return "\n".join(lines + [self.fix(options)])

    def fix(self, options: DataOptions) -> str:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class Dataset:
    """Pixels as float32 in [0, 1], labels as uint8, and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    checksum: str  # sha256 over the four files' decompressed contents (or the arrays' bytes)
    folder: Path | None  # where the files were read; None for data made in memory
    official: bool  # the contents are exactly the published Fashion-MNIST
    source: str = "fashion_mnist"  # the suite's [data] source

    @property
    def origin(self) -> str:
        return str(self.folder) if self.folder is not None else self.source
