"""The run cache: finished runs stored by key, reused, safe for parallel workers.

Each run is one JSON file named by its key (see `runs.run_key`). Writes are
atomic, so a reader never sees half a file. A per-key lock makes concurrent
requests for the same run train it once: the first trains, the others wait
for the lock and then find the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pytest_optcheck import atomic
from pytest_optcheck.engine.result import RunResult

# Where runs are cached: inside pytest's cache folder (config.cache.mkdir(CACHE_NAME) / RUNS),
# which the `optcheck` command reads at PYTEST_CACHE_RUNS when started from the same folder.
CACHE_NAME = "optcheck"
RUNS = "runs"
PYTEST_CACHE_RUNS = Path(".pytest_cache") / "d" / CACHE_NAME / RUNS


class RunCache:
    def __init__(self, root: Path | None):
        """`root=None` disables the cache: every request trains."""
        self.root = Path(root) if root is not None else None

    def path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.json"

    def load(self, key: str) -> RunResult | None:
        """The stored run, or None if absent or unreadable (an unreadable entry is retrained)."""
        if self.root is None:
            return None
        try:
            result = RunResult.from_json(json.loads(self.path(key).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        result.cached = True
        return result

    def store(self, result: RunResult) -> None:
        if self.root is not None:
            atomic.write_text(self.path(result.key), json.dumps(result.to_json(), indent=1, sort_keys=True))

    def get(self, key: str, train: Callable[[], RunResult]) -> RunResult:
        """The run for `key`: from the cache, or trained (once, across processes) and stored."""
        if self.root is None:
            return train()
        found = self.load(key)
        if found is not None:
            return found
        with atomic.exclusive_lock(self.root / key[:2] / f"{key}.lock"):
            found = self.load(key)  # another process may have trained it while we waited
            if found is not None:
                return found
            result = train()
            self.store(result)
        return result
