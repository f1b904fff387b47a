"""The same runs trained four ways, timed, and checked bit for bit against each other.

1. in this process, side by side (the runner's default on TensorFlow: 2 at a time);
2. on a local Ray with 1 worker (a task asks for the CPUs its threads use, so a Ray
   offering that many CPUs trains one run at a time);
3. on a local Ray with 2 workers (it offers twice as many CPUs: two runs at once);
4. under pytest-xdist (`pytest --optcheck -n 2` on a suite of these optimizers), where
   each worker's runs use half the cores' threads: other numbers, by design.

Prints each way's wall time, the seconds per run, the overhead of a Ray task against a
run trained in this process one at a time, and whether every run is bit-identical to
the in-process one (`first_difference`). No cache: every way trains every run. A
benchmark, not a test: times depend on the machine and on what else runs on it.

    .venv/bin/python bench/cluster_speed.py --optimizers momentum adam --seeds 3 --epochs 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_optcheck.engine.result import RunResult, first_difference
from pytest_optcheck.environment import environment
from pytest_optcheck.runs.runner import Runner
from pytest_optcheck.spec.suite import load_suite, replace_profile


def in_process(suite, profile, wanted, at_once: int) -> tuple[float, list[RunResult]]:
    runner = Runner(None, at_once=at_once)  # each way starts cold: a runner's engine keeps nothing yet
    runner.dataset_for(suite)
    start = time.perf_counter()
    runs = runner.run_many(suite, profile, wanted)
    return time.perf_counter() - start, runs


def on_ray(suite, profile, wanted, workers: int) -> tuple[float, list[RunResult]]:
    from pytest_optcheck.runs.cluster import RemoteTrainer, connect, disconnect

    threads = int(environment()["threads"])
    cluster = connect("local", Path.cwd(), None, local_cpus=threads * workers)
    try:
        runner = Runner(None, remote=RemoteTrainer(cluster))
        runner.dataset_for(suite)
        start = time.perf_counter()
        runs = runner.run_many(suite, profile, wanted)
        return time.perf_counter() - start, runs
    finally:
        disconnect()


def under_xdist(args, wanted) -> tuple[float, list[RunResult]]:
    """pytest --optcheck -n 2 on the suite cut to these optimizers and seeds; its runs read from its cache."""
    folder = Path(tempfile.mkdtemp(prefix="optcheck-xdist-"))
    text = Path(args.suite).read_text()
    (folder / "suites").mkdir()
    (folder / "suites" / Path(args.suite).name).write_text(text)
    cache = folder / "runs"
    command = [sys.executable, "-m", "pytest", "--optcheck", "-n", "2", "-p", "no:randomly", "-q",
               "--optcheck-profile", args.profile, "--optcheck-cache", str(cache), "-k",
               " or ".join(f"curve[{name}]" for name in args.optimizers), "suites"]
    if args.epochs:
        sys.exit("cluster_speed.py: --epochs is not passed to pytest-xdist; use a profile of that many epochs")
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    found = {(r.optimizer, r.seed): r for r in (RunResult.from_json(json.loads(p.read_text()))
                                                 for p in cache.rglob("*.json"))}
    return seconds, [found.get((name, seed)) for name, seed, _ in wanted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="suites/article.toml")
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--epochs", type=int, help="override the profile's epochs (not with pytest-xdist)")
    parser.add_argument("--optimizers", nargs="+", default=["momentum", "adam"])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per optimizer, from the profile's first")
    parser.add_argument("--no-xdist", action="store_true", help="leave out the pytest-xdist way")
    args = parser.parse_args()
    suite = load_suite(args.suite)
    profile = replace_profile(suite.profile(args.profile), epochs=args.epochs)
    seeds = list(profile.seeds)[: args.seeds]
    wanted = [(name, seed, None) for name in args.optimizers for seed in seeds]
    n = len(wanted)
    print(f"{n} runs ({', '.join(args.optimizers)} x seeds {seeds[0]}-{seeds[-1]}), profile {profile.name}: "
          f"{profile.epochs} epochs on {profile.train_samples or 'all'} images; {os.cpu_count()} cores, "
          f"{environment()['threads']} threads per run")
    alone_seconds, reference = in_process(suite, profile, wanted, 1)
    ways = [("in process, one at a time", alone_seconds, reference)]
    ways.append(("in process, 2 side by side", *in_process(suite, profile, wanted, 2)))
    ways.append(("local Ray, 1 worker", *on_ray(suite, profile, wanted, 1)))
    ways.append(("local Ray, 2 workers", *on_ray(suite, profile, wanted, 2)))
    if not args.no_xdist:
        ways.append(("pytest-xdist, 2 workers", *under_xdist(args, wanted)))
    print(f"\n| way | wall s | s per run | vs one at a time | curves |\n| --- | --- | --- | --- | --- |")
    differ = False
    for name, seconds, runs in ways:
        differences = [f"{w[0]} seed {w[1]}: {'missing' if r is None else first_difference(a, r)}"
                       for w, a, r in zip(wanted, reference, runs) if r is None or first_difference(a, r) is not None]
        differ |= bool(differences) and not name.startswith("pytest-xdist")
        verdict = "bit-identical" if not differences else f"{len(differences)} of {n} differ ({differences[0]})"
        print(f"| {name} | {seconds:.1f} | {seconds / n:.2f} | {seconds / alone_seconds:.2f} | {verdict} |")
    ray_one = next(seconds for name, seconds, _ in ways if name == "local Ray, 1 worker")
    print(f"\noverhead of a Ray task (fresh worker process, TensorFlow imported, data loaded) against a run "
          f"trained in this process one at a time: {(ray_one - alone_seconds) / n:.2f} s per run")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
