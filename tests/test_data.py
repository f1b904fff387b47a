import gzip

import numpy as np
import pytest

from pytest_optcheck.engine import fashion_mnist as data
from pytest_optcheck.engine.dataset import DataError, DataOptions
from pytest_optcheck.engine.fashion_mnist import FILES, load_dataset

from conftest import write_dataset


@pytest.fixture(autouse=True)
def no_default_places(monkeypatch, tmp_path):
    """Keep the machine's own copies (Keras cache, Debian) out of these tests."""
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "no-keras-cache")
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.delenv("OPTCHECK_DATA_DIR", raising=False)
    monkeypatch.delenv("OPTCHECK_DOWNLOAD", raising=False)


def test_loads_scaled_pixels_and_labels(tmp_path):
    folder = write_dataset(tmp_path / "d", train=50, test=20)
    ds = load_dataset(folder)
    assert ds.x_train.shape == (50, 28, 28) and ds.x_train.dtype == np.float32
    assert ds.x_test.shape == (20, 28, 28)
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert ds.y_train.dtype == np.uint8 and ds.y_train.max() <= 9
    assert not ds.official  # small synthetic files are not the published data
    raw = np.frombuffer(gzip.open(folder / FILES["x_train"]).read(), np.uint8, offset=16).reshape(50, 28, 28)
    # exactly the article's `x / 255.0`, once cast to float32 as Keras does
    assert np.array_equal(ds.x_train, (raw / 255.0).astype(np.float32))


def test_checksum_follows_content(tmp_path):
    a = load_dataset(write_dataset(tmp_path / "a", seed=1))
    b = load_dataset(write_dataset(tmp_path / "b", seed=1))
    c = load_dataset(write_dataset(tmp_path / "c", seed=2))
    assert a.checksum == b.checksum != c.checksum


def test_search_order_env_var_then_keras_cache_then_debian(tmp_path, monkeypatch):
    keras_cache = write_dataset(tmp_path / "keras", seed=1)
    debian = write_dataset(tmp_path / "debian", seed=2)
    monkeypatch.setattr(data, "KERAS_CACHE", keras_cache)
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    assert load_dataset().folder == keras_cache
    monkeypatch.setenv("OPTCHECK_DATA_DIR", str(write_dataset(tmp_path / "mine", seed=3)))
    assert load_dataset().folder == tmp_path / "mine"


def test_missing_data_lists_places_and_fixes(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset()
    message = str(info.value)
    assert "no-keras-cache (folder does not exist)" in message
    assert "no-debian" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "--optcheck-data-dir" in message and "--optcheck-download" in message


def test_explicit_folder_missing_a_file_is_not_replaced_by_another(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_DIR", write_dataset(tmp_path / "debian"))
    folder = write_dataset(tmp_path / "mine")
    (folder / FILES["y_test"]).unlink()
    with pytest.raises(DataError, match=r"missing t10k-labels-idx1-ubyte.gz") as info:
        load_dataset(folder)
    assert "no other place was tried" in str(info.value)


def test_truncated_gzip(tmp_path):
    folder = write_dataset(tmp_path / "d")
    path = folder / FILES["x_train"]
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: not a readable gzip file"):
        load_dataset(folder)


def test_not_gzip_at_all(tmp_path):
    folder = write_dataset(tmp_path / "d")
    (folder / FILES["y_train"]).write_bytes(b"hello, not gzip")
    with pytest.raises(DataError, match="not a readable gzip file"):
        load_dataset(folder)


def test_wrong_magic_number(tmp_path):
    folder = write_dataset(tmp_path / "d")
    # the label file where the image file should be
    (folder / FILES["x_test"]).write_bytes((folder / FILES["y_test"]).read_bytes())
    with pytest.raises(DataError, match="magic number 2049, expected 2051"):
        load_dataset(folder)


def test_wrong_size(tmp_path):
    folder = write_dataset(tmp_path / "d")
    path = folder / FILES["x_train"]
    content = gzip.open(path).read()
    with gzip.open(path, "wb") as f:
        f.write(content[:-100])
    with pytest.raises(DataError, match="truncated or damaged"):
        load_dataset(folder)


def test_images_and_labels_disagree(tmp_path):
    folder = write_dataset(tmp_path / "d", train=50)
    other = write_dataset(tmp_path / "e", train=40)
    (folder / FILES["y_train"]).write_bytes((other / FILES["y_train"]).read_bytes())
    with pytest.raises(DataError, match="50 train images but 40 labels"):
        load_dataset(folder)


def test_official_sized_files_with_other_content_are_rejected(tmp_path, monkeypatch):
    folder = write_dataset(tmp_path / "d", train=50, test=20)
    monkeypatch.setattr(data, "OFFICIAL_COUNTS", {"x_train": 50, "y_train": 50, "x_test": 20, "y_test": 20})
    with pytest.raises(DataError, match="has the size of Fashion-MNIST but not its contents"):
        load_dataset(folder)


def test_official_contents_are_recognised(tmp_path, monkeypatch):
    folder = write_dataset(tmp_path / "d", train=50, test=20)
    digests = {k: data.read_idx(folder / n, data.IMAGES_MAGIC if k[0] == "x" else data.LABELS_MAGIC, data.FashionMnistError)[1]
               for k, n in FILES.items()}
    monkeypatch.setattr(data, "OFFICIAL_COUNTS", {"x_train": 50, "y_train": 50, "x_test": 20, "y_test": 20})
    monkeypatch.setattr(data, "OFFICIAL_SHA256", digests)
    assert load_dataset(folder).official


def test_failed_download_explains_the_other_fixes(monkeypatch):
    import keras

    def offline():
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(DataError, match="Downloading Fashion-MNIST with Keras failed: network is unreachable") as info:
        load_dataset(allow_download=True)
    assert "apt-get install dataset-fashion-mnist" in str(info.value)


def test_the_fix_names_the_options_of_the_command_in_use(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path / "nowhere")
    assert "chosen by --optcheck-data-dir / OPTCHECK_DATA_DIR" in str(info.value)
    assert "pytest --optcheck-data-dir DIR   (or OPTCHECK_DATA_DIR=DIR)" in str(info.value)
    other = info.value.explain(DataOptions("--folder", "--fetch", "mytool"))
    assert "chosen by --folder / OPTCHECK_DATA_DIR" in other
    assert "mytool --folder DIR   (or OPTCHECK_DATA_DIR=DIR)" in other
    assert "mytool --fetch        (or OPTCHECK_DOWNLOAD=1)" in other and "--optcheck" not in other


def test_a_data_error_survives_pickling(tmp_path):
    """An exception is rebuilt from its args when unpickled: the problem and the flag must both be there."""
    import pickle

    with pytest.raises(DataError) as info:
        load_dataset(tmp_path / "nowhere")
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value) and again.chosen_folder
