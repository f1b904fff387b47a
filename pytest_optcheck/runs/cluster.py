"""Runs trained on a Ray cluster: one Ray task per run, each in a fresh worker process.

pytest stays the driver: it plans the runs, looks them up in the cache, and sends only
the missing ones out; a task trains one run from the suite as the driver resolved it
(a tuned rate already in its kwargs) and returns the run's record, never a Keras
object. Verdicts, baselines and the cache never leave the driver.

A run's numbers depend on the versions, the CPU and the threads its kernels use, so
the cluster is asked first what environment its nodes train in. Runs are keyed by that
environment, not the driver's, and a task that comes back from another environment
fails its run instead of being cached under the wrong key. A node whose environment
differs from the first node's trains nothing (it is named in the session's warning).

Each task runs in a worker process of its own (`max_calls=1`): TensorFlow's and Keras's
process-wide state (compiled functions, the global generator) cannot leak from one run
into the next, so a run trained on Ray is bit-identical to the same run trained alone
in a fresh process (tests/test_cluster.py checks it with `first_difference`).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.environment import keras_backend
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.spec.suite import Profile, Suite

INSTALL = "pip install 'pytest-optcheck[ray]'"
# A task whose worker died (a killed process, a lost node) is run again this many times.
RETRIES = 1
# Environment variables a worker needs to train as the driver would.
PASSED_ON = ("KERAS_BACKEND", "TF_ENABLE_ONEDNN_OPTS", "OPTCHECK_DATA_DIR", "CUDA_VISIBLE_DEVICES", "OPTCHECK_STAND_IN")


@dataclass(frozen=True)
class RemoteRun:
    """A run to train on the cluster: what the driver resolved, and the key it will be cached under."""

    suite: Suite
    optimizer: str
    seed: int
    profile: Profile
    nudge: int | None
    key: str
    data_checksum: str  # the driver's data: a worker that loads other data fails the run


@dataclass
class Node:
    """A node of the cluster, and the environment its workers train in."""

    node_id: str
    address: str
    environment: dict[str, str]


@dataclass
class Cluster:
    """A connection to a Ray cluster and the nodes that train this session's runs."""

    address: str
    nodes: list[Node]
    excluded: list[Node] = field(default_factory=list)  # nodes whose environment differs from the first's
    cpus_per_run: float = 1.0

    @property
    def environment(self) -> dict[str, str]:
        return self.nodes[0].environment

    @property
    def workers(self) -> int:
        """Runs the training nodes take at once."""
        import ray

        total = {n["NodeID"]: n.get("Resources", {}).get("CPU", 0) for n in ray.nodes() if n.get("Alive")}
        return max(1, int(sum(total.get(n.node_id, 0) for n in self.nodes) // self.cpus_per_run))

    def describe(self) -> str:
        return f"{self.workers} Ray worker{'s' if self.workers != 1 else ''} at {self.address}"


def _ray():
    try:
        import ray
    except ImportError:
        raise OptcheckError(f"--optcheck-ray needs Ray, which is not installed: {INSTALL}") from None
    return ray


def connect(address: str, project_root: Path, data_dir: str | None, *, local_cpus: int | None = None) -> Cluster:
    """Join (or, for `local`, start) the cluster, and ask each node what environment it trains in.

    `local_cpus`: the CPUs a `local` Ray offers (default: this machine's), for benchmarks.

    Raises OptcheckError with one line naming the address when it cannot be reached.
    """
    ray = _ray()
    env_vars = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    env_vars.setdefault("KERAS_BACKEND", keras_backend())
    env_vars["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if data_dir:
        env_vars["OPTCHECK_DATA_DIR"] = str(Path(data_dir).resolve())
    # The project's own modules (optimizers, models, data) import in the workers as in pytest.
    env_vars["PYTHONPATH"] = os.pathsep.join([str(project_root.resolve()), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    runtime_env = {"env_vars": env_vars}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ray's own warning of a timed-out address: the error below says it
        try:
            if address == "local":
                ray.init(runtime_env=runtime_env, include_dashboard=False, log_to_driver=False,
                         logging_level="ERROR", configure_logging=True, num_cpus=local_cpus)
            else:
                ray.init(address=address, runtime_env=runtime_env, log_to_driver=False, logging_level="ERROR")
        except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; each means the same to the user
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise OptcheckError(
                f"--optcheck-ray {address}: cannot reach a Ray cluster there ({reason}); start one with "
                "`ray start --head` and pass auto, give its ray://HOST:10001 address, or use local") from None
    nodes, excluded = _split_by_environment(_probe_nodes(ray))
    # A task asks for the CPUs its kernels' threads use, so that runs on one node do not share cores.
    return Cluster(address, nodes, excluded, cpus_per_run=float(nodes[0].environment.get("threads", 1)))


def disconnect() -> None:
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()


def _probe_nodes(ray) -> list[Node]:
    """The environment of a worker on each alive node (one small task pinned to each)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    alive = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
    refs = [_environment_task(ray).options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
            .remote() for n in alive]
    return [Node(n["NodeID"], n.get("NodeManagerAddress", "?"), env) for n, env in zip(alive, ray.get(refs))]


def _split_by_environment(nodes: list[Node]) -> tuple[list[Node], list[Node]]:
    """The nodes that train (those in the first node's environment) and the others."""
    if not nodes:
        raise OptcheckError("--optcheck-ray: the cluster has no node with a CPU to train on")
    first = nodes[0].environment
    return [n for n in nodes if n.environment == first], [n for n in nodes if n.environment != first]


def _environment_task(ray):
    return ray.remote(num_cpus=0, max_calls=1)(_worker_environment)


def _worker_environment() -> dict[str, str]:
    from pytest_optcheck.environment import environment

    return dict(environment())


def _train_task(run: RemoteRun, allow_download: bool) -> tuple[dict[str, Any], str, float]:
    """In a Ray worker: train one run; return its record, the node it trained on and the seconds it took."""
    import ray

    start = time.monotonic()

    from pytest_optcheck.engine.names import check_before_training
    from pytest_optcheck.engine.sources import load
    from pytest_optcheck.engine.training import new_engine

    spec = run.suite.data
    dataset = load(spec.source, spec.kwargs, where=str(run.suite.path), folder=spec.dir,
                   data_dir=os.environ.get("OPTCHECK_DATA_DIR"), allow_download=allow_download)
    node = ray.get_runtime_context().get_node_id()
    if dataset.checksum != run.data_checksum:
        raise OptcheckError(f"the data on Ray node {node} differs from the driver's ({dataset.origin}); "
                            "give every node the same files")
    check_before_training(run.suite, run.optimizer)
    # The worker process trains this one run (max_calls=1): an engine of its own.
    result = new_engine().train(run.suite, run.optimizer, run.seed, run.profile, dataset, key=run.key, nudge=run.nudge)
    return result.to_json(), node, time.monotonic() - start


class RemoteTrainer:
    """Sends runs to the cluster and gathers them as they finish."""

    def __init__(self, cluster: Cluster, allow_download: bool = False):
        self.cluster = cluster
        self.allow_download = allow_download

    @property
    def environment(self) -> dict[str, str]:
        return self.cluster.environment

    def train(self, runs: list[RemoteRun], *,
              finished: Callable[[RemoteRun, RunResult | Exception, float], None]) -> None:
        """Train every run as a task of its own; `finished(run, result or error, seconds in its worker)`
        as each comes back.

        Ctrl-C cancels the tasks still pending or training, and nothing of theirs is kept.
        """
        ray = _ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        task = ray.remote(num_cpus=self.cluster.cpus_per_run, max_calls=1, max_retries=RETRIES)(_train_task)
        pending: dict[Any, RemoteRun] = {}
        for index, run in enumerate(runs):
            options: dict[str, Any] = {}
            if self.cluster.excluded:  # a mixed cluster: only nodes of the chosen environment train
                node = self.cluster.nodes[index % len(self.cluster.nodes)]
                options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node.node_id, soft=False)
            pending[task.options(**options).remote(run, self.allow_download)] = run
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                run = pending.pop(done[0])
                finished(run, *self._result(ray, done[0], run))
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise

    def _result(self, ray, ref, run: RemoteRun) -> tuple[RunResult | Exception, float]:
        """The run's record (or why it failed) and the seconds its worker took, start-up included."""
        label = f"{run.optimizer} seed {run.seed}" + (f" nudge {run.nudge}" if run.nudge is not None else "")
        try:
            record, node, seconds = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - reported as the run's failure, in one line
            cause = getattr(exc, "cause", None) or exc
            if isinstance(cause, OptcheckError):
                return cause, 0.0
            reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
            return OptcheckError(f"run {label} failed on the Ray cluster {self.cluster.address} "
                                 f"after {RETRIES + 1} attempt(s): {reason}"), 0.0
        result = RunResult.from_json(record)
        result.key = run.key
        if result.environment != self.environment:
            return OptcheckError(f"run {label} came back from Ray node {node} trained in another environment "
                                 f"than the cluster's first node; it is not cached"), seconds
        return result, seconds
