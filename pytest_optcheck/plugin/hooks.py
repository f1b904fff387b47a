"""pytest hooks and fixtures of pytest-optcheck. Thin: the work happens in the modules they call.

Nothing here imports TensorFlow: `pytest --help` and runs without `--optcheck`
stay fast. TensorFlow starts only when a run must be trained.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_optcheck.environment import BACKENDS
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.plugin.fixtures import (  # noqa: F401
    optcheck_data,
    optcheck_dataset,
    optcheck_run,
    optcheck_suite,
    optcheck_suites,
)
from pytest_optcheck.plugin.session import (
    DEFAULT_BASELINES,
    MARKERS,
    OptcheckSession,
    Options,
    SKIP_REASON,
    UpdateMode,
    project_root,
    session_key,
    suite_files,
    suite_locations,
)
from pytest_optcheck.plugin.outcomes import OutcomeRecorder
from pytest_optcheck.runs.cache import CACHE_NAME, RUNS, is_url
from pytest_optcheck.spec.suite import importable_from


SUMMARY_MODES = ("short", "full")
OUTCOMES = "optcheck-outcomes"  # the name the outcome recorder is registered under


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("optcheck", "optimizer claims and baselines (pytest-optcheck)")
    group.addoption("--optcheck", action="store_true",
                    help="train the suites' runs and check curves and claims against the baselines")
    group.addoption("--optcheck-profile", metavar="NAME",
                    help="profile of the suites to run (ini: optcheck_profile; default: each suite's default_profile)")
    group.addoption("--optcheck-update", action="store_true",
                    help="rewrite the baselines of the items that fail, and report what changed")
    group.addoption("--optcheck-update-all", action="store_true",
                    help="rewrite the baselines of every selected item, and report what changed")
    group.addoption("--optcheck-baselines", metavar="DIR",
                    help="baseline folder (ini: optcheck_baselines; default: baselines)")
    group.addoption("--optcheck-data-dir", metavar="DIR",
                    help="folder with the four Fashion-MNIST files (or OPTCHECK_DATA_DIR; ini: optcheck_data_dir)")
    group.addoption("--optcheck-download", action="store_true",
                    help="let Keras download Fashion-MNIST when no local copy is found")
    group.addoption("--optcheck-backend", choices=BACKENDS,
                    help="Keras backend to train on (ini: optcheck_backend; default: the suites' "
                         "[suite] backend, else tensorflow); "
                         "each backend has baselines of its own (<profile>@<backend>)")
    group.addoption("--optcheck-runs-at-once", metavar="N", type=int,
                    help="runs one process trains side by side (TensorFlow; default 2, 1 in a pytest-xdist "
                         "worker; JAX always 1). Each run's numbers are the same either way")
    group.addoption("--optcheck-no-cache", action="store_true",
                    help="train every run even if it is cached, and cache nothing")
    group.addoption("--optcheck-report", metavar="PATH.md",
                    help="write a markdown summary of the runs, claims and baselines (ini: optcheck_report)")
    group.addoption("--optcheck-plots", metavar="DIR",
                    help="write PNG learning curves, one per claim and one of all optimizers (ini: optcheck_plots)")
    group.addoption("--optcheck-summary", choices=SUMMARY_MODES, metavar="MODE",
                    help="what the session's end prints: short (items that failed, counts, where the report went; "
                         "the default) or full (the report's tables too; so does -v) (ini: optcheck_summary)")
    parser.addini("optcheck_suites", type="paths", default=[],
                  help="files or folders holding suite files (default: suites)")
    parser.addini("optcheck_profile", default="", help="default profile for --optcheck")
    parser.addini("optcheck_baselines", default=DEFAULT_BASELINES, help="baseline folder")
    parser.addini("optcheck_data_dir", default="", help="folder with the four Fashion-MNIST files")
    parser.addini("optcheck_backend", default="", help="Keras backend to train on (like --optcheck-backend)")
    parser.addini("optcheck_report", default="", help="markdown summary to write (like --optcheck-report)")
    parser.addini("optcheck_plots", default="", help="folder for PNG learning curves (like --optcheck-plots)")
    group.addoption("--optcheck-cache", metavar="LOCATION",
                    help="where runs are cached: a folder (one shared between jobs, on NFS say) or an object "
                         "store's URL, s3://bucket/runs or gs://... through fsspec (ini: optcheck_cache; "
                         "default: pytest's cache folder)")
    parser.addini("optcheck_cache", default="", help="where runs are cached (like --optcheck-cache)")
    group.addoption("--optcheck-ray", metavar="ADDRESS",
                    help="train the runs not cached on a Ray cluster, one task per run: auto (the cluster "
                         "`ray start` made), ray://HOST:PORT, or local (Ray on this machine's cores); "
                         "ini: optcheck_ray; needs pip install 'pytest-optcheck[ray]'")
    parser.addini("optcheck_ray", default="", help="Ray cluster address to train on (like --optcheck-ray)")
    parser.addini("optcheck_runs_at_once", default="", help="runs trained side by side (like --optcheck-runs-at-once)")
    parser.addini("optcheck_summary", default="", help="short or full (like --optcheck-summary)")


def _options(config: pytest.Config) -> Options:
    update = (UpdateMode.ALL if config.getoption("optcheck_update_all")
              else UpdateMode.FAILING if config.getoption("optcheck_update") else None)
    cache = None if config.getoption("optcheck_no_cache") or getattr(config, "cache", None) is None else config.cache.mkdir(CACHE_NAME)
    return Options(
        enabled=config.getoption("optcheck"),
        profile=config.getoption("optcheck_profile") or config.getini("optcheck_profile") or None,
        baselines=Path(config.getoption("optcheck_baselines") or config.getini("optcheck_baselines")),
        update=update,
        data_dir=config.getoption("optcheck_data_dir") or config.getini("optcheck_data_dir") or None,
        allow_download=config.getoption("optcheck_download"),
        cache_root=_cache_location(config, cache),
        report=_path_option(config, "optcheck_report"),
        plots=_path_option(config, "optcheck_plots"),
        runs_at_once=_runs_at_once(config),
    )


def _cache_location(config: pytest.Config, pytest_cache: Path | None) -> Path | str | None:
    """--optcheck-cache (or the ini key): a shared folder or an object store's URL; else pytest's cache folder."""
    if config.getoption("optcheck_no_cache"):
        return None
    location = config.getoption("optcheck_cache") or config.getini("optcheck_cache").strip()
    if not location:
        return None if pytest_cache is None else pytest_cache / RUNS
    if is_url(location):
        return location
    return project_root(config) / location  # relative to the project, as the baseline folder is


def _runs_at_once(config: pytest.Config) -> int | None:
    """--optcheck-runs-at-once, else the ini key; None for the default. A bad value is a usage error."""
    value, where = config.getoption("optcheck_runs_at_once"), "--optcheck-runs-at-once {}"
    if value is None and config.getini("optcheck_runs_at_once"):
        value, where = config.getini("optcheck_runs_at_once").strip(), "optcheck_runs_at_once = {!r} (ini)"
    if value is None:
        return None
    if not str(value).isdigit() or int(value) < 1:
        raise pytest.UsageError(f"{where.format(value)}: give a whole number of runs, 1 or more")
    return int(value)


def _full_summary(config: pytest.Config) -> bool:
    """--optcheck-summary, else the ini key, else pytest's verbosity: the tables with -v. A bad ini value is a usage error."""
    mode = config.getoption("optcheck_summary") or config.getini("optcheck_summary").strip()
    if mode and mode not in SUMMARY_MODES:
        raise pytest.UsageError(f"optcheck_summary = {mode!r} (ini): give one of: {', '.join(SUMMARY_MODES)}")
    return mode == "full" if mode else config.get_verbosity() > 0


def _path_option(config: pytest.Config, name: str) -> Path | None:
    value = config.getoption(name) or config.getini(name)
    return Path(value) if value else None


def pytest_configure(config: pytest.Config) -> None:
    _remember_benchmark_folder(config)
    for marker, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {meaning}")
    options = _options(config)
    if options.update and not options.enabled:
        raise pytest.UsageError("--optcheck-update and --optcheck-update-all need --optcheck")
    try:
        config.stash[session_key] = OptcheckSession(options, project_root(config))
    except OptcheckError as exc:  # a cache location that cannot be used, say
        raise pytest.UsageError(str(exc)) from None
    if options.enabled:
        _full_summary(config)  # a bad ini value stops the session now, not after training
        # Every item's outcome, for the summary and the report (pytest-xdist's controller gets them all).
        config.pluginmanager.register(OutcomeRecorder(config.rootpath), OUTCOMES)
        _choose_backend(config)
        # Before anything imports TensorFlow (a project's optimizer module may): it reads
        # this once, at import, and otherwise prints CUDA and CPU-feature notices.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        importable_from(project_root(config))
        _warn_outside_declared_range()
        _join_cluster(config)
    if options.enabled and options.profile:
        _check_profile(config, options.profile)
    _collect_suites_by_default(config)


def _choose_backend(config: pytest.Config) -> None:
    """The option, else the ini key, else the `backend` the session's suites declare (they must agree)."""
    from pytest_optcheck.environment import choose_backend

    chosen, where = config.getoption("optcheck_backend"), "--optcheck-backend"
    if not chosen and config.getini("optcheck_backend"):
        chosen, where = config.getini("optcheck_backend"), "optcheck_backend (ini)"
    if not chosen:
        declared = _declared_backends(config)
        if len(set(declared.values())) > 1:
            listed = ", ".join(f"{path} says {backend}" for path, backend in declared.items())
            raise pytest.UsageError(
                f"the suites ask for different Keras backends ({listed}), and Keras runs one per process: "
                "run them in separate sessions, or choose one with --optcheck-backend")
        if declared:
            path, chosen = next(iter(declared.items()))
            where = f"{path}: suite.backend ="
    if chosen:
        try:
            choose_backend(chosen, where)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None


def _declared_backends(config: pytest.Config) -> dict[Path, str]:
    """The `backend` of each suite this session may collect (those under its arguments) that declares one."""
    state = config.stash[session_key]
    given = _given_paths(config)
    declared = {}
    for path in suite_files(config):
        if given and not any(path == g or g in path.parents for g in given):
            continue
        try:
            backend = state.suite(path).backend
        except OptcheckError:
            continue  # a broken suite is reported when its file is collected
        if backend is not None:
            declared[path] = backend
    return declared


def _given_paths(config: pytest.Config) -> list[Path]:
    """The files and folders named on the command line (none: everything collected)."""
    return [Path(arg.split("::", 1)[0]).resolve() for arg in config.args]


def _warn_outside_declared_range() -> None:
    import warnings

    from pytest_optcheck.environment import outside_declared_range
    from pytest_optcheck.plugin.session import OptcheckEnvironmentWarning

    found = outside_declared_range()
    if found:
        warnings.warn(OptcheckEnvironmentWarning(
            f"outside the versions this harness supports: {'; '.join(found)}. Runs still train and are compared "
            "within the measured noise, but the harness is not tested there: install a version in the range"))


def _join_cluster(config: pytest.Config) -> None:
    """--optcheck-ray (or the ini key): connect now, so that an unreachable address stops the session in one line."""
    address = config.getoption("optcheck_ray") or config.getini("optcheck_ray").strip()
    if not address or hasattr(config, "workerinput"):
        return
    from pytest_optcheck.runs.cluster import RemoteTrainer, connect

    state = config.stash[session_key]
    try:
        cluster = connect(address, project_root(config), state.options.data_dir)
    except OptcheckError as exc:
        raise pytest.UsageError(str(exc)) from None
    state.train_on(RemoteTrainer(cluster, allow_download=state.options.allow_download))


def _check_profile(config: pytest.Config, profile: str) -> None:
    """Every suite the session runs (those under its arguments) must have the profile."""
    for suite in _session_suites(config):
        if profile not in suite.profiles:
            raise pytest.UsageError(
                f"--optcheck-profile {profile}: {suite.path} has no such profile; "
                f"choose one of: {', '.join(suite.profiles)}"
            )


def _collect_suites_by_default(config: pytest.Config) -> None:
    """`pytest` with no paths given also collects the suites (skipped unless --optcheck)."""
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return
    given = [Path(a.split("::")[0]).resolve() for a in config.args]
    for location in suite_locations(config):
        if location.exists() and not any(location == g or g in location.parents for g in given):
            config.args.append(str(location))


# pytest-benchmark makes its storage folder (.benchmarks) when it configures, in whatever
# folder pytest starts from, even when nothing is saved. This hook runs first (pytest-benchmark
# configures last): it notes whether the folder was there, and the session's end removes it
# again if pytest-benchmark made it and left it empty.
_benchmark_folder_key = pytest.StashKey[Path | None]()


def _remember_benchmark_folder(config: pytest.Config) -> None:
    storage = config.getoption("benchmark_storage", None) if config.pluginmanager.hasplugin("benchmark") else None
    folder = Path(storage[len("file://"):]) if isinstance(storage, str) and storage.startswith("file://") else None
    config.stash[_benchmark_folder_key] = folder if folder is not None and not folder.exists() else None


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(session_key, None)
    if state is not None and state.runner.remote is not None:
        from pytest_optcheck.runs.cluster import disconnect

        disconnect()
    folder = config.stash.get(_benchmark_folder_key, None)
    if folder is not None and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix != ".toml":
        return None
    if not any(file_path == loc or loc in file_path.parents for loc in suite_locations(parent.config)):
        return None
    from pytest_optcheck.plugin.items import SuiteFile

    return SuiteFile.from_parent(parent, path=file_path)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Plan the runs the selected items need (so they train together), and show training progress
    on the terminal, unless quiet (-q). A pytest-xdist worker does neither: its items are only some
    of those collected, and its controller shows the progress of items.
    """
    config = session.config
    state = config.stash.get(session_key, None)
    if state is None or not state.options.enabled or hasattr(config, "workerinput"):
        return
    from pytest_optcheck.plugin.items import ClaimItem, CurveItem, OptcheckItem
    from pytest_optcheck.plugin.planning import Needs
    from pytest_optcheck.runs.progress import Progress

    items = [item for item in session.items if isinstance(item, OptcheckItem)]
    state.planner.plan(Needs(
        runs={(item.suite.path, name): item.suite for item in items for name in item.optimizers},
        noise=frozenset((item.suite.path, item.optimizer) for item in items
                        if isinstance(item, CurveItem) and not item.spec.explicit_tolerances),
        claims=tuple((item.suite, item.claim) for item in items if isinstance(item, ClaimItem))))
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or config.get_verbosity() < 0:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    remote = state.runner.remote
    state.show_progress(Progress(_terminal_lines(reporter, capture),
                                 at_once=state.runner.at_once if remote is None else remote.cluster.workers,
                                 where="" if remote is None else remote.cluster.describe()))


def _terminal_lines(reporter, capture) -> Callable[[str, bool], None]:
    """On a terminal, one line rewritten every epoch; in a log, one line per finished run.

    Training happens inside an item's call, while pytest captures output: the lines are
    written with capturing suspended, as pytest's live logging does, so that they reach
    the terminal now instead of the item's captured output.
    """
    def show(text: str, final: bool) -> None:
        if not final and not reporter.isatty:
            return
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            if final:
                reporter.write_line(text)
            else:
                reporter.rewrite(text, erase=True)
    return show


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(session_key, None)
    if state is None or not state.options.enabled:
        return
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller reports and writes
        workeroutput["optcheck"] = state.export()
        return
    from pytest_optcheck.plugin.finish import finish

    config = session.config
    ok, lines = finish(state, _loadable_suites(config), outcomes=config.pluginmanager.get_plugin(OUTCOMES),
                       full=_full_summary(config), broken=_broken_suites(config))
    config.stash[_summary_key] = lines
    if not ok:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_summary_key = pytest.StashKey[list[str]]()  # the session's end writes the terminal's lines here


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist: gather a worker's curve statuses, measurements and baseline updates on the controller."""
    state = node.config.stash.get(session_key, None)
    if state is not None:
        state.absorb(getattr(node, "workeroutput", {}).get("optcheck", {}))


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    state = config.stash.get(session_key, None)
    if state is None:
        return
    if not state.options.enabled:
        _say_why_skipped(terminalreporter)
        return
    lines = config.stash.get(_summary_key, [])
    if not suite_files(config):  # --optcheck, but nothing to check: say where the harness looked
        where = ", ".join(str(p) for p in suite_locations(config))
        lines = [f"no suite files (*.toml) under {where}: write one there (see the tutorial), or name their "
                 "folder in the ini file: optcheck_suites = path/to/suites", *lines]
    if not lines:
        return
    terminalreporter.write_sep("-", "optcheck")
    for line in lines:
        terminalreporter.write_line(line)


def _say_why_skipped(terminalreporter) -> None:
    """Without --optcheck every optcheck item skips; say so once, since pytest hides skip reasons by default."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if isinstance(r.longrepr, tuple) and r.longrepr[2].endswith(SKIP_REASON)]
    if skipped:
        from pytest_optcheck.render.words import plural

        terminalreporter.write_sep("-", "optcheck")
        terminalreporter.write_line(f"{plural(len(skipped), 'optcheck item')} skipped: they train and check "
                                    "only with --optcheck (pytest --optcheck)")


def _session_suites(config: pytest.Config) -> list:
    """The suites that load and lie under the session's arguments (all of them without arguments):
    `pytest --optcheck-profile tuned suites/article.toml` neither checks nor reports another suite."""
    given = _given_paths(config)
    return [suite for suite in _loadable_suites(config)
            if not given or any(Path(suite.path).resolve() == g or g in Path(suite.path).resolve().parents
                                for g in given)]


def _loadable_suites(config: pytest.Config) -> list:
    """The suites that load; a broken one is reported as a collection error of its file."""
    state = config.stash[session_key]
    suites = []
    for path in suite_files(config):
        try:
            suites.append(state.suite(path))
        except OptcheckError:
            pass
    return suites


def _broken_suites(config: pytest.Config) -> list[Path]:
    """The suite files that do not load (each is already a collection error)."""
    state = config.stash[session_key]
    broken = []
    for path in suite_files(config):
        try:
            state.suite(path)
        except OptcheckError:
            broken.append(path)
    return broken
