"""Wall time of a suite profile with and without pytest-xdist.

Runs, in fresh subprocesses and with the run cache off (so every run trains):

    pytest --optcheck --optcheck-profile smoke suites -k "not epoch_time" --optcheck-no-cache
    pytest ... -n N

and prints each wall time and their ratio. Epoch-time items are left out of
both: pytest-benchmark turns itself off under xdist, so they would not be the
same work.

    .venv/bin/python bench/xdist_speed.py --profile smoke --workers 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return seconds, tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    base = [sys.executable, "-m", "pytest", "--optcheck", "--optcheck-profile", args.profile, "suites",
            "-k", "not epoch_time", "--optcheck-no-cache", "-q", "-p", "no:randomly"]
    print(f"machine: {os.cpu_count()} cores; profile {args.profile}; run cache off")
    serial, serial_tail = timed(base)
    print(f"without xdist:        {serial:7.1f} s   ({serial_tail})")
    parallel, parallel_tail = timed(base + ["-n", str(args.workers)])
    print(f"with -n {args.workers} ({max(1, (os.cpu_count() or 1) // args.workers)} thread(s) each): "
          f"{parallel:7.1f} s   ({parallel_tail})")
    print(f"ratio (xdist / serial): {parallel / serial:.2f}")


if __name__ == "__main__":
    main()
