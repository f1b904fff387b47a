"""A suite's [data]: sources, their checksums, and clear errors; no training."""

import numpy as np
import pytest

from conftest import write_dataset
from pytest_optcheck.engine import fashion_mnist, sources
from pytest_optcheck.engine.dataset import DataError
from pytest_optcheck.engine.fashion_mnist import FILES
from pytest_optcheck.errors import OptcheckError


def load(source, kwargs=None, folder=None):
    return sources.load(source, kwargs or {}, where="suite.toml", folder=folder, data_dir=None, allow_download=False)


def test_mnist_reads_a_folder_of_idx_files_and_names_its_source(tmp_path):
    dataset = load("mnist", folder=write_dataset(tmp_path / "digits"))
    assert dataset.source == "mnist" and dataset.origin == str(tmp_path / "digits")
    assert dataset.x_train.dtype == np.float32 and dataset.x_train.max() <= 1.0


def test_mnist_without_a_folder_or_cache_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MNIST_NPZ", tmp_path / "none.npz")
    with pytest.raises(OptcheckError, match="MNIST was not found"):
        load("mnist")


def test_the_noisy_quadratic_is_the_same_for_the_same_kwargs_and_differs_otherwise():
    a = load("noisy_quadratic", {"dimension": 5, "train": 10, "test": 4})
    b = load("noisy_quadratic", {"dimension": 5, "train": 10, "test": 4})
    c = load("noisy_quadratic", {"dimension": 5, "train": 10, "test": 4, "noise_seed": 1})
    assert a.checksum == b.checksum != c.checksum
    assert a.x_train.shape == (10, 5) and not a.y_train.any()


def test_a_project_loader_is_called_with_its_kwargs_and_fingerprinted(tmp_path, monkeypatch):
    (tmp_path / "myloader.py").write_text(
        "import numpy as np\n"
        "def load(n=6):\n"
        "    x = np.arange(n * 2, dtype='float32').reshape(n, 2)\n"
        "    return (x, np.zeros(n)), (x[:2], np.zeros(2))\n")
    monkeypatch.syspath_prepend(tmp_path)
    six, seven = load("myloader:load"), load("myloader:load", {"n": 7})
    assert len(six.x_train) == 6 and six.origin == "myloader:load" and six.checksum != seven.checksum


@pytest.mark.parametrize("body, problem", [
    ("return [1, 2, 3]", "must return (x_train, y_train), (x_test, y_test)"),
    ("return (np.zeros((3, 2)), np.zeros(2)), (np.zeros((1, 2)), np.zeros(1))", "3 x_train rows but 2 y_train rows"),
    ("raise RuntimeError('disk full')", "the loader failed: RuntimeError: disk full"),
])
def test_a_broken_loader_is_named_with_what_is_wrong(tmp_path, monkeypatch, body, problem):
    module = f"broken_{abs(hash(body))}"  # one module per case: imports are cached
    (tmp_path / f"{module}.py").write_text(f"import numpy as np\ndef load():\n    {body}\n")
    monkeypatch.syspath_prepend(tmp_path)
    with pytest.raises(OptcheckError) as info:
        load(f"{module}:load")
    assert "suite.toml" in str(info.value) and problem in str(info.value)


def test_an_unknown_loader_module_is_named():
    with pytest.raises(OptcheckError, match="data.source: cannot import 'no_such_module'"):
        load("no_such_module:load")


DEBIAN_PACKAGE = "dataset-fashion-mnist"


def _failure(source, **where) -> str:
    with pytest.raises(OptcheckError) as info:
        load(source, **where)
    return str(info.value)


def test_each_source_s_error_names_its_own_fix_and_only_fashion_mnist_s_names_debian(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "KERAS_CACHE", tmp_path / "no-keras-cache")
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(sources, "MNIST_NPZ", tmp_path / "no-mnist.npz")
    monkeypatch.delenv("OPTCHECK_DATA_DIR", raising=False)
    monkeypatch.delenv("OPTCHECK_DOWNLOAD", raising=False)
    fashion = _failure("fashion_mnist")
    assert "Fashion-MNIST was not found" in fashion and f"apt-get install {DEBIAN_PACKAGE}" in fashion

    mnist = _failure("mnist")  # nothing anywhere
    assert "MNIST was not found" in mnist and str(tmp_path / "no-mnist.npz") in mnist
    assert "pytest --optcheck-data-dir DIR" in mnist and "pytest --optcheck-download" in mnist
    damaged = write_dataset(tmp_path / "digits")
    (damaged / FILES["x_train"]).write_bytes(b"not gzip")
    for failure in (mnist, _failure("mnist", folder=tmp_path / "nowhere"), _failure("mnist", folder=damaged)):
        assert "Fix it in one of three ways" in failure
        assert DEBIAN_PACKAGE not in failure and "Debian" not in failure and "Fashion-MNIST" not in failure

    (tmp_path / "own_data.py").write_text("def load():\n    return 'pictures'\n")
    monkeypatch.syspath_prepend(tmp_path)
    own = _failure("own_data:load")
    assert "own_data:load" in own and "(x_train, y_train), (x_test, y_test)" in own
    assert DEBIAN_PACKAGE not in own and "Debian" not in own


def test_an_mnist_error_is_a_data_error_that_says_mnist_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MNIST_NPZ", tmp_path / "none.npz")
    with pytest.raises(DataError) as info:
        load("mnist")
    assert info.value.subject == "MNIST"
