"""Shared fixtures and helpers: tiny Fashion-MNIST-shaped data, a tiny suite, a project to run pytest in.

Runs come from the training stand-in (engine/standin.py) unless a test is marked
`trains`: the plugin's flows do not depend on what a network learns, and the stand-in
gives a run in microseconds. `pytest -m trains` selects the tests that train Keras models.
"""

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
def training_stand_in(request, monkeypatch):
    """Runs train on the stand-in, in this process and in every pytest or optcheck it starts,
    unless the test is marked `trains`."""
    if request.node.get_closest_marker("trains") is None:
        monkeypatch.setenv("OPTCHECK_STAND_IN", "1")
    else:
        monkeypatch.delenv("OPTCHECK_STAND_IN", raising=False)


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


@pytest.fixture(scope="session")
def tensorflow_loaded(tiny_data, tmp_path_factory):
    """Train once in this process before any in-process pytest run.

    pytester restores `sys.modules` after each inner run; TensorFlow cannot be
    imported twice in one process, so it must be loaded (with the Keras modules
    a run uses) before the first inner run starts.
    """
    from pytest_optcheck.engine.fashion_mnist import load_dataset
    from pytest_optcheck.spec.suite import load_suite
    from pytest_optcheck.engine.training import Engine

    path = tmp_path_factory.mktemp("warm") / "tiny.toml"
    path.write_text(TINY_SUITE)
    suite = load_suite(path)
    profile = suite.profile("other")
    Engine().train(suite, "adam", 0, profile, load_dataset(tiny_data))


@pytest.fixture
def project(pytester, tiny_data, tensorflow_loaded):
    """A project with the tiny suite; `run(*args)` runs pytest --optcheck on it."""
    pytester.makefile(".toml", **{"suites/tiny": TINY_SUITE})

    def run(*args, optcheck=True, benchmarks=False, **kwargs):
        flags = ["--optcheck", f"--optcheck-data-dir={tiny_data}"] if optcheck else []
        if not benchmarks:  # epoch timing has tests of its own
            flags += ["--deselect=suites/tiny.toml::epoch_time[sgd]", "--deselect=suites/tiny.toml::epoch_time[adam]"]
        return pytester.runpytest(*flags, "-p", "no:randomly", "-rA", *args, **kwargs)

    pytester.run_optcheck = run
    return pytester


def has_lines(result, *parts):
    """Each part appears in the output, in order (plain substrings: ids contain brackets)."""
    text = result.stdout.str() + result.stderr.str()
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, f"{part!r} not found after position {position} in:\n{text}"
        position = found + len(part)


def baseline(pytester, name):
    return pytester.path / "baselines" / "tiny" / "small" / f"{name}.json"
