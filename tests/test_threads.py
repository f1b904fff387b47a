"""pytest-xdist workers share the machine's cores instead of each taking all of them."""

from pytest_optcheck.engine import runtime as tf_runtime


def test_single_process_keeps_tensorflow_defaults(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    monkeypatch.delenv("OPTCHECK_THREADS", raising=False)
    assert tf_runtime.worker_threads() is None


def test_workers_divide_the_cores(monkeypatch):
    monkeypatch.delenv("OPTCHECK_THREADS", raising=False)
    monkeypatch.setattr(tf_runtime.os, "cpu_count", lambda: 16)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "4")
    assert tf_runtime.worker_threads() == 4
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "32")
    assert tf_runtime.worker_threads() == 1  # never zero


def test_explicit_thread_count_wins(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "4")
    monkeypatch.setenv("OPTCHECK_THREADS", "3")
    assert tf_runtime.worker_threads() == 3


def test_bad_thread_count_is_a_clear_error(monkeypatch):
    import pytest

    from pytest_optcheck.errors import OptcheckError

    monkeypatch.setenv("OPTCHECK_THREADS", "many")
    with pytest.raises(OptcheckError, match="OPTCHECK_THREADS='many': give a whole number of threads"):
        tf_runtime.worker_threads()


def test_missing_tensorflow_says_how_to_install_it(monkeypatch):
    import sys

    import pytest

    from pytest_optcheck.errors import OptcheckError

    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import tensorflow now fails as if not installed
    with pytest.raises(OptcheckError, match=r"TensorFlow is not installed. Install it with pip install tensorflow "
                                            r"\(or tensorflow-cpu for the CPU-only wheel\)"):
        tf_runtime.tensorflow()


def test_xla_is_asked_for_deterministic_gpu_kernels_beside_a_projects_own_flags(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    tf_runtime.deterministic_xla()
    assert tf_runtime.os.environ["XLA_FLAGS"] == "--xla_gpu_deterministic_ops=true"
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_use_thunk_runtime=false")
    tf_runtime.deterministic_xla()
    assert tf_runtime.os.environ["XLA_FLAGS"] == "--xla_cpu_use_thunk_runtime=false --xla_gpu_deterministic_ops=true"
    monkeypatch.setenv("XLA_FLAGS", "--xla_gpu_deterministic_ops=false")  # the project's own choice stays
    tf_runtime.deterministic_xla()
    assert tf_runtime.os.environ["XLA_FLAGS"] == "--xla_gpu_deterministic_ops=false"
