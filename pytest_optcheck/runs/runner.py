"""Getting runs: the dataset loaded once, each run through the cache, memoized in process."""

from __future__ import annotations

import os
from pathlib import Path

from pytest_optcheck.engine.fashion_mnist import Dataset
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.engine.sources import load
from pytest_optcheck.environment import environment
from pytest_optcheck.runs.cache import RunCache
from pytest_optcheck.runs.key import canonical_json, run_key
from pytest_optcheck.runs.progress import Progress, RunLabel
from pytest_optcheck.spec.suite import DataSpec, Profile, Suite


class Runner:
    """Hands out runs for (suite, optimizer, seed, profile); trains only what is not cached."""

    def __init__(self, cache_root: Path | None, *, data_dir: str | os.PathLike | None = None,
                 allow_download: bool = False):
        self.cache = RunCache(cache_root)
        self.data_dir = data_dir
        self.allow_download = allow_download
        self._datasets: dict[str, Dataset] = {}  # per data spec (several suites may share one)
        self._runs: dict[str, RunResult] = {}
        self._checked: set[tuple[Path, str]] = set()  # (suite file, optimizer) resolved and constructed
        self.progress: Progress | None = None  # told about every run that trains
        # TensorFlow's C++ log lines go here (beside the cached runs), not to the terminal.
        self.native_log = None if cache_root is None else Path(cache_root).parent / "tensorflow.log"

    @property
    def dataset(self) -> Dataset:
        """Fashion-MNIST, the default data (the `optcheck_dataset` fixture)."""
        return self.dataset_for(None)

    def dataset_for(self, suite: Suite | None) -> Dataset:
        """The data a suite names in `[data]`, loaded once per session."""
        spec = suite.data if suite is not None else DataSpec()
        memo = canonical_json({"source": spec.source, "kwargs": spec.kwargs, "dir": str(spec.dir)})
        if memo not in self._datasets:
            self._datasets[memo] = load(spec.source, spec.kwargs, where=str(suite.path) if suite else "",
                                        folder=spec.dir, data_dir=self.data_dir, allow_download=self.allow_download)
        return self._datasets[memo]

    def data_identity(self, suite: Suite) -> dict[str, str]:
        """The suite's data as a baseline records it: its source and content checksum."""
        return {"source": suite.data.source, "checksum": self.dataset_for(suite).checksum}

    def key(self, suite: Suite, optimizer: str, seed: int, profile: Profile, nudge: int | None = None) -> str:
        from pytest_optcheck.engine.runtime import native_log

        # The key hashes the project's own code, importing it: a module that imports Keras
        # starts TensorFlow here, and its C++ start-up lines go to the log too.
        with native_log(self.native_log):
            return run_key(suite, optimizer, seed, profile, self.dataset_for(suite).checksum, environment(), nudge)

    def run(self, suite: Suite, optimizer: str, seed: int, profile: Profile, *, nudge: int | None = None) -> RunResult:
        """The run; with `nudge`, the same run with its initial weights moved one ulp (see nudge.py)."""
        key = self.key(suite, optimizer, seed, profile, nudge)
        if key not in self._runs:
            self._runs[key] = self.cache.get(key, lambda: self._train(suite, optimizer, seed, profile, key, nudge))
        return self._runs[key]

    def is_cached(self, suite: Suite, optimizer: str, seed: int, profile: Profile, nudge: int | None = None) -> bool:
        key = self.key(suite, optimizer, seed, profile, nudge)
        return key in self._runs or self.cache.load(key) is not None

    def _train(self, suite: Suite, optimizer: str, seed: int, profile: Profile, key: str,
               nudge: int | None) -> RunResult:
        from pytest_optcheck.engine.names import check_before_training
        from pytest_optcheck.engine.runtime import native_log
        from pytest_optcheck.engine.training import (
            train,  # imports TensorFlow: only when something trains
        )

        progress = self.progress
        with native_log(self.native_log):
            if (suite.path, optimizer) not in self._checked:
                # An unknown class or a refused argument is reported before anything trains, and
                # fails only the items of that optimizer. A fully cached session never needs
                # Keras, so it never pays for importing it.
                check_before_training(suite, optimizer)
                self._checked.add((suite.path, optimizer))
            if progress is not None:
                progress.run_started(RunLabel(suite.name, profile.name, optimizer, seed, nudge), profile.epochs)
            result = train(suite, optimizer, seed, profile, self.dataset_for(suite), key=key, nudge=nudge,
                           on_epoch=None if progress is None else progress.epoch_done)
        if progress is not None:
            progress.run_finished()
        return result
