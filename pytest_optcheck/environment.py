"""What a run's numbers depend on besides its spec: versions, platform, CPU."""

from __future__ import annotations

import functools
import os
import platform
import sys
from importlib import metadata

from pytest_optcheck.errors import OptcheckError

NOT_INSTALLED = "not installed"

# Distributions that install the `tensorflow` (or `keras`) import package: the main
# wheel, the CPU-only one, the builds pip picks on Windows, macOS and ARM, nightlies.
DISTRIBUTIONS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tensorflow-aarch64",
                   "tf-nightly", "tf-nightly-cpu", "tf-nightly-intel", "tf-nightly-macos"),
    "keras": ("keras", "keras-nightly"),
}


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


def _installed(distributions) -> dict[str, str]:
    """Version by name of those `distributions` that are installed."""
    versions = {name: _version(name) for name in distributions}
    return {name: version for name, version in versions.items() if version != NOT_INSTALLED}


def module_version(module: str) -> str:
    """The version of whichever distribution installed `module`, from package metadata (no import).

    Known distribution names are tried first (cheap); failing those, every installed
    distribution that ships `module` (slower: reads all their metadata). If several
    with different versions are installed, which usually means one overwrote the
    other's files, each is named.
    """
    found = _installed(DISTRIBUTIONS.get(module, (module,)))
    if not found:
        found = _installed(metadata.packages_distributions().get(module, []))
    versions = set(found.values())
    if len(versions) <= 1:
        return versions.pop() if versions else NOT_INSTALLED
    return " / ".join(f"{version} ({name})" for name, version in sorted(found.items()))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# The vector instructions math libraries choose their kernels by (x86 "flags", Arm
# "Features" in /proc/cpuinfo): two machines that report the same CPU model can
# differ in them, and a kernel of another width adds in another order.
SIMD = frozenset({"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
                  "avx512_fp16", "amx_tile", "amx_bf16", "asimd", "sve", "sve2", "bf16", "i8mm"})


def simd_extensions() -> str:
    """The CPU's vector extensions among SIMD, space-separated; empty where /proc/cpuinfo is missing."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() in ("flags", "Features"):
                    return " ".join(sorted(SIMD & set(value.split())))
    except OSError:
        pass
    return ""


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity, by which TensorFlow and XLA size their thread pools."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on macOS and Windows
        return os.cpu_count() or 1


def worker_threads() -> int | None:
    """Threads per process: the machine's cores shared among pytest-xdist workers."""
    explicit = os.environ.get("OPTCHECK_THREADS")
    if explicit:
        if not explicit.isdigit() or int(explicit) < 1:
            raise OptcheckError(f"OPTCHECK_THREADS={explicit!r}: give a whole number of threads, 1 or more")
        return int(explicit)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if workers > 1:
        return max(1, available_cores() // workers)
    return None


def kernel_threads(backend: str) -> int:
    """The threads one training run's CPU kernels divide their work over.

    It is part of a run's identity because it changes the numbers: TensorFlow's
    matrix products split over 1 and over 2 threads round differently, and so do
    XLA's. The harness gives TensorFlow exactly this many (engine/runtime.py); XLA
    takes every core the process may run on, so under pytest-xdist a JAX worker
    keeps them all (taskset, or the CPU affinity, is what changes it).
    """
    if backend == "tensorflow":
        return worker_threads() or available_cores()
    return available_cores()


# Keys that records written before they were recorded lack: missing there means unknown, not changed.
RECORDED_LATER = ("threads", "simd")


# With this variable set to 1, runs come from a formula instead of Keras (engine/standin.py).
STAND_IN_VARIABLE = "OPTCHECK_STAND_IN"


def stand_in_training() -> bool:
    """Whether runs train on the stand-in (OPTCHECK_STAND_IN=1) instead of Keras."""
    return os.environ.get(STAND_IN_VARIABLE, "") == "1"


def environment() -> dict[str, str]:
    """The facts that can change a result. Read from package metadata: no TensorFlow import.

    Runs of the stand-in record it (`training`), so that their keys, and the baselines
    written from them, are never those of runs Keras trained.
    """
    found = dict(_machine_environment())
    if stand_in_training():
        found["training"] = "stand-in"
    return found


def reread_environment() -> None:
    """Forget the facts read so far: the next `environment()` reads them again (the backend or threads changed)."""
    _machine_environment.cache_clear()


@functools.cache
def _machine_environment() -> dict[str, str]:
    backend = keras_backend()
    env = {
        "python": platform.python_version(),
        "tensorflow": module_version("tensorflow"),
        "keras": module_version("keras"),
        "numpy": _version("numpy"),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        # oneDNN changes float results; record how it was set.
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "implementation": sys.implementation.name,
        "threads": str(kernel_threads(backend)),
    }
    simd = simd_extensions()
    if simd:
        env["simd"] = simd
    if backend != "tensorflow":  # TensorFlow's identities stay as they always were
        env.update(backend=backend, jax=_version("jax"), jaxlib=_version("jaxlib"))
    return env


BACKENDS = ("tensorflow", "jax")


def keras_backend() -> str:
    """The Keras backend runs train on: KERAS_BACKEND, or Keras's default (tensorflow)."""
    return os.environ.get("KERAS_BACKEND", "tensorflow") or "tensorflow"


def choose_backend(name: str, where: str) -> None:
    """Train on Keras's `name` backend in this process: KERAS_BACKEND, set before Keras is imported.

    `where` names the option for messages. Raises ValueError with the fix when it cannot be done.
    """
    if name not in BACKENDS:
        raise ValueError(f"{where} {name}: the harness trains on {' or '.join(BACKENDS)}")
    keras = sys.modules.get("keras")
    loaded = keras.backend.backend() if keras is not None else name  # Keras fixes its backend on import
    if loaded != name:
        raise ValueError(f"{where} {name}: Keras was already imported on the {loaded} backend "
                         "(by a conftest or plugin?); set KERAS_BACKEND before it is imported")
    os.environ["KERAS_BACKEND"] = name
    reread_environment()


ARCHITECTURES = ("x86_64", "amd64", "aarch64", "arm64", "armv7l", "ppc64le", "s390x", "i686")


def platform_identity(text: str | None) -> str | None:
    """The part of `platform.platform()` that can change numbers: OS, architecture and C library.

    The kernel's release and build string ("6.18.44-fc-v669") are left out: a kernel
    update changes no floating-point result, and warning about it teaches users to
    ignore the warning.
    """
    if not text:
        return text
    system = text.split("-", 1)[0]
    lowered = text.lower()
    arch = next((a for a in ARCHITECTURES if a in lowered), "")
    libc = text.split("-with-", 1)[1] if "-with-" in text else ""
    return " ".join(part for part in (system, arch, libc) if part)


def differences(old: dict[str, str], new: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
    """Keys whose values differ in a way that can change numbers, as (old, new)."""
    def identity(env: dict[str, str]) -> dict[str, str | None]:
        return {**env, "platform": platform_identity(env.get("platform"))}

    a, b = identity(old), identity(new)
    keys = set(a) | set(b)
    keys -= {k for k in RECORDED_LATER if k not in a or k not in b}  # a record from before it was recorded
    return {k: (a.get(k), b.get(k)) for k in sorted(keys) if a.get(k) != b.get(k)}


def outside_declared_range(env: dict[str, str] | None = None) -> list[str]:
    """The installed versions of the packages runs depend on that this pytest-optcheck does not declare.

    Read from the package's own metadata (its `Requires-Dist`), so the range is the one
    pyproject.toml states and dev/test-oldest tests. Empty when not installed as a package.
    """
    from packaging.requirements import Requirement
    from packaging.version import InvalidVersion, Version

    env = environment() if env is None else env
    try:
        requires = metadata.requires("pytest-optcheck") or []
    except metadata.PackageNotFoundError:
        return []
    found = []
    for line in requires:
        requirement = Requirement(line)
        if requirement.marker is not None or requirement.name not in env:
            continue  # extras (plots, dev) and packages that do not change numbers
        installed = env[requirement.name]
        try:
            if Version(installed) not in requirement.specifier:
                found.append(f"{requirement.name} {installed} (this pytest-optcheck declares {requirement.specifier})")
        except InvalidVersion:
            continue  # "not installed", or several distributions: the items say more
    return found
