"""Shared helpers: tiny Fashion-MNIST-shaped data and a tiny suite, written by the tests themselves."""

from __future__ import annotations

import gzip
import struct
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pytest_optcheck.engine.fashion_mnist import FILES, IMAGES_MAGIC, LABELS_MAGIC


def write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_dataset(folder: Path, train: int = 300, test: int = 100, seed: int = 0) -> Path:
    """Random images whose class is readable from their brightness, so models can learn."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", train), ("test", test)):
        labels = rng.integers(0, 10, count)
        images = rng.integers(0, 60, (count, 28, 28)) + (labels * 20)[:, None, None]
        write_idx(folder / FILES[f"x_{split}"], images, IMAGES_MAGIC)
        write_idx(folder / FILES[f"y_{split}"], labels, LABELS_MAGIC)
    return folder


TINY_SUITE = """\
[suite]
name = "tiny"
default_profile = "small"

[model]
hidden_units = [16]

[training]
batch_size = 32

[profiles.small]
train_samples = 200
epochs = 2
seeds = [0, 1, 2]
noise_reruns = 2

[profiles.other]
train_samples = 100
epochs = 1
seeds = [3]

[optimizers.sgd]
class = "SGD"
kwargs = { learning_rate = 0.001 }

[optimizers.adam]
class = "Adam"
kwargs = { learning_rate = 0.01 }

[[claims]]
id = "adam-beats-sgd"
quote = "Adam ends better than SGD."
kind = "ordering"
better = "adam"
worse = "sgd"
# Three seeds decide a claim only at 50% confidence: enough for tests of the plumbing.
confidence = 0.5
"""


@pytest.fixture(autouse=True)
def inner_runs_are_not_xdist_workers(request, monkeypatch):
    """Under `pytest -n`, an in-process pytester run inherits the worker's PYTEST_XDIST_WORKER,
    and pytest-benchmark, seeing it, would turn itself off in the inner run too."""
    if "pytester" in request.fixturenames:
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("fashion"))


@pytest.fixture
def tiny_suite(tmp_path) -> Path:
    path = tmp_path / "suites" / "tiny.toml"
    path.parent.mkdir()
    path.write_text(TINY_SUITE)
    return path


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip()


@pytest.fixture
def pair_suite(tmp_path):
    """The two-optimizer suite of the report tests (see baseline_data.py)."""
    from baseline_data import SUITE

    from pytest_optcheck.spec.suite import load_suite

    path = tmp_path / "suites" / "pair.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SUITE)
    return load_suite(path)
