"""The plugin from the outside, through pytester: collection, baselines, refresh, claims."""

import json
import shlex
import sys

import pytest

from conftest import TINY_SUITE, baseline, has_lines


def test_without_the_flag_items_are_skipped_naming_it(project):
    result = project.run_optcheck(optcheck=False, benchmarks=True)
    result.assert_outcomes(skipped=5)
    has_lines(result, "pass --optcheck to run them")
    assert not (project.path / "baselines").exists()


def test_without_the_flag_the_summary_says_why_even_when_pytest_hides_skip_reasons(project):
    result = project.runpytest("-p", "no:randomly")  # no -rs: pytest prints only "5 skipped"
    result.assert_outcomes(skipped=5)
    has_lines(result, "optcheck", "5 optcheck items skipped: they train and check only with --optcheck")
    assert result.stdout.str().count("optcheck items skipped") == 1  # said once, and nothing about imports:
    assert "ImportError" not in result.stdout.str() and "not installed" not in result.stdout.str()


def test_with_the_flag_but_no_suite_files_it_says_where_it_looked(pytester):
    """--optcheck in a project without suites names the folder it searched and the ini key, not an import hint."""
    pytester.makepyfile(test_other="def test_other():\n    pass\n")
    result = pytester.runpytest("--optcheck", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    has_lines(result, "optcheck", f"no suite files (*.toml) under {pytester.path / 'suites'}", "optcheck_suites = ")
    found = pytester.runpytest("--optcheck", "-p", "no:randomly", "--collect-only")
    assert "no suite files" in found.stdout.str()
    pytester.makefile(".toml", **{"suites/tiny": TINY_SUITE})
    assert "no suite files" not in pytester.runpytest("--optcheck", "--collect-only").stdout.str()


def test_items_have_readable_selectable_ids(project):
    result = project.runpytest("--collect-only", "-q")
    has_lines(result, "suites/tiny.toml::curve[sgd]", "suites/tiny.toml::curve[adam]", "suites/tiny.toml::claim[adam-beats-sgd]")
    selected = project.runpytest("--collect-only", "-q", "-k", "adam and curve")
    has_lines(selected, "suites/tiny.toml::curve[adam]", "1/5 tests collected")


def test_missing_baseline_fails_with_the_command_that_creates_it(project):
    result = project.run_optcheck()
    result.assert_outcomes(failed=2, passed=1)  # the claim holds: a missing record is named, not failed
    has_lines(result, "curve[sgd]: no baseline at baselines/tiny/small/sgd.json",
              "Create it with: pytest --optcheck --optcheck-backend tensorflow --optcheck-data-dir ",
              '--optcheck-update "suites/tiny.toml::curve[sgd]"', "1 claim without a recorded verdict: adam-beats-sgd")
    assert not (project.path / "baselines").exists()  # nothing written without a flag

    # The printed command, run as printed, writes that baseline (and only the item it names).
    printed = next(line.split("Create it with: ", 1)[1] for line in result.outlines
                   if "Create it with: " in line and "curve[sgd]" in line)
    words = shlex.split(printed)
    assert words[0] == "pytest"
    project.runpytest(*words[1:], "-p", "no:randomly").assert_outcomes(passed=1)
    assert baseline(project, "sgd").exists() and not baseline(project, "adam").exists()


@pytest.mark.trains
def test_update_then_pass_then_perturb_then_update(project):
    project.run_optcheck("--optcheck-update").assert_outcomes(passed=3)
    assert baseline(project, "sgd").exists() and baseline(project, "claims").exists()

    again = project.run_optcheck()
    again.assert_outcomes(passed=3)
    has_lines(again, "every curve is bit-identical to its baseline")

    data = json.loads(baseline(project, "sgd").read_text())
    for seed in ("0", "1", "2"):  # the same way on every seed: a regression, not chaos
        data["seeds"][seed]["history"]["val_loss"][1] += 0.5
    baseline(project, "sgd").write_text(json.dumps(data, indent=2, sort_keys=True))
    perturbed = project.run_optcheck()
    perturbed.assert_outcomes(passed=2, failed=1)
    has_lines(perturbed, "curve[sgd]: sgd trains differently from its baseline baselines/tiny/small/sgd.json",
              "in units of the noise: val_loss ", "metric", "largest z (where, difference)",
              "val_loss", "epoch 2, -0.5)", "CHANGED",
              'refresh with: pytest --optcheck --optcheck-backend tensorflow', '--optcheck-update "suites/tiny.toml::curve[sgd]"')
    assert "curve[adam]" not in "\n".join(l for l in perturbed.outlines if "trains differently" in l)

    fixed = project.run_optcheck("--optcheck-update")
    fixed.assert_outcomes(passed=3)
    has_lines(fixed, "sgd.json: largest change: val_loss seed 0 epoch 2")
    project.run_optcheck().assert_outcomes(passed=3)


def test_a_refresh_measures_the_noise_only_of_curves_that_changed(project):
    project.run_optcheck("--optcheck-update").assert_outcomes(passed=3)

    def nudged(result):
        return [line.split(" (")[0] for line in result.outlines
                if line.startswith("optcheck: trained tiny/small") and ", nudge" in line]

    same = project.run_optcheck("--optcheck-update-all", "--optcheck-no-cache", "--optcheck-runs-at-once=2")
    same.assert_outcomes(passed=3)
    has_lines(same, "adam.json: unchanged (curves and noise envelope bit-identical), not rewritten")
    assert nudged(same) == []  # the stored envelopes are kept: no noise rerun was worth training

    data = json.loads(baseline(project, "sgd").read_text())
    data["seeds"]["0"]["history"]["loss"][0] += 0.5
    baseline(project, "sgd").write_text(json.dumps(data, indent=2, sort_keys=True))
    changed = project.run_optcheck("--optcheck-update-all", "--optcheck-no-cache", "--optcheck-runs-at-once=2")
    changed.assert_outcomes(passed=3)
    assert sorted(nudged(changed)) == [f"optcheck: trained tiny/small sgd seed {seed}, nudge {nudge}"
                                       for seed in range(3) for nudge in (1, 2)]


def test_baselines_are_stable_readable_json(project):
    project.run_optcheck("--optcheck-update")
    text = baseline(project, "adam").read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert set(data["seeds"]) == {"0", "1", "2"}
    assert set(data["seeds"]["0"]) == {"history", "test", "epoch_seconds", "diverged_at_epoch"}
    assert data["environment"]["tensorflow"] and data["spec_hash"]


def test_selection_leaves_other_baselines_untouched(project):
    project.run_optcheck("--optcheck-update")
    before = baseline(project, "sgd").read_bytes()
    stamp = baseline(project, "sgd").stat().st_mtime_ns
    result = project.run_optcheck("--optcheck-update-all", "-k", "adam and curve")
    result.assert_outcomes(passed=1)
    assert baseline(project, "sgd").read_bytes() == before
    assert baseline(project, "sgd").stat().st_mtime_ns == stamp
    has_lines(result, "adam.json: unchanged (curves and noise envelope bit-identical), not rewritten")


def test_flipped_claim_verdict_is_reported(project):
    project.run_optcheck("--optcheck-update")
    claims = json.loads(baseline(project, "claims").read_text())
    record = claims["claims"]["adam-beats-sgd"]
    assert record["verdict"] == "holds"
    record["verdict"] = "fails"
    baseline(project, "claims").write_text(json.dumps(claims, indent=2, sort_keys=True))

    result = project.run_optcheck()
    result.assert_outcomes(passed=3)  # the claim holds, as the suite expects: the record only informs
    has_lines(result, "1 claim changed verdict since the baseline: adam-beats-sgd (fails -> holds); "
                      "--optcheck-update rewrites the records")

    refreshed = project.run_optcheck("--optcheck-update")
    refreshed.assert_outcomes(passed=3)
    has_lines(refreshed, "claims.json: claim 'adam-beats-sgd' verdict fails -> holds")


def test_unused_baselines_are_listed(project):
    project.run_optcheck("--optcheck-update")
    baseline(project, "sgd").rename(baseline(project, "rmsprop"))
    result = project.run_optcheck("-k", "adam")
    has_lines(result, "unused baselines", "baselines/tiny/small/rmsprop.json")


def test_damaged_baseline_fails_naming_the_file_and_is_left_alone(project):
    project.run_optcheck("--optcheck-update")
    baseline(project, "adam").write_text("{ not json")
    result = project.run_optcheck()
    result.assert_outcomes(passed=2, failed=1)
    has_lines(result, "baselines/tiny/small/adam.json: baseline is not valid JSON")
    assert baseline(project, "adam").read_text() == "{ not json"


def test_spec_change_asks_for_a_refresh(project):
    project.run_optcheck("--optcheck-update")
    project.makefile(".toml", **{"suites/tiny": TINY_SUITE.replace("learning_rate = 0.001", "learning_rate = 0.002")})
    result = project.run_optcheck()
    has_lines(result, "curve[sgd]: baselines/tiny/small/sgd.json was produced by a different spec", "Refresh it with",
              "1 claim recorded under a different spec: adam-beats-sgd")  # the claim reads sgd too
    result.assert_outcomes(passed=2, failed=1)  # the claim still holds: only its record is stale


def test_unknown_profile_is_a_usage_error(project):
    result = project.run_optcheck("--optcheck-profile", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    has_lines(result, "--optcheck-profile nope: ", "tiny.toml has no such profile; choose one of: small, other")


@pytest.mark.parametrize("where, message", [
    (["--optcheck-runs-at-once", "0"], "--optcheck-runs-at-once 0: give a whole number of runs, 1 or more"),
    ("two", "optcheck_runs_at_once = 'two' (ini): give a whole number of runs, 1 or more"),
])
def test_a_bad_count_of_runs_at_once_is_a_usage_error(project, where, message):
    if isinstance(where, str):
        project.makeini(f"[pytest]\noptcheck_runs_at_once = {where}\n")
        where = []
    result = project.run_optcheck(*where)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    has_lines(result, message)


@pytest.mark.trains
def test_runs_one_at_a_time_give_the_same_baselines_as_side_by_side(project):
    project.run_optcheck("--optcheck-update", "--optcheck-no-cache", "--optcheck-runs-at-once", "2")
    side_by_side = baseline(project, "adam").read_bytes()
    result = project.run_optcheck("--optcheck-no-cache", "--optcheck-runs-at-once", "1", "--optcheck-report=r.md")
    result.assert_outcomes(passed=3)
    assert "curves: 2 identical" in result.stdout.str()
    assert baseline(project, "adam").read_bytes() == side_by_side


def test_profile_option_and_ini(project):
    result = project.run_optcheck("--optcheck-profile", "other", "--optcheck-update")
    result.assert_outcomes(passed=2, failed=1)  # one epoch of a tiny model: Adam does not beat SGD yet
    assert (project.path / "baselines/tiny/other/sgd.json").exists()
    assert not (project.path / "baselines/tiny/small").exists()


def test_missing_data_is_one_clear_error(project, tmp_path):
    result = project.run_optcheck(f"--optcheck-data-dir={tmp_path / 'empty'}")
    has_lines(result, "Fashion-MNIST was not found", "apt-get install dataset-fashion-mnist")
    assert "Traceback" not in result.stdout.str()
    result.assert_outcomes(failed=1)  # one error, then the session stops: not one per item
    has_lines(result, "Interrupted: Fashion-MNIST is missing or damaged")


def test_broken_suite_is_one_collection_error(project):
    project.makefile(".toml", **{"suites/tiny": TINY_SUITE.replace("epochs = 2", 'epochs = "x"')})
    result = project.run_optcheck()
    has_lines(result, "tiny.toml: profiles.small.epochs: expected a whole number, found \"x\"")
    assert "Traceback" not in result.stdout.str()


def test_fixtures_give_runs_to_your_own_tests(project):
    project.makepyfile(test_mine="""
        def test_adam_learns(optcheck_run, optcheck_suite, optcheck_dataset):
            run = optcheck_run("adam", seed=0)
            assert optcheck_suite.name == "tiny"
            assert run.train_samples == 200 and len(run.history["loss"]) == 2
            assert optcheck_dataset.x_train.shape[1:] == (28, 28)
            assert optcheck_run("adam", seed=0) is run  # memoized
    """)
    result = project.run_optcheck("test_mine.py")
    result.assert_outcomes(passed=1)


QUADRATIC_SUITE = """\
[suite]
name = "quad"
default_profile = "small"

[model]
factory = "pytest_optcheck.problems:noisy_quadratic_model"
kwargs = { dimension = 4 }

[data]
source = "noisy_quadratic"
kwargs = { dimension = 4, train = 64, test = 32 }

[training]
loss = "mse"
metrics = []
batch_size = 16

[profiles.small]
epochs = 1
seeds = [0]

[optimizers.sgd]
class = "SGD"
"""


def test_fixtures_work_with_several_suites_and_their_own_data(project):
    project.makefile(".toml", **{"suites/quad": QUADRATIC_SUITE})
    project.makepyfile(test_mine="""
        import pytest

        def test_each_suite_by_name(optcheck_run, optcheck_suites, optcheck_data):
            assert sorted(optcheck_suites) == ["quad", "tiny"]
            assert optcheck_run("sgd", suite="quad").history["loss"]
            assert optcheck_run("adam", suite="tiny", seed=1).seed == 1
            assert optcheck_data("quad").x_train.shape == (64, 4)
            assert optcheck_data("tiny").x_train.shape[1:] == (28, 28)

        def test_an_unnamed_suite_among_several_is_refused(optcheck_run):
            optcheck_run("sgd")

        def test_one_dataset_for_suites_on_different_data_is_refused(optcheck_dataset):
            pass
    """)
    result = project.run_optcheck("test_mine.py")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    has_lines(result, '2 suites are configured (quad, tiny): name one, e.g. suite="quad"')
    has_lines(result, "the suites quad, tiny train on different data: use optcheck_data")


def test_every_item_carries_the_optcheck_markers(project):
    everything = project.runpytest("--collect-only", "-q", "-m", "optcheck")
    has_lines(everything, "5 tests collected")
    claims = project.runpytest("--collect-only", "-q", "-m", "optcheck_claim")
    has_lines(claims, "suites/tiny.toml::claim[adam-beats-sgd]", "1/5 tests collected")
    curves = project.runpytest("--collect-only", "-q", "-m", "optcheck_curve")
    has_lines(curves, "2/5 tests collected")
    timed = project.runpytest("--collect-only", "-q", "-m", "optcheck_benchmark")
    has_lines(timed, "2/5 tests collected")
    assert project.runpytest("--markers").stdout.str().count("@pytest.mark.optcheck") == 4


def test_under_xdist_same_verdicts_and_baselines_written_once(project, monkeypatch, request):
    pytest.importorskip("xdist")
    from pytest_optcheck.environment import reread_environment

    request.addfinalizer(reread_environment)  # later tests read this process's own thread count
    # Each worker gets the threads the single process has: the same recorded environment,
    # the same numbers. (The single process is this one: its environment is read afresh.)
    monkeypatch.setenv("OPTCHECK_THREADS", "1")
    reread_environment()
    project.run_optcheck("--optcheck-update").assert_outcomes(passed=3)
    serial = {p.name: p.read_bytes() for p in (project.path / "baselines/tiny/small").iterdir()}

    parallel = project.run_optcheck("-n", "2", "--optcheck-update-all", "-p", "no:cacheprovider", benchmarks=True)
    parallel.assert_outcomes(passed=3, skipped=2)  # epoch_time items skip: pytest-benchmark is off under xdist
    has_lines(parallel, "pytest-benchmark is disabled")
    written = [line for line in parallel.outlines if "baselines/tiny/small/" in line and "json:" in line]
    assert sorted(written) == sorted(set(written))  # every file reported once
    after = {p.name: p.read_bytes() for p in (project.path / "baselines/tiny/small").iterdir()}
    assert set(after) == set(serial)  # no temporary files left
    # trained again in fresh workers (no cache): the same curves and verdicts to the last bit, so
    # the refresh leaves every file byte for byte as it was (timings differ, and are not a change).
    # On the stand-in this checks the workers' environment and the transport; Keras's own
    # determinism across processes is test_example's and test_cluster's.
    assert after == serial
    has_lines(parallel, "adam.json: unchanged (curves and noise envelope bit-identical), not rewritten",
              "sgd.json: unchanged (curves and noise envelope bit-identical), not rewritten",
              "claims.json: unchanged, not rewritten")


@pytest.mark.trains  # pytest-benchmark times Keras's own epochs
def test_epoch_time_items_use_pytest_benchmark(project, tmp_path):
    target = tmp_path / "bench.json"
    result = project.run_optcheck("-k", "epoch_time", "--benchmark-min-rounds=2", f"--benchmark-json={target}",
                                  benchmarks=True)
    result.assert_outcomes(passed=2)
    data = json.loads(target.read_text())
    assert sorted(b["name"] for b in data["benchmarks"]) == ["epoch_time[adam]", "epoch_time[sgd]"]
    info = data["benchmarks"][0]["extra_info"]
    assert info["steps_per_epoch"] == 6 and info["train_images"] == 180 and info["profile"] == "small"
    assert info["samples_per_second"] > 0 and info["environment"]["tensorflow"]
    assert data["benchmarks"][0]["stats"]["rounds"] == 2


def test_epoch_time_items_skip_with_benchmark_skip(project):
    result = project.run_optcheck("-k", "epoch_time", "--benchmark-skip", benchmarks=True)
    result.assert_outcomes(skipped=2)


def test_diverged_run_fails_its_own_items_only(project):
    project.makefile(".toml", **{"suites/tiny": TINY_SUITE.replace("{ learning_rate = 0.01 }", "{ learning_rate = 1e30 }")})
    result = project.run_optcheck("--optcheck-update")
    result.assert_outcomes(passed=1, failed=2)
    has_lines(result, "curve[adam]: baseline updated, but the run diverged at epoch 1 (seed 0), 1 (seed 1), 1 (seed 2)")
    again = project.run_optcheck()
    again.assert_outcomes(passed=1, failed=2)  # curve[sgd] passes; a diverged Adam loses the claim on every seed
    has_lines(again, "curve[adam]: diverged at epoch 1 (seed 0), 1 (seed 1), 1 (seed 2)")
    has_lines(again, "claim[adam-beats-sgd]: the claim does not hold (expected: holds)", "adam diverged")
    data = json.loads(baseline(project, "adam").read_text())
    assert data["seeds"]["0"]["diverged_at_epoch"] == 1 and data["seeds"]["0"]["history"]["loss"] == [None]


def test_unwritable_baseline_folder_is_a_clear_error_and_writes_nothing(project):
    (project.path / "baselines").mkdir()
    (project.path / "baselines" / "tiny").write_text("a file where a folder should be")
    result = project.run_optcheck("--optcheck-update")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    has_lines(result, "ERROR: cannot write baselines/tiny/small/")
    assert (project.path / "baselines" / "tiny").read_text() == "a file where a folder should be"
    assert sorted(p.name for p in (project.path / "baselines").iterdir()) == ["tiny"]


def test_interrupted_training_leaves_cache_and_baselines_consistent(project, monkeypatch):
    project.run_optcheck("--optcheck-update")
    snapshot = {p: p.read_bytes() for p in (project.path / "baselines").rglob("*.json")}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C in the middle of training

    from pytest_optcheck.runs.runner import Runner

    with monkeypatch.context() as patch:  # the inner pytest runs in this process
        patch.setattr(Runner, "_train", interrupted)
        result = project.run_optcheck("--optcheck-update-all", "--optcheck-no-cache", no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert {p: p.read_bytes() for p in (project.path / "baselines").rglob("*.json")} == snapshot
    assert not [p for p in project.path.rglob("*.tmp")]
    project.run_optcheck().assert_outcomes(passed=3)


def test_baseline_from_another_environment_warns_without_failing(project):
    project.run_optcheck("--optcheck-update")
    data = json.loads(baseline(project, "sgd").read_text())
    data["environment"]["tensorflow"] = "2.16.1"
    baseline(project, "sgd").write_text(json.dumps(data, indent=2, sort_keys=True))
    result = project.run_optcheck()
    result.assert_outcomes(passed=3)
    has_lines(result, "OptcheckEnvironmentWarning", "1 baseline was produced in another environment (tensorflow: 2.16.1 -> ",
              "baselines/tiny/small/sgd.json; curves: 1 identical")
    assert result.stdout.str().count("OptcheckEnvironmentWarning: ") == 1


def test_environment_differences_are_said_once_and_a_kernel_build_is_no_difference(project):
    project.run_optcheck("--optcheck-update")
    for name in ("sgd", "adam"):
        data = json.loads(baseline(project, name).read_text())
        data["environment"]["numpy"] = "1.26.4"
        data["environment"]["platform"] = data["environment"]["platform"].replace("Linux-", "Linux-5.10.0-99-generic-", 1)
        baseline(project, name).write_text(json.dumps(data, indent=2, sort_keys=True))
    result = project.run_optcheck()
    result.assert_outcomes(passed=3)
    text = result.stdout.str()
    assert text.count("OptcheckEnvironmentWarning: ") == 1 and "platform" not in text.split("warnings summary")[1]
    has_lines(result, "2 baselines were produced in another environment (numpy: 1.26.4 -> ", "curves: 2 identical")


def test_report_and_plots_are_written_and_follow_the_selection(project, tmp_path):
    pytest.importorskip("matplotlib")
    project.run_optcheck("--optcheck-update")
    report, plots = tmp_path / "summary.md", tmp_path / "plots"
    result = project.run_optcheck(f"--optcheck-report={report}", f"--optcheck-plots={plots}", "-v")  # -v: the tables
    result.assert_outcomes(passed=3)
    text = report.read_text()
    assert "# optcheck report: suite tiny, profile small" in text
    assert "| adam-beats-sgd" in text and "holds" in text
    assert sorted(p.name for p in plots.iterdir()) == ["all-optimizers.png", "claim-adam-beats-sgd.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in plots.iterdir())
    has_lines(result, "Claims", "adam-beats-sgd", f"summary written to {report}")

    only_sgd = project.run_optcheck(f"--optcheck-report={report}", "-k", "curve and sgd")
    only_sgd.assert_outcomes(passed=1)
    text = report.read_text()
    assert "| sgd " in text and "| adam " not in text and "adam-beats-sgd" not in text


def test_without_matplotlib_plots_say_how_to_install_and_nothing_fails(project, tmp_path, monkeypatch):
    import sys

    project.run_optcheck("--optcheck-update")
    with monkeypatch.context() as patch:  # the inner pytest runs in this process
        patch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
        result = project.run_optcheck(f"--optcheck-plots={tmp_path / 'plots'}")
    result.assert_outcomes(passed=3)
    has_lines(result, "plots not written: plots need matplotlib: pip install 'pytest-optcheck[plots]'")


def test_update_without_optcheck_is_a_usage_error(project):
    result = project.run_optcheck("--optcheck-update", optcheck=False)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    has_lines(result, "--optcheck-update and --optcheck-update-all need --optcheck")


def test_damaged_claims_file_fails_the_claim_and_an_update_says_what_it_rewrote(project):
    project.run_optcheck("--optcheck-update")
    baseline(project, "claims").write_text("{ damaged")
    result = project.run_optcheck()
    result.assert_outcomes(passed=2, failed=1)
    has_lines(result, "baselines/tiny/small/claims.json: baseline is not valid JSON")
    assert baseline(project, "claims").read_text() == "{ damaged"
    fixed = project.run_optcheck("--optcheck-update")
    fixed.assert_outcomes(passed=3)
    has_lines(fixed, "claims.json: was unreadable; rewritten with the selected claims only")
    assert json.loads(baseline(project, "claims").read_text())["claims"]["adam-beats-sgd"]["verdict"] == "holds"


def test_unwritable_report_path_is_a_clear_error(project):
    project.run_optcheck("--optcheck-update")
    (project.path / "blocker").write_text("a file where a folder should be")
    result = project.run_optcheck("--optcheck-report=blocker/summary.md")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # every item passed; the report could not be written
    result.assert_outcomes(passed=3)
    has_lines(result, "ERROR: --optcheck-report: cannot write blocker/summary.md")


def test_progress_names_each_run_trained_and_is_quiet_under_q(project):
    result = project.run_optcheck("--optcheck-no-cache", "-k", "curve and sgd")
    trained = [line for line in result.outlines if line.startswith("optcheck: trained tiny/small sgd seed")]
    # Two at a time side by side: each run has its line, in the order the runs end.
    assert sorted(line.split(" (")[0].rsplit(" ", 1)[1] for line in trained) == ["0", "1", "2"]
    assert all("(2 epochs," in line and "runs, about" in line for line in trained)
    assert "Captured stdout" not in result.stdout.str()  # on the terminal as it trains, not captured
    quiet = project.run_optcheck("--optcheck-no-cache", "-k", "curve and sgd", "-q")
    assert "optcheck: trained" not in quiet.stdout.str()


def _damage(project, name, change):
    data = json.loads(baseline(project, name).read_text())
    change(data)
    baseline(project, name).write_text(json.dumps(data, indent=2, sort_keys=True))
    return baseline(project, name).read_bytes()


@pytest.mark.parametrize("name, change, message, failing", [
    ("adam", lambda d: d["seeds"]["1"].pop("history"),
     "curve[adam]: baselines/tiny/small/adam.json: seeds.1.history: missing; restore it from git", "curve[adam]"),
    ("sgd", lambda d: d["seeds"]["0"]["history"]["loss"].__setitem__(0, "0.5"),
     "baselines/tiny/small/sgd.json: seeds.0.history.loss[0]: expected a number or null, found \"0.5\"", "curve[sgd]"),
    ("claims", lambda d: d["claims"]["adam-beats-sgd"].__setitem__("verdict", "maybe"),
     "claims.adam-beats-sgd.verdict: 'maybe' is not a verdict; expected one of: holds, fails, inconclusive",
     "claim[adam-beats-sgd]"),
])
def test_a_damaged_baseline_fails_its_own_item_in_one_line_and_is_left_alone(project, name, change, message, failing):
    project.run_optcheck("--optcheck-update")
    damaged = _damage(project, name, change)
    result = project.run_optcheck("--optcheck-report=summary.md")
    result.assert_outcomes(passed=2, failed=1)
    has_lines(result, message, "Or rewrite it from")
    has_lines(result, f"FAILED suites/tiny.toml::{failing}")
    text = result.stdout.str()
    assert "Traceback" not in text and "KeyError" not in text and "TypeError" not in text
    has_lines(result, "summary written to summary.md")  # the session's end ran as usual
    assert baseline(project, name).read_bytes() == damaged
    # The stored-baseline commands say the same, without a traceback.
    report = project.run(sys.executable, "-m", "pytest_optcheck.cli", "report", "baselines/tiny/small")
    assert report.ret == 2 and "Traceback" not in report.stderr.str()
    assert "optcheck: error: baselines/tiny/small/" in report.stderr.str()


def test_an_undecided_claim_adds_seeds_until_decided_and_says_how_many_it_took(project):
    # Default confidence (95%): a claim that holds on every seed is decided at the 7th. Curves keep 2 seeds.
    # The claim is read loosely (Adam within 1.0 of SGD's loss) so that it holds on every seed.
    sequential = (TINY_SUITE.replace("seeds = [0, 1, 2]", "seeds = { first = 2, max = 9, group = 2 }")
                  .replace('kind = "ordering"\nbetter = "adam"\nworse = "sgd"\n',
                           'kind = "close"\noptimizer = "adam"\nreference = "sgd"\nwithin = 1.0\n')
                  .replace("confidence = 0.5\n", ""))
    assert "within = 1.0" in sequential
    project.makefile(".toml", **{"suites/tiny": sequential})
    first = project.run_optcheck("--optcheck-update", "-k", "claim", "--optcheck-runs-at-once=2")
    first.assert_outcomes(passed=1)
    # No verdict is possible on fewer than 7 seeds, so all 7 of both optimizers were planned
    # (and trained side by side) before the claim was first judged, not 2 and then 5 more.
    has_lines(first, "trained tiny/small", "1 of ~14 runs")
    record = json.loads(baseline(project, "claims").read_text())["claims"]["adam-beats-sgd"]
    assert record["verdict"] == "holds" and record["seeds"] == 7 and record["seeds_holding"] == 7
    assert record["interval"][0] > 0.5 and record["seed_budget"] == 9 and record["seeds_needed"] == 7
    # 2: undecided, and 4 or 6 could not decide it whatever they showed, so the claim looks next at 7.
    assert set(record["margins"]) == {str(s) for s in range(7)}
    project.run_optcheck("--optcheck-update", "-k", "curve").assert_outcomes(passed=2)
    assert set(json.loads(baseline(project, "adam").read_text())["seeds"]) == {"0", "1"}

    # A budget too small to decide, set where budgets live: the profile. Undecided is a failure that
    # says how many seeds it would take and where to set them.
    project.makefile(".toml", **{"suites/tiny": sequential.replace("max = 9", "max = 4")})
    capped = project.run_optcheck("-k", "claim")
    capped.assert_outcomes(failed=1)
    has_lines(capped, "claim[adam-beats-sgd]: undecided after 4 seeds, the budget of profile 'small'",
              "inconclusive: P(holds on a seed) = 4/4, 95% interval [0.34, 1.00] contains 0.5; "
              "at this share it would take 7 seeds (3 more)", "raise seeds.max of [profiles.small]")
    # A refresh at that budget records the undecided verdict; the plain run after it decides the same.
    project.run_optcheck("-k", "claim", "--optcheck-update").assert_outcomes(failed=1)
    again = project.run_optcheck("-k", "claim")
    again.assert_outcomes(failed=1)
    assert "changed verdict" not in again.stdout.str()


def test_a_claim_reading_an_epoch_the_profile_does_not_train_fails_alone_and_trains_nothing(project):
    beyond = (TINY_SUITE.replace("seeds = [0, 1, 2]", "seeds = { first = 2, max = 9, group = 2 }")
              .replace("confidence = 0.5\n", "epoch = 5\n"))
    project.makefile(".toml", **{"suites/tiny": beyond})
    result = project.run_optcheck("--optcheck-update", "--optcheck-no-cache", "--optcheck-runs-at-once=2")
    result.assert_outcomes(passed=2, failed=1)
    has_lines(result, "claims[adam-beats-sgd].epoch = 5, but profile 'small' trains only 2 epochs: lower the "
              "claim's epoch, or run a profile of at least 5 epochs (--optcheck-profile)")
    trained = [line for line in result.outlines if line.startswith("optcheck: trained tiny/small")]
    # The curves' 2 seeds of each optimizer and their 2 nudged reruns each: not the 7 seeds a
    # claim judged at 95% would take whatever they showed.
    assert len(trained) == 12 and all("of ~12 runs" in line for line in trained)
    assert not any(f"seed {seed} " in line for line in trained for seed in range(2, 9))
    # One at a time, nothing is planned: the claim fails before its own runs train.
    alone = project.run_optcheck("-k", "claim", "--optcheck-no-cache", "--optcheck-runs-at-once=1")
    alone.assert_outcomes(failed=1)
    assert "optcheck: trained" not in alone.stdout.str()


def test_a_baseline_recorded_on_other_data_is_named_as_such(project, tmp_path):
    from conftest import write_dataset

    project.run_optcheck("--optcheck-update").assert_outcomes(passed=3)
    assert json.loads(baseline(project, "sgd").read_text())["data"]["source"] == "fashion_mnist"
    other = write_dataset(tmp_path / "other", seed=7)
    result = project.run_optcheck(f"--optcheck-data-dir={other}")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 2  # both curves; the claim is judged on the new data as it stands
    has_lines(result, "curve[sgd]: baselines/tiny/small/sgd.json: the baseline was recorded on other data: "
                      "fashion_mnist (checksum", "these runs trained on fashion_mnist (checksum",
              "curves on different data cannot be compared")


def test_no_empty_benchmark_folder_is_left_behind(project):
    project.run_optcheck(optcheck=False, benchmarks=True)
    assert not (project.path / ".benchmarks").exists()
    (project.path / ".benchmarks").mkdir()  # a folder the user has is theirs: left alone
    project.run_optcheck(optcheck=False, benchmarks=True)
    assert (project.path / ".benchmarks").is_dir()
