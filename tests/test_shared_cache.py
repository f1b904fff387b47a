"""A run cache shared between sessions: a folder, and a real S3-compatible server on 127.0.0.1.

The server is moto's (started in this process, bound to the loopback address); the cache
reaches it through fsspec and s3fs as it would reach AWS, with the endpoint in
AWS_ENDPOINT_URL. Two sessions of two projects that share one location train each run once.
"""

import json
import socket

import pytest

from conftest import TINY_SUITE
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.runs.cache import RunCache
from conftest import has_lines

moto_server = pytest.importorskip("moto.server", reason="the S3 test server: pip install 'moto[server]' s3fs")
pytest.importorskip("s3fs", reason="fsspec's S3 store: pip install s3fs")


@pytest.fixture
def s3(monkeypatch):
    """An S3-compatible server on 127.0.0.1 with one empty bucket; yields its URL root."""
    import boto3

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")):
        monkeypatch.setenv(name, value)
    boto3.client("s3").create_bucket(Bucket="shared")
    try:
        yield "s3://shared/optcheck-runs"
    finally:
        server.stop()


def fake_run(key: str) -> RunResult:
    return RunResult("sgd", 0, "small", 1, 10, {"loss": [1.0]}, [0.1], None, None, {"cpu": "x"}, key=key)


def test_an_object_store_cache_trains_a_run_once_for_two_caches_that_share_it(s3):
    calls = []

    def train():
        calls.append(1)
        return fake_run("ab12")

    first = RunCache(s3).get("ab12", train)
    second = RunCache(s3).get("ab12", train)  # another session, another machine: a new cache object
    assert calls == [1]
    assert second.cached and second.history == first.history


def test_a_damaged_object_is_retrained_and_replaced(s3):
    import fsspec

    fs, root = fsspec.core.url_to_fs(s3)
    fs.pipe_file(f"{root}/cd/cd34.json", b"{ half a record")
    assert RunCache(s3).get("cd34", lambda: fake_run("cd34")).key == "cd34"
    assert json.loads(fs.cat_file(f"{root}/cd/cd34.json"))["key"] == "cd34"


def test_a_store_that_refuses_a_write_is_one_line_naming_the_cache_and_the_object(s3):
    from pytest_optcheck.errors import OptcheckError

    missing = s3.replace("s3://shared/", "s3://no-such-bucket/")
    with pytest.raises(OptcheckError) as raised:
        RunCache(missing).store(fake_run("ef56"))
    message = str(raised.value)
    assert message.startswith(f"run cache {missing}: cannot write no-such-bucket/optcheck-runs/ef/ef56.json: ")
    assert "\n" not in message


@pytest.fixture
def two_projects(pytester, tiny_data, tensorflow_loaded):
    """Two projects with the tiny suite (each its own pytest cache); `run(folder, *args)` in either."""
    suite = TINY_SUITE.split("[optimizers.adam]")[0]  # sgd alone: 3 runs

    def run(name, *args):
        folder = pytester.mkdir(name) if not (pytester.path / name).exists() else pytester.path / name
        (folder / "suites").mkdir(exist_ok=True)
        (folder / "suites" / "tiny.toml").write_text(suite)
        pytester.chdir()
        import os

        os.chdir(folder)
        return pytester.runpytest("--optcheck", f"--optcheck-data-dir={tiny_data}", "-p", "no:randomly", "-k",
                                  "curve", "--rootdir", str(folder), *args)

    return run


@pytest.mark.parametrize("where", ["s3", "folder"])
def test_two_sessions_sharing_a_cache_location_train_each_run_once(two_projects, where, request, tmp_path):
    location = request.getfixturevalue("s3") if where == "s3" else str(tmp_path / "shared-runs")
    first = two_projects("job-1", "--optcheck-cache", location)
    has_lines(first, "optcheck: trained tiny/small sgd seed 0", "curve[sgd]: no baseline")
    second = two_projects("job-2", "--optcheck-cache", location)
    has_lines(second, "curve[sgd]: no baseline")
    assert "optcheck: trained" not in second.stdout.str()  # every run came from the shared location


def test_a_cache_url_whose_store_is_not_installed_is_one_line(pytester):
    result = pytester.runpytest("--optcheck", "--optcheck-cache", "nosuchstore://bucket/runs")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    has_lines(result, "ERROR: run cache nosuchstore://bucket/runs: Protocol not known: nosuchstore; pip install")
