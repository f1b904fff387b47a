"""Training progress: the estimate, the lines, and where TensorFlow's C++ log lines go."""

from __future__ import annotations

import os

from pytest_optcheck.runs.progress import Progress, RunLabel, duration
from pytest_optcheck.engine.runtime import native_log


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_lines_say_what_trains_and_estimate_the_time_left():
    clock, shown = FakeClock(), []
    progress = Progress(lambda text, final: shown.append((text, final)), clock=clock)
    progress.plan("article", "smoke", 3, 4)
    progress.run_started(RunLabel("article", "smoke", "adam", 1), epochs=4)
    clock.now = 10.0
    progress.epoch_done(1)  # 10 s an epoch: 30 s left here, then 2 runs of 40 s
    assert shown[-1] == ("optcheck: training article/smoke adam seed 1: epoch 1/4; run 1 of ~3, "
                         "about 1 min 50 s left", False)
    clock.now = 40.0
    progress.run_finished()
    assert shown[-1] == ("optcheck: trained article/smoke adam seed 1 (4 epochs, 40 s); 1 of ~3 runs, "
                         "about 1 min 20 s left", True)


def test_a_run_beyond_the_plan_raises_the_plan():
    progress = Progress(lambda text, final: None, clock=FakeClock())
    progress.run_started(RunLabel("s", "p", "sgd", 0, nudge=2), epochs=1)
    assert progress.planned == 1 and str(progress.label) == "s/p sgd seed 0, nudge 2"


def test_durations_read_naturally():
    assert duration(5.4) == "5 s" and duration(65) == "1 min 05 s" and duration(-3) == "0 s"


def test_native_stderr_goes_to_the_log_and_comes_back(tmp_path, capfd):
    log = tmp_path / "deep" / "tensorflow.log"
    with native_log(log):
        os.write(2, b"E0000 cuInit failed\n")
    os.write(2, b"after\n")
    assert log.read_text() == "E0000 cuInit failed\n"
    assert capfd.readouterr().err == "after\n"


def test_without_a_log_native_stderr_is_dropped(capfd):
    with native_log(None):
        os.write(2, b"noise\n")
    assert capfd.readouterr().err == ""


def test_the_total_grows_when_a_claim_adds_seeds_not_one_run_at_a_time():
    lines = []
    clock = iter(range(0, 1000, 10))
    progress = Progress(lambda text, final: lines.append(text) if final else None, clock=lambda: next(clock))
    progress.plan("s", "p", 2, 1)
    for seed in (0, 1):
        progress.run_started(RunLabel("s", "p", "adam", seed), 1)
        progress.run_finished()
    progress.plan("s", "p", 4, 1)  # a claim is undecided on 2 seeds and adds 2 seeds of 2 optimizers
    progress.run_started(RunLabel("s", "p", "adam", 2), 1)
    progress.run_finished()
    assert lines[-1].endswith("3 of ~6 runs, about 30 s left")


def test_the_time_left_prices_each_suite_by_its_own_runs():
    """Cheap runs of one suite do not make the dear runs of the next look cheap."""
    clock, lines = FakeClock(), []
    progress = Progress(lambda text, final: lines.append(text) if final else None, clock=clock)
    progress.plan("quadratic", "article", 2, 40)
    progress.plan("article", "article", 3, 20)
    for seed in (0, 1):  # 3 s each, 40 epochs
        progress.run_started(RunLabel("quadratic", "article", "sgd", seed), 40)
        clock.now += 3.0
        progress.run_finished()
    # Not started: the article's 3 runs of 20 epochs at the 0.075 s per epoch seen so far.
    assert lines[-1].endswith("2 of ~5 runs, about 4 s left")
    progress.run_started(RunLabel("article", "article", "adam", 0), 20)
    clock.now += 22.0
    progress.run_finished()
    assert lines[-1].endswith("3 of ~5 runs, about 44 s left")  # 2 more article runs of 22 s, not of 9 s


def test_a_run_that_stops_early_is_priced_by_the_epochs_it_trained():
    clock, lines = FakeClock(), []
    progress = Progress(lambda text, final: lines.append(text) if final else None, clock=clock)
    progress.plan("a", "p", 1, 10)
    progress.plan("b", "p", 1, 10)
    progress.run_started(RunLabel("a", "p", "sgd", 0), 10)
    clock.now = 2.0
    progress.epoch_done(1)
    clock.now = 4.0
    progress.epoch_done(2)  # diverged here: 2 s an epoch, not 0.4
    progress.run_finished()
    assert lines[-1].endswith("1 of ~2 runs, about 20 s left")
