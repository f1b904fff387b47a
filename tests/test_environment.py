"""The environment names the installed TensorFlow whichever wheel installed it, read from metadata alone."""

from __future__ import annotations

import sys

import pytest

from pytest_optcheck import environment


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A site-packages folder holding only the distributions a test installs into it."""
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    environment.reread_environment()
    yield Site(tmp_path)
    environment.reread_environment()


class Site:
    def __init__(self, folder):
        self.folder = folder

    def install(self, name: str, version: str, *, ships: str = "tensorflow") -> None:
        info = self.folder / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "top_level.txt").write_text(f"{ships}\n")


def test_the_cpu_only_wheel_is_named_by_its_version(site):
    site.install("tensorflow-cpu", "2.18.1")
    site.install("keras", "3.6.0", ships="keras")
    assert environment.module_version("tensorflow") == "2.18.1"
    assert environment.environment()["tensorflow"] == "2.18.1"
    assert environment.environment()["keras"] == "3.6.0"


def test_windows_meta_package_and_its_build_agree(site):
    site.install("tensorflow", "2.18.1")
    site.install("tensorflow-intel", "2.18.1")
    assert environment.module_version("tensorflow") == "2.18.1"


def test_a_build_with_an_unlisted_name_is_found_by_what_it_ships(site):
    site.install("tensorflow-rocm", "2.16.2")
    assert environment.module_version("tensorflow") == "2.16.2"


def test_two_wheels_with_different_versions_are_both_named(site):
    site.install("tensorflow", "2.21.0")
    site.install("tensorflow-cpu", "2.18.1")
    assert environment.module_version("tensorflow") == "2.21.0 (tensorflow) / 2.18.1 (tensorflow-cpu)"


def test_nothing_installed(site):
    site.install("tensorflow-datasets", "4.9.0", ships="tensorflow_datasets")  # not TensorFlow itself
    assert environment.module_version("tensorflow") == "not installed"
    assert environment.environment()["tensorflow"] == "not installed"


def test_a_kernel_build_is_no_difference_but_versions_architecture_and_libc_are():
    from pytest_optcheck.environment import differences

    base = {"tensorflow": "2.21.0", "platform": "Linux-6.18.44-fc-v669-x86_64-with-glibc2.36"}
    assert differences(base, {**base, "platform": "Linux-6.1.0-13-amd64-x86_64-with-glibc2.36"}) == {}
    assert set(differences(base, {**base, "platform": "Linux-6.18.44-aarch64-with-glibc2.36"})) == {"platform"}
    assert set(differences(base, {**base, "platform": "Linux-6.18.44-x86_64-with-glibc2.41"})) == {"platform"}
    assert differences(base, {**base, "tensorflow": "2.18.1"}) == {"tensorflow": ("2.21.0", "2.18.1")}


def test_a_backend_is_chosen_before_keras_is_imported_and_gets_its_own_baselines(monkeypatch, tmp_path):
    import pytest

    from pytest_optcheck.baselines.store import folder_name
    from pytest_optcheck.environment import choose_backend, environment, reread_environment

    with pytest.raises(ValueError, match="--optcheck-backend torch: the harness trains on tensorflow or jax"):
        choose_backend("torch", "--optcheck-backend")
    monkeypatch.delitem(__import__("sys").modules, "keras", raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    choose_backend("jax", "--optcheck-backend")
    try:
        assert environment()["backend"] == "jax" and "jaxlib" in environment()
    finally:
        monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
        reread_environment()
    assert "backend" not in environment()  # TensorFlow's identities are the ones baselines always had
    assert folder_name("ci", "tensorflow") == "ci" and folder_name("ci", "jax") == "ci@jax"


def test_a_backend_cannot_be_chosen_after_keras_was_imported_on_another(monkeypatch):
    import sys
    import types

    import pytest

    from pytest_optcheck.environment import choose_backend

    imported = types.SimpleNamespace(backend=types.SimpleNamespace(backend=lambda: "tensorflow"))
    monkeypatch.setitem(sys.modules, "keras", imported)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="Keras was already imported on the tensorflow backend"):
        choose_backend("jax", "--optcheck-backend")
    choose_backend("tensorflow", "--optcheck-backend")  # the backend it has: fine


def test_a_suite_may_name_its_backend_and_the_option_overrides_it(pytester, monkeypatch):
    """[suite] backend chooses Keras's backend when no option or ini key does; suites that disagree are refused."""
    from conftest import TINY_SUITE

    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    jax_suite = TINY_SUITE.replace('name = "tiny"', 'name = "tiny"\nbackend = "jax"')
    pytester.makefile(".toml", **{"suites/a": jax_suite})
    pytester.makeconftest("import os\n\ndef pytest_collection_finish(session):\n"
                          "    print('chosen backend:', os.environ.get('KERAS_BACKEND'))\n")

    def chosen(*args):
        return pytester.runpytest_subprocess("--optcheck", "--collect-only", "-q", *args)

    chosen().stdout.fnmatch_lines(["chosen backend: jax"])
    chosen("--optcheck-backend", "tensorflow").stdout.fnmatch_lines(["chosen backend: tensorflow"])
    pytester.makefile(".toml", **{"suites/b": jax_suite.replace('"jax"', '"tensorflow"').replace('"tiny"', '"b"')})
    refused = chosen()
    assert refused.ret == 4  # a usage error
    refused.stderr.fnmatch_lines(["*the suites ask for different Keras backends (*a.toml says jax, *b.toml says "
                                  "tensorflow)*--optcheck-backend*"])
    chosen("suites/a.toml").stdout.fnmatch_lines(["chosen backend: jax"])  # only the suites the session runs count


def test_an_unknown_suite_backend_is_named(tmp_path):
    import pytest

    from conftest import TINY_SUITE
    from pytest_optcheck.errors import OptcheckError
    from pytest_optcheck.spec.suite import load_suite

    path = tmp_path / "s.toml"
    path.write_text(TINY_SUITE.replace('name = "tiny"', 'name = "tiny"\nbackend = "torch"'))
    with pytest.raises(OptcheckError, match=r"suite.backend.*unknown backend; the harness trains on tensorflow or jax"):
        load_suite(path)
