import json
import multiprocessing
import os
import time

import pytest

from pytest_optcheck import atomic
from pytest_optcheck.runs.cache import RunCache
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.runs.runner import Runner
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.spec.suite import load_suite

from conftest import TINY_SUITE


def fake_run(key: str, seed: int = 0) -> RunResult:
    return RunResult("sgd", seed, "small", 1, 10, {m: [0.5] for m in ("loss", "accuracy", "val_loss", "val_accuracy")},
                     [0.1], {"loss": 0.5, "accuracy": 0.5}, None, {"python": "3"}, key=key)


def test_hit_returns_the_stored_run_without_training(tmp_path):
    cache = RunCache(tmp_path)
    calls = []
    first = cache.get("abc", lambda: calls.append(1) or fake_run("abc"))
    second = cache.get("abc", lambda: calls.append(1) or fake_run("abc"))
    assert calls == [1]
    assert second.history == first.history and second.cached and not first.cached


def test_disabled_cache_always_trains(tmp_path):
    cache = RunCache(None)
    calls = []
    cache.get("abc", lambda: calls.append(1) or fake_run("abc"))
    cache.get("abc", lambda: calls.append(1) or fake_run("abc"))
    assert calls == [1, 1]


def test_damaged_entry_is_retrained(tmp_path):
    cache = RunCache(tmp_path)
    cache.store(fake_run("abc"))
    cache.path("abc").write_text("{ half a file")
    calls = []
    cache.get("abc", lambda: calls.append(1) or fake_run("abc"))
    assert calls == [1] and json.loads(cache.path("abc").read_text())["key"] == "abc"


def test_key_changes_with_everything_that_changes_a_result(tmp_path, tiny_data):
    path = tmp_path / "s.toml"
    path.write_text(TINY_SUITE)
    suite = load_suite(path)
    runner = Runner(tmp_path / "cache", data_dir=tiny_data)
    small = suite.profile("small")
    key = runner.key(suite, "sgd", 0, small)
    assert key == runner.key(suite, "sgd", 0, small)
    assert key != runner.key(suite, "sgd", 1, small)
    assert key != runner.key(suite, "adam", 0, small)
    import dataclasses

    assert key != runner.key(suite, "sgd", 0, dataclasses.replace(small, epochs=3))
    path.write_text(TINY_SUITE.replace("learning_rate = 0.001", "learning_rate = 0.002"))
    assert key != runner.key(load_suite(path), "sgd", 0, small)
    path.write_text(TINY_SUITE.replace("hidden_units = [16]", "hidden_units = [17]"))
    assert key != runner.key(load_suite(path), "sgd", 0, small)
    # same suite under another name: same runs
    path.write_text(TINY_SUITE.replace('name = "tiny"', 'name = "renamed"'))
    assert key == runner.key(load_suite(path), "sgd", 0, small)


def test_key_changes_with_environment(tmp_path, tiny_data, monkeypatch):
    path = tmp_path / "s.toml"
    path.write_text(TINY_SUITE)
    suite = load_suite(path)
    runner = Runner(tmp_path / "cache", data_dir=tiny_data)
    key = runner.key(suite, "sgd", 0, suite.profile("small"))
    from pytest_optcheck.runs import runner as runner_module

    monkeypatch.setattr(runner_module, "environment", lambda: {"tensorflow": "9.9"})
    assert key != runner.key(suite, "sgd", 0, suite.profile("small"))


def test_atomic_write_leaves_old_content_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    atomic.write_text(target, "old")

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temporary file left


def test_unwritable_place_is_a_clear_error(tmp_path):
    # A regular file where the folder should be: fails for every user, root included.
    (tmp_path / "blocker").write_text("")
    with pytest.raises(OptcheckError, match=r"cannot write .*blocker/x.json"):
        atomic.write_text(tmp_path / "blocker" / "x.json", "{}")


def _request(root, log):
    def train():
        with open(log, "a") as f:
            f.write("trained\n")
        time.sleep(1.0)
        return fake_run("shared")

    result = RunCache(root).get("shared", train)
    return result.key


def test_two_concurrent_requesters_train_once(tmp_path):
    log = tmp_path / "log"
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        keys = pool.starmap(_request, [(tmp_path / "cache", log), (tmp_path / "cache", log)])
    assert keys == ["shared", "shared"]
    assert log.read_text() == "trained\n"


def test_killed_trainer_leaves_no_stale_lock_or_half_file(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
from pytest_optcheck.runs.cache import RunCache
from test_cache import fake_run

def train():
    print("training", flush=True)
    time.sleep(120)
    return fake_run("k")

RunCache({str(tmp_path)!r}).get("k", train)
"""
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert process.stdout.readline() == b"training\n"  # it holds the lock now
    finally:
        process.kill()
        process.wait()
    # a write killed half-way leaves only a temporary file, which readers ignore
    (tmp_path / "k"[:2]).mkdir(exist_ok=True)
    (tmp_path / "k" / ".k.json.abc.tmp").write_text('{"format": 1, "hist')
    result = RunCache(tmp_path).get("k", lambda: fake_run("k"))  # neither hangs nor reads the fragment
    assert not result.cached
    assert RunCache(tmp_path).load("k").key == "k"


def test_the_run_key_covers_the_users_package_but_the_baseline_identity_does_not(tmp_path, monkeypatch):
    """A helper edited beside a custom optimizer retrains (never a stale cached run), and is
    compared with the same baseline (never declared a different experiment)."""
    from conftest import TINY_SUITE

    from pytest_optcheck.runs.key import run_key, spec_hash
    from pytest_optcheck.spec.suite import load_suite

    package = tmp_path / "inhouse"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("def scale(step):\n    return step\n")
    (package / "optim.py").write_text(
        "import keras\nfrom . import helpers\n\nclass Mine(keras.optimizers.SGD):\n    pass\n")
    monkeypatch.syspath_prepend(tmp_path)
    suite_path = tmp_path / "tiny.toml"
    suite_path.write_text(TINY_SUITE.replace('class = "Adam"', 'class = "inhouse.optim:Mine"'))
    suite = load_suite(suite_path)
    profile = suite.profile("small")

    def key():
        return run_key(suite, "adam", 0, profile, "data", {"tensorflow": "x"})

    before_key, before_spec = key(), spec_hash(suite, "adam", profile)
    (package / "helpers.py").write_text("def scale(step):\n    return 0.1 * step\n")
    assert key() != before_key
    assert spec_hash(suite, "adam", profile) == before_spec
    # Built-in optimizers are covered by the installed versions alone.
    assert run_key(suite, "sgd", 0, profile, "data", {"tensorflow": "x"}) == \
        run_key(suite, "sgd", 0, profile, "data", {"tensorflow": "x"})


def test_the_harness_own_problem_is_not_user_code():
    from pathlib import Path

    from pytest_optcheck.runs.key import user_code_paths
    from pytest_optcheck.spec.suite import load_suite

    suite = load_suite(Path(__file__).parents[1] / "suites" / "article-quadratic.toml")
    assert user_code_paths(suite, "adagrad") == []  # editing the harness does not retrain its problems
