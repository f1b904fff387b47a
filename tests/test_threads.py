"""pytest-xdist workers share the machine's cores instead of each taking all of them, and
every run records the thread count it trained with, because that count changes results."""

from pytest_optcheck import environment
from pytest_optcheck.engine import runtime as tf_runtime


def test_single_process_keeps_tensorflow_defaults(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    monkeypatch.delenv("OPTCHECK_THREADS", raising=False)
    assert environment.worker_threads() is None


def test_workers_divide_the_cores(monkeypatch):
    monkeypatch.delenv("OPTCHECK_THREADS", raising=False)
    monkeypatch.setattr(environment, "available_cores", lambda: 16)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "4")
    assert environment.worker_threads() == 4
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "32")
    assert environment.worker_threads() == 1  # never zero


def test_explicit_thread_count_wins(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "4")
    monkeypatch.setenv("OPTCHECK_THREADS", "3")
    assert environment.worker_threads() == 3


def test_tensorflow_gets_every_core_alone_and_its_share_in_a_worker_and_jax_always_every_core(monkeypatch):
    monkeypatch.delenv("OPTCHECK_THREADS", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    monkeypatch.setattr(environment, "available_cores", lambda: 8)
    assert environment.kernel_threads("tensorflow") == 8
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    assert environment.kernel_threads("tensorflow") == 4
    assert environment.kernel_threads("jax") == 8  # XLA takes every core it may run on


def test_the_thread_count_is_part_of_a_runs_environment(monkeypatch):
    """A worker with 1 thread and a process with 2 train different numbers: their runs must not share a cache entry."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    monkeypatch.setenv("OPTCHECK_THREADS", "1")
    environment.reread_environment()
    one = environment.environment()
    monkeypatch.setenv("OPTCHECK_THREADS", "2")
    environment.reread_environment()
    two = environment.environment()
    environment.reread_environment()
    assert (one["threads"], two["threads"]) == ("1", "2")
    assert environment.differences(one, two) == {"threads": ("1", "2")}


def test_a_record_from_before_threads_were_recorded_is_not_a_difference():
    new = {"tensorflow": "2.21.0", "threads": "2", "simd": "avx avx2 fma"}
    assert environment.differences({"tensorflow": "2.21.0"}, new) == {}
    assert environment.differences({"tensorflow": "2.21.0", "simd": "avx avx2 avx512f fma"}, new) == {
        "simd": ("avx avx2 avx512f fma", "avx avx2 fma")}


def test_simd_extensions_are_read_from_cpuinfo(monkeypatch, tmp_path):
    import builtins

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse4_2 avx avx2 fma avx512f ht\n")
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda path, *a, **k: real_open(
        cpuinfo if path == "/proc/cpuinfo" else path, *a, **k))
    assert environment.simd_extensions() == "avx avx2 avx512f fma sse4_2"


def test_bad_thread_count_is_a_clear_error(monkeypatch):
    import pytest

    from pytest_optcheck.errors import OptcheckError

    monkeypatch.setenv("OPTCHECK_THREADS", "many")
    with pytest.raises(OptcheckError, match="OPTCHECK_THREADS='many': give a whole number of threads"):
        environment.worker_threads()


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
