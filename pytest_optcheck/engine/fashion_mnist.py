"""Finding, verifying and loading Fashion-MNIST from its four gzip IDX files.

Places are tried in a fixed order and nothing is downloaded unless asked:
the `--optcheck-data-dir` option or `OPTCHECK_DATA_DIR`, Keras's cache,
Debian's `dataset-fashion-mnist` package, and only then (when allowed)
Keras's own downloader.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from pytest_optcheck.engine.dataset import DataError, DataOptions, Dataset, how_to_fix

FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
OFFICIAL_COUNTS = {"x_train": 60_000, "y_train": 60_000, "x_test": 10_000, "y_test": 10_000}
# sha256 of each official file's decompressed bytes: independent of how it was gzipped.
OFFICIAL_SHA256 = {
    "x_train": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "y_train": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "x_test": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "y_test": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
KERAS_CACHE = Path("~/.keras/datasets/fashion-mnist")
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


class FashionMnistError(DataError):
    """Fashion-MNIST is missing or damaged: Debian's package, a folder or Keras's download fixes it."""

    subject = "Fashion-MNIST"

    def fix(self, options: DataOptions) -> str:
        return how_to_fix(options, ("install Debian's copy", "apt-get install dataset-fashion-mnist"),
                          "the four files")


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched, in order."""
    places = []
    chosen = data_dir or os.environ.get("OPTCHECK_DATA_DIR")
    if chosen:
        places.append(Path(chosen).expanduser())
    places += [KERAS_CACHE.expanduser(), DEBIAN_DIR]
    return places


def _has_all_files(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES.values())


def find_data_dir(data_dir: str | os.PathLike | None = None, *, allow_download: bool = False) -> Path:
    places = candidate_dirs(data_dir)
    if data_dir or os.environ.get("OPTCHECK_DATA_DIR"):
        # An explicit choice is never silently replaced by another folder.
        if _has_all_files(places[0]):
            return places[0]
        raise FashionMnistError(_missing_message([places[0]]), chosen_folder=True)
    for folder in places:
        if _has_all_files(folder):
            return folder
    if allow_download or os.environ.get("OPTCHECK_DOWNLOAD") == "1":
        return _download()
    raise FashionMnistError(_missing_message(places))


def _missing_message(places: list[Path]) -> str:
    lines = ["Fashion-MNIST was not found. Looked for " + ", ".join(FILES.values()) + " in:"]
    for folder in places:
        missing = [n for n in FILES.values() if not (folder / n).is_file()]
        state = "folder does not exist" if not folder.is_dir() else "missing " + ", ".join(missing)
        lines.append(f"  - {folder} ({state})")
    return "\n".join(lines)


def _download() -> Path:
    try:
        import keras

        keras.datasets.fashion_mnist.load_data()
    except Exception as exc:  # any network or file error: explain, don't trace
        raise FashionMnistError(f"Downloading Fashion-MNIST with Keras failed: {exc}") from None
    return KERAS_CACHE.expanduser()


def read_idx(path: Path, magic: int, error: type[DataError]) -> tuple[np.ndarray, str]:
    """Read one gzip IDX file, checking its magic number and size; also return its sha256.

    `error`: the source's error, raised for a file that is not what it must be.
    """
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise error(f"{path}: not a readable gzip file ({exc}).") from None
    ndim = 3 if magic == IMAGES_MAGIC else 1
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise error(f"{path}: too short to be an IDX file ({len(raw)} bytes).")
    found, *shape = struct.unpack(f">{1 + ndim}I", raw[:header])
    if found != magic:
        raise error(f"{path}: magic number {found}, expected {magic}; this is not the right IDX file.")
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise error(
            f"{path}: header promises {expected} bytes of data for shape {tuple(shape)}, "
            f"the file holds {len(raw) - header}; it is truncated or damaged."
        )
    array = np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
    return array, hashlib.sha256(raw).hexdigest()


def load_dataset(data_dir: str | os.PathLike | None = None, *, allow_download: bool = False) -> Dataset:
    """Find, verify and load Fashion-MNIST (train and test)."""
    folder = find_data_dir(data_dir, allow_download=allow_download)
    arrays, digests = read_folder(folder, FashionMnistError)
    official = digests == OFFICIAL_SHA256
    sizes_official = {k: len(v) for k, v in arrays.items()} == OFFICIAL_COUNTS
    if sizes_official and not official:
        bad = [FILES[k] for k in FILES if digests[k] != OFFICIAL_SHA256[k]]
        raise FashionMnistError(
            f"{folder}: {', '.join(bad)} has the size of Fashion-MNIST but not its contents "
            f"(sha256 of the decompressed data differs); the file is damaged or not Fashion-MNIST."
        )
    return from_folder(folder, arrays, digests, official=official, source="fashion_mnist")


def read_folder(folder: Path, error: type[DataError]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The four IDX files of an MNIST-like folder, checked, and the sha256 of each; `error`: the source's."""
    arrays, digests = {}, {}
    for key, name in FILES.items():
        arrays[key], digests[key] = read_idx(folder / name, IMAGES_MAGIC if key.startswith("x") else LABELS_MAGIC,
                                             error)
    _check_consistency(folder, arrays, error)
    return arrays, digests


def from_folder(folder: Path, arrays: dict[str, np.ndarray], digests: dict[str, str], *, official: bool,
                source: str) -> Dataset:
    checksum = hashlib.sha256("".join(digests[k] for k in FILES).encode()).hexdigest()
    return Dataset(x_train=scale(arrays["x_train"]), y_train=arrays["y_train"], x_test=scale(arrays["x_test"]),
                   y_test=arrays["y_test"], checksum=checksum, folder=folder, official=official, source=source)


def scale(images: np.ndarray) -> np.ndarray:
    # float32 division gives exactly the values of the article's float64 `x / 255.0`
    # once Keras casts them to float32, so runs match a plain script bit for bit.
    return images.astype(np.float32) / np.float32(255.0)


def _check_consistency(folder: Path, arrays: dict[str, np.ndarray], error: type[DataError]) -> None:
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.shape[1:] != (28, 28):
            raise error(f"{folder / FILES['x_' + split]}: images are {images.shape[1:]}, expected 28x28.")
        if len(images) != len(labels):
            raise error(
                f"{folder}: {len(images)} {split} images but {len(labels)} labels; the files do not belong together."
            )
        if labels.size and labels.max() > 9:
            raise error(f"{folder / FILES['y_' + split]}: label {labels.max()} is outside 0-9.")
