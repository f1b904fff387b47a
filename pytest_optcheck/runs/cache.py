"""The run cache: finished runs stored by key, reused, shareable between sessions and machines.

Each run is one JSON record named by its key (see `runs.run_key`), in one of two stores:

- a folder (pytest's cache folder by default, or a shared one on NFS): writes are
  atomic renames, so a reader never sees half a file, and a per-key lock makes
  concurrent requests for the same run train it once;
- an object store (`s3://`, `gs://`, any fsspec URL): a record is written in one PUT,
  which such stores make visible whole or not at all. They have no locks, and none is
  needed for correctness: a run's key is the identity of everything that decides its
  numbers, so two sessions that train one key at the same moment write the same curves
  (their records differ only in the measured epoch seconds), and whichever PUT lands
  last is a complete, valid record. What is lost is only the second training.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_optcheck import atomic
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.errors import OptcheckError

# Where runs are cached: inside pytest's cache folder (config.cache.mkdir(CACHE_NAME) / RUNS),
# which the `optcheck` command reads at PYTEST_CACHE_RUNS when started from the same folder.
CACHE_NAME = "optcheck"
RUNS = "runs"
PYTEST_CACHE_RUNS = Path(".pytest_cache") / "d" / CACHE_NAME / RUNS
INSTALL_FSSPEC = "pip install 'pytest-optcheck[s3]' for s3:// (fsspec and s3fs), or fsspec with gcsfs for gs://"


def is_url(location: str | Path) -> bool:
    """An object store's URL (`s3://bucket/runs`), as opposed to a folder."""
    return "://" in str(location) and not str(location).startswith("file://")


class RunCache:
    def __init__(self, root: Path | str | None):
        """`root`: a folder, an fsspec URL, or None, which disables the cache (every request trains)."""
        self.root = root
        self._store: _Folder | _ObjectStore | None = (
            None if root is None else _ObjectStore(str(root)) if is_url(root) else _Folder(Path(root)))

    def path(self, key: str) -> Path:
        """Where a folder cache keeps `key`'s record."""
        assert isinstance(self._store, _Folder), "only a folder cache has paths"
        return self._store.path(key)

    def describe(self) -> str:
        return "no cache" if self.root is None else str(self.root)

    def load(self, key: str) -> RunResult | None:
        """The stored run, or None if absent or unreadable (an unreadable entry is retrained)."""
        if self._store is None:
            return None
        text = self._store.read(key)
        if text is None:
            return None
        try:
            result = RunResult.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError):
            return None
        result.cached = True
        return result

    def store(self, result: RunResult) -> None:
        if self._store is not None:
            self._store.write(result.key, json.dumps(result.to_json(), indent=1, sort_keys=True))

    def get(self, key: str, train: Callable[[], RunResult]) -> RunResult:
        """The run for `key`: from the cache, or trained (once per folder, across processes) and stored."""
        if self._store is None:
            return train()
        found = self.load(key)
        if found is not None:
            return found
        with self._store.lock(key):
            found = self.load(key)  # another process may have trained it while we waited
            if found is not None:
                return found
            result = train()
            self.store(result)
        return result


class _Folder:
    """Records as files `<root>/<key[:2]>/<key>.json`, written by atomic rename, trained once under a lock."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def read(self, key: str) -> str | None:
        try:
            return self.path(key).read_text(encoding="utf-8")
        except OSError:
            return None

    def write(self, key: str, text: str) -> None:
        atomic.write_text(self.path(key), text)

    def lock(self, key: str):
        return atomic.exclusive_lock(self.root / key[:2] / f"{key}.lock")


class _ObjectStore:
    """Records as objects `<url>/<key[:2]>/<key>.json`, each written in one PUT (see the module's note)."""

    def __init__(self, url: str):
        try:
            import fsspec
        except ImportError:
            raise OptcheckError(f"run cache {url}: an object store needs fsspec: {INSTALL_FSSPEC}") from None
        try:
            # A fresh instance: fsspec would otherwise hand back one made earlier with other credentials.
            self.fs, self.root = fsspec.core.url_to_fs(url, skip_instance_cache=True)
        except (ImportError, ValueError) as exc:
            raise OptcheckError(f"run cache {url}: {exc}; {INSTALL_FSSPEC}") from None
        self.url = url

    def path(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{key[:2]}/{key}.json"

    def read(self, key: str) -> str | None:
        try:
            return self.fs.cat_file(self.path(key)).decode("utf-8")
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a store's errors come in its own kinds
            raise OptcheckError(f"run cache {self.url}: cannot read {self.path(key)}: {_reason(exc)}") from None

    def write(self, key: str, text: str) -> None:
        try:
            self.fs.pipe_file(self.path(key), text.encode("utf-8"))
        except Exception as exc:  # noqa: BLE001
            raise OptcheckError(f"run cache {self.url}: cannot write {self.path(key)}: {_reason(exc)}") from None

    def lock(self, key: str) -> Any:
        return contextlib.nullcontext()  # no locks in an object store, and none needed (see the module's note)


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
