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
    adam = RunLabel("article", "smoke", "adam", 1)
    progress.run_started(adam, epochs=4)
    clock.now = 10.0
    progress.epoch_done(adam, 1)  # 10 s an epoch: 30 s left here, then 2 runs of 40 s
    assert shown[-1] == ("optcheck: training article/smoke adam seed 1: epoch 1/4; run 1 of ~3, "
                         "about 1 min 50 s left", False)
    clock.now = 40.0
    progress.run_finished(adam)
    assert shown[-1] == ("optcheck: trained article/smoke adam seed 1 (4 epochs, 40 s); 1 of ~3 runs, "
                         "about 1 min 20 s left", True)


def test_runs_trained_on_a_cluster_are_counted_as_they_come_back_and_the_lines_say_where():
    clock, shown = FakeClock(), []
    progress = Progress(lambda text, final: shown.append((text, final)), clock=clock, at_once=2,
                        where="2 Ray workers at local")
    progress.plan("article", "ci", 4, 3)
    progress.run_trained_elsewhere(RunLabel("article", "ci", "adam", 0), 3, 12.0)
    progress.run_trained_elsewhere(RunLabel("article", "ci", "adam", 1), 3, 8.0)
    # 2 runs left at the 10 s mean, 2 at once: about 10 s.
    assert shown[-1] == ("optcheck: trained article/ci adam seed 1 (3 epochs, 8 s); 2 of ~4 runs, "
                         "2 Ray workers at local, about 10 s left", True)
    assert progress.finished == 2 and not progress.running


def test_a_run_beyond_the_plan_raises_the_plan():
    progress = Progress(lambda text, final: None, clock=FakeClock())
    progress.run_started(RunLabel("s", "p", "sgd", 0, nudge=2), epochs=1)
    assert progress.planned == 1 and [str(r) for r in progress.running] == ["s/p sgd seed 0, nudge 2"]


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
    for seed in (0, 1, 2):
        if seed == 2:
            progress.plan("s", "p", 4, 1)  # a claim is undecided on 2 seeds and adds 2 seeds of 2 optimizers
        progress.run_started(RunLabel("s", "p", "adam", seed), 1)
        progress.run_finished(RunLabel("s", "p", "adam", seed))
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
        progress.run_finished(RunLabel("quadratic", "article", "sgd", seed))
    # Not started: the article's 3 runs of 20 epochs at the 0.075 s per epoch seen so far.
    assert lines[-1].endswith("2 of ~5 runs, about 4 s left")
    adam = RunLabel("article", "article", "adam", 0)
    progress.run_started(adam, 20)
    clock.now += 22.0
    progress.run_finished(adam)
    assert lines[-1].endswith("3 of ~5 runs, about 44 s left")  # 2 more article runs of 22 s, not of 9 s


def test_a_run_that_stops_early_is_priced_by_the_epochs_it_trained():
    clock, lines = FakeClock(), []
    progress = Progress(lambda text, final: lines.append(text) if final else None, clock=clock)
    progress.plan("a", "p", 1, 10)
    progress.plan("b", "p", 1, 10)
    sgd = RunLabel("a", "p", "sgd", 0)
    progress.run_started(sgd, 10)
    clock.now = 2.0
    progress.epoch_done(sgd, 1)
    clock.now = 4.0
    progress.epoch_done(sgd, 2)  # diverged here: 2 s an epoch, not 0.4
    progress.run_finished(sgd)
    assert lines[-1].endswith("1 of ~2 runs, about 20 s left")


def test_runs_side_by_side_each_report_and_the_time_left_counts_them_going_on_at_once():
    clock, shown = FakeClock(), []
    progress = Progress(lambda text, final: shown.append(text), clock=clock, at_once=2)
    progress.plan("s", "p", 6, 2)
    first, second = RunLabel("s", "p", "adam", 0), RunLabel("s", "p", "adam", 1)
    progress.run_started(first, 2)
    progress.run_started(second, 2)
    clock.now = 10.0
    progress.epoch_done(second, 1)  # 20 s a run: 10 s left of both, then 4 runs two at a time
    assert shown[-1] == "optcheck: training s/p adam seed 1: epoch 1/2; runs 1-2 of ~6, about 50 s left"
    clock.now = 20.0
    progress.run_finished(first)
    assert progress.running == [second]
    assert shown[-1] == "optcheck: trained s/p adam seed 0 (2 epochs, 20 s); 1 of ~6 runs, about 40 s left"


def test_native_log_blocks_opened_in_threads_restore_stderr_once(tmp_path, capfd):
    """Runs side by side each open a block; stderr comes back when the last one closes."""
    import threading

    log = tmp_path / "tensorflow.log"
    inner_open, outer_closed = threading.Event(), threading.Event()

    def inner():
        with native_log(log):
            inner_open.set()
            outer_closed.wait(5)
            os.write(2, b"from the second run\n")

    with native_log(log):
        worker = threading.Thread(target=inner)
        worker.start()
        inner_open.wait(5)
    outer_closed.set()
    worker.join()
    os.write(2, b"after\n")
    assert log.read_text() == "from the second run\n"
    assert capfd.readouterr().err == "after\n"
