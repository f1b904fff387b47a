"""Getting runs: the dataset loaded once, each run through the cache, memoized in process.

Runs asked for together (`run_many`) train side by side in threads where that pays:
on TensorFlow, one run keeps about one of a machine's cores busy with its small
matrix products, so two runs at once finish sooner than one after the other, each
with the numbers it has alone (the engine's `SeedingTurn`, tested bit for bit).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_optcheck.engine.dataset import Dataset
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.engine.sources import load
from pytest_optcheck.environment import STAND_IN_VARIABLE, environment, keras_backend, stand_in_training
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.runs.cache import RunCache, is_url
from pytest_optcheck.runs.key import canonical_json, run_key
from pytest_optcheck.runs.progress import Progress, RunLabel
from pytest_optcheck.spec.suite import DataSpec, Profile, Suite

if TYPE_CHECKING:
    from pytest_optcheck.engine.standin import StandInEngine
    from pytest_optcheck.engine.training import Engine
    from pytest_optcheck.runs.cluster import RemoteTrainer

# Runs a TensorFlow process trains side by side unless told otherwise: on 2 cores, two
# at once took 0.7 of the time of one after the other (docs/explanation/runs.md).
SIDE_BY_SIDE = 2

# A run asked for: (optimizer, seed, nudge); nudge None for the run itself.
Wanted = tuple[str, int, int | None]
# A run of any suite asked for: (suite, optimizer, seed, nudge). Runs of several suites
# (a tuned profile's grid points, each a suite at other rates) train together this way.
Asked = tuple[Suite, str, int, int | None]


def runs_at_once(requested: int | None = None) -> int:
    """How many runs this process trains side by side: `requested`, else SIDE_BY_SIDE.

    One on JAX, whose runs draw each epoch's order from NumPy's global generator and
    so take turns whole (and whose XLA kernels use every core already), and one by
    default in a pytest-xdist worker, where the workers share the cores already.
    """
    if keras_backend() != "tensorflow":
        return 1
    if requested is not None:
        return requested
    return 1 if os.environ.get("PYTEST_XDIST_WORKER") else SIDE_BY_SIDE


class Runner:
    """Hands out runs for (suite, optimizer, seed, profile); trains only what is not cached."""

    def __init__(self, cache_root: Path | str | None, *, data_dir: str | os.PathLike | None = None,
                 allow_download: bool = False, at_once: int | None = 1, remote: RemoteTrainer | None = None,
                 engine: Engine | StandInEngine | None = None, share_engine: bool = False):
        """`at_once`: runs `run_many` trains side by side, as asked of `runs_at_once` (None: its
        default), decided when first needed: the session has chosen its backend by then.
        `remote`: a Ray cluster that trains every run not cached, instead of this process.
        `engine`: what trains runs in this process (default: an engine of its own, made when first needed;
        with `share_engine`, the process's engine, whose compiled models every such runner reuses)."""
        self.cache = RunCache(cache_root)
        self.remote = remote
        self._engine = engine
        self._share_engine = share_engine
        self.trained_on_cluster = 0  # runs the Ray cluster trained for this session
        self._asked_at_once = at_once
        self._at_once: int | None = None
        self.data_dir = data_dir
        self.allow_download = allow_download
        self._datasets: dict[str, Dataset] = {}  # per data spec (several suites may share one)
        self._runs: dict[str, RunResult] = {}
        self._failed: dict[str, Exception] = {}  # runs that raised, by key: raised again, not retrained
        self._checked: set[tuple[Path, str]] = set()  # (suite file, optimizer) resolved and constructed
        self._check_lock = threading.Lock()
        self.progress: Progress | None = None  # told about every run that trains
        # TensorFlow's C++ log lines go here (beside the cached runs), not to the terminal.
        self.native_log = None if cache_root is None or is_url(cache_root) else Path(cache_root).parent / "tensorflow.log"

    @property
    def at_once(self) -> int:
        """Runs `run_many` trains side by side."""
        if self._at_once is None:
            self._at_once = runs_at_once(self._asked_at_once)
        return self._at_once

    @property
    def engine(self) -> Engine | StandInEngine:
        """The runner's engine (Keras's, or the stand-in's): what it keeps between runs, the halt of its runs."""
        if self._engine is None:
            from pytest_optcheck.engine.training import new_engine, process_engine

            self._engine = process_engine() if self._share_engine else new_engine()
        return self._engine

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
            return run_key(suite, optimizer, seed, profile, self.dataset_for(suite).checksum, self.environment, nudge)

    @property
    def environment(self) -> dict[str, str]:
        """The environment runs train in: this process's, or the Ray cluster's nodes'."""
        return environment() if self.remote is None else self.remote.environment

    def run(self, suite: Suite, optimizer: str, seed: int, profile: Profile, *, nudge: int | None = None) -> RunResult:
        """The run; with `nudge`, the same run with its initial weights moved one ulp (see nudge.py).

        A run that failed raises the same error when asked for again in this session,
        without training a second time (runs are deterministic; a halted one is not kept).
        """
        key = self.key(suite, optimizer, seed, profile, nudge)
        if key in self._failed:
            raise self._failed[key]
        if key not in self._runs:
            try:
                self._runs[key] = self.cache.get(key, lambda: self._train(suite, optimizer, seed, profile, key, nudge))
            except Exception as exc:
                from pytest_optcheck.engine.training import Halted

                if not isinstance(exc, Halted):
                    self._failed[key] = exc
                raise
        return self._runs[key]

    def run_many(self, suite: Suite, profile: Profile, wanted: Iterable[Wanted]) -> list[RunResult]:
        """The runs (optimizer, seed, nudge), in order; those not cached train `at_once` at a time.

        A run that fails raises here, the first in `wanted`'s order, once every other has finished.
        """
        return self.run_asked(profile, [(suite, name, seed, nudge) for name, seed, nudge in wanted])

    def run_asked(self, profile: Profile, asked: Iterable[Asked]) -> list[RunResult]:
        """`run_many` for runs of several suites at once (the same profile): all that are not cached
        train together, side by side or as Ray tasks, so that none waits for another suite's."""
        asked = list(asked)
        unique = {self.key(s, name, seed, profile, nudge): (s, name, seed, nudge) for s, name, seed, nudge in asked}
        to_train = [a for key, a in unique.items() if self._will_train(key)]
        if self.remote is not None and to_train:
            self._on_cluster(profile, to_train)
        elif self.at_once > 1 and len(to_train) > 1:
            self._side_by_side(profile, to_train)
        return [self.run(s, name, seed, profile, nudge=nudge) for s, name, seed, nudge in asked]

    def _side_by_side(self, profile: Profile, to_train: list[Asked]) -> None:
        """Train these runs in `at_once` threads; a failure is kept for `run` to raise in order."""
        from pytest_optcheck.engine.runtime import keras_runtime, native_log

        for suite, *_ in to_train:
            self.dataset_for(suite)  # loaded once, before the threads ask for it
        engine = self.engine  # made once, before the threads ask for it
        with native_log(self.native_log):
            keras_runtime()  # the backend starts, and is configured, once
            try:
                with ThreadPoolExecutor(self.at_once, thread_name_prefix="optcheck-run") as pool:
                    futures = [pool.submit(self.run, suite, name, seed, profile, nudge=nudge)
                               for suite, name, seed, nudge in to_train]
                    try:
                        for future in futures:
                            future.exception()  # waits; what went wrong is raised again, in order, by `run`
                    except BaseException:  # Ctrl-C: the threads stop at their next epoch, caching nothing
                        engine.halt_runs()
                        for future in futures:
                            future.cancel()
                        raise
            finally:
                engine.halt_runs(False)

    def _on_cluster(self, profile: Profile, to_train: list[Asked]) -> None:
        """Train these runs as Ray tasks; each is cached as it comes back, a failure kept for `run` to raise."""
        from pytest_optcheck.runs.cluster import RemoteRun

        assert self.remote is not None
        runs = [RemoteRun(suite, name, seed, profile, nudge, self.key(suite, name, seed, profile, nudge),
                          self.dataset_for(suite).checksum) for suite, name, seed, nudge in to_train]
        progress = self.progress

        def label(run: RemoteRun) -> RunLabel:
            return RunLabel(run.suite.name, profile.name, run.optimizer, run.seed, run.nudge)

        def finished(run: RemoteRun, result: RunResult | Exception, seconds: float) -> None:
            if isinstance(result, Exception):
                self._failed[run.key] = result
                return
            self.cache.store(result)
            self._runs[run.key] = result
            self.trained_on_cluster += 1
            if progress is not None:
                progress.run_trained_elsewhere(label(run), profile.epochs, seconds)

        self.remote.train(runs, finished=finished)

    def is_cached(self, suite: Suite, optimizer: str, seed: int, profile: Profile, nudge: int | None = None) -> bool:
        return self._cached(self.key(suite, optimizer, seed, profile, nudge))

    def will_train(self, suite: Suite, optimizer: str, seed: int, profile: Profile,
                   nudge: int | None = None) -> bool:
        """Whether asking for the run trains it: not cached, and not failed already in this session."""
        return self._will_train(self.key(suite, optimizer, seed, profile, nudge))

    def _will_train(self, key: str) -> bool:
        return key not in self._failed and not self._cached(key)

    def _cached(self, key: str) -> bool:
        return key in self._runs or self.cache.load(key) is not None

    def reference(self, suite: Suite, optimizer: str, seed: int, profile: Profile) -> RunResult:
        """The run trained the plain way: a fresh model and Keras's own `fit` one step per call, never cached.

        What the engine's runs must be bit-identical to; `optcheck run --reference` compares them.
        Call it while no other run trains: it ends by clearing Keras's session.
        """
        from pytest_optcheck.engine.training import Engine

        if stand_in_training():
            raise OptcheckError(f"{STAND_IN_VARIABLE}=1: runs come from the training stand-in, which the plain "
                                f"Keras way cannot reproduce; unset {STAND_IN_VARIABLE} to compare with it")
        key = self.key(suite, optimizer, seed, profile)
        plain = Engine(reference=True, steps_per_execution=1)
        return self._train(suite, optimizer, seed, profile, key, None, plain)

    def _train(self, suite: Suite, optimizer: str, seed: int, profile: Profile, key: str,
               nudge: int | None, engine: Engine | StandInEngine | None = None) -> RunResult:
        """Train the run on `engine` (default: the runner's; training imports TensorFlow, only when something trains)."""
        from pytest_optcheck.engine.names import check_before_training
        from pytest_optcheck.engine.runtime import native_log

        if self.remote is not None and engine is None:  # one run asked for alone: a task of its own
            self._on_cluster(profile, [(suite, optimizer, seed, nudge)])
            if key in self._failed:
                raise self._failed.pop(key)
            return self._runs[key]
        progress = self.progress
        with native_log(self.native_log):
            with self._check_lock:
                if (suite.path, optimizer) not in self._checked:
                    # An unknown class or a refused argument is reported before anything trains, and
                    # fails only the items of that optimizer. A fully cached session never needs
                    # Keras, so it never pays for importing it.
                    check_before_training(suite, optimizer)
                    self._checked.add((suite.path, optimizer))
            label = RunLabel(suite.name, profile.name, optimizer, seed, nudge)
            if progress is not None:
                progress.run_started(label, profile.epochs)
            try:
                result = (engine if engine is not None else self.engine).train(
                    suite, optimizer, seed, profile, self.dataset_for(suite), key=key, nudge=nudge,
                    on_epoch=None if progress is None else lambda epoch: progress.epoch_done(label, epoch))
            except BaseException:
                if progress is not None:
                    progress.run_stopped(label)
                raise
        if progress is not None:
            progress.run_finished(label)
        return result
