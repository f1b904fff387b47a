"""The `optcheck` command: train runs, render reports, compare baseline sets."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pytest_optcheck import __version__, atomic
from pytest_optcheck.cli.project import choose_suite, find_project
from pytest_optcheck.environment import BACKENDS, choose_backend
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.runs.cache import PYTEST_CACHE_RUNS


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be 1 or more")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="optcheck", description="Check claims about optimizers against baselines.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="train runs of a suite and print their per-epoch metrics")
    add_training_arguments(run)
    run.add_argument("--seed", action="append", type=non_negative_int, help="seed; repeat (default: the profile's)")
    run.add_argument("--epochs", type=positive_int, help="override the profile's epoch count")
    run.add_argument("--train-samples", type=positive_int, help="override the profile's training image count")
    run.add_argument("--json", type=Path, metavar="PATH", help="write the run (or a list of runs) as JSON")
    run.add_argument("--reference", action="store_true",
                     help="also train each run the plain way (a fresh model and Keras's own fit, one step per "
                          "call, one run at a time, never cached) and say whether the harness's run is "
                          "bit-identical to it; exit status 1 if one is not")
    run.set_defaults(handler=command_run)
    add_report_command(commands)
    add_diff_command(commands)
    add_sensitivity_command(commands)
    return parser


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every command that trains: which runs, which cache, which data."""
    parser.add_argument("--suite", metavar="PATH_OR_NAME",
                        help="suite file, or the name of one of the project's suites (default: the project's only "
                             "suite, found as pytest finds them: optcheck_suites in its pytest settings, else suites/)")
    parser.add_argument("--profile", help="profile name (default: the suite's default_profile)")
    parser.add_argument("--optimizer", action="append", help="optimizer name; repeat for several (default: all)")
    parser.add_argument("--cache-dir", type=Path, default=PYTEST_CACHE_RUNS, help="run cache (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="train even if runs are cached, and store nothing")
    parser.add_argument("--data-dir", help="folder with the four Fashion-MNIST files")
    parser.add_argument("--download", action="store_true", help="let Keras download Fashion-MNIST if it is not found")
    parser.add_argument("--backend", choices=BACKENDS, help="Keras backend to train on (default: the suite's backend, else tensorflow)")
    parser.add_argument("--runs-at-once", type=positive_int, metavar="N",
                        help="runs trained side by side (TensorFlow; default 2; JAX always 1); "
                             "each run's numbers are the same either way")


def training_setup(args: argparse.Namespace, command: str):
    """The suite, the chosen optimizer names and a runner with its data loaded, for a command that trains.

    The data is loaded first, so a data error names this command's options, before anything trains.
    """
    from pytest_optcheck.engine.dataset import DataError, DataOptions
    from pytest_optcheck.runs.runner import Runner
    from pytest_optcheck.spec.suite import importable_from, load_suite

    project = find_project()
    importable_from(project.root)  # the project's own optimizer modules, as under pytest
    suite = load_suite(choose_suite(project, args.suite))
    if suite.backend and not getattr(args, "backend", None):  # the suite's own choice, unless --backend says
        try:
            choose_backend(suite.backend, f"{suite.path}: suite.backend =")
        except ValueError as exc:
            raise OptcheckError(str(exc)) from None
    names = args.optimizer or list(suite.optimizers)
    for name in names:
        suite.optimizer(name)  # unknown names fail before anything trains
    runner = Runner(None if args.no_cache else args.cache_dir, data_dir=args.data_dir, allow_download=args.download,
                    at_once=args.runs_at_once)
    try:
        runner.dataset_for(suite)
    except DataError as exc:
        raise OptcheckError(exc.explain(DataOptions("--data-dir", "--download", command))) from None
    return suite, names, runner


def add_sensitivity_command(commands) -> None:
    sense = commands.add_parser(
        "sensitivity", help="mutation testing: which small optimizer changes the checks catch, and false alarms")
    add_training_arguments(sense)
    sense.add_argument("--baselines", type=Path, metavar="DIR",
                       help="baseline folder (default: the project's optcheck_baselines, else baselines/)")
    sense.add_argument("--nudges", type=positive_int, nargs="+", default=None, metavar="SEED",
                       help="nudge seeds of the benign one-ulp perturbations (default: 101 102 103)")
    sense.add_argument("--no-onednn", action="store_true",
                       help="skip the benign perturbation that trains with oneDNN switched the other way")
    sense.add_argument("--output", type=Path, metavar="PATH", help="also write the table (Markdown) here")
    sense.set_defaults(handler=command_sensitivity)


def add_report_command(commands) -> None:
    report = commands.add_parser("report", help="render a stored baseline folder as a report (no training)")
    report.add_argument("baseline_dir", type=Path, metavar="BASELINE_DIR",
                        help="a baseline folder, baselines/<suite>/<profile>")
    report.add_argument("--format", choices=("md", "term"), default="md",
                        help="md: Markdown; term: plain text tables (default: %(default)s)")
    report.add_argument("--suite", type=Path, metavar="PATH",
                        help="suite file, for the target loss, published figures and plots "
                             "(default: suites/<suite>.toml when it exists)")
    report.add_argument("--output", type=Path, metavar="PATH", help="write the report here instead of printing it")
    report.add_argument("--plots", type=Path, metavar="DIR", help="also write PNG learning curves into DIR")
    report.set_defaults(handler=command_report)


def add_diff_command(commands) -> None:
    diff = commands.add_parser("diff", help="compare two stored baseline folders (no training)")
    diff.add_argument("old_dir", type=Path, metavar="OLD_DIR", help="the baseline folder before")
    diff.add_argument("new_dir", type=Path, metavar="NEW_DIR", help="the baseline folder after")
    diff.add_argument("--format", choices=("md", "term"), default="md",
                      help="md: Markdown; term: plain text tables (default: %(default)s)")
    diff.add_argument("--output", type=Path, metavar="PATH", help="write the comparison here instead of printing it")
    diff.set_defaults(handler=command_diff)


def command_run(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from pytest_optcheck.engine.result import first_difference
    from pytest_optcheck.spec.suite import replace_profile

    suite, names, runner = training_setup(args, "optcheck run")
    profile = replace_profile(suite.profile(args.profile), epochs=args.epochs, train_samples=args.train_samples)
    seeds = args.seed or list(profile.seeds)
    # Trained together first (side by side where the backend allows), then shown in order.
    results = runner.run_many(suite, profile, [(name, seed, None) for name in names for seed in seeds])
    differing = 0
    for result in results:
        print(f"\n{suite.optimizer(result.optimizer).label} ({result.optimizer}), seed {result.seed}, "
              f"profile {profile.name}: {result.train_samples} images, {result.epochs} epochs, "
              f"{'from the cache' if result.cached else 'trained'}")
        print(epoch_table(result, tabulate))
        if result.diverged:
            print(f"diverged at epoch {result.diverged_at}: the loss was not finite")
        else:
            print("test: " + ", ".join(f"{m} {v:.4f}" for m, v in result.test.items()))
        if args.reference:
            difference = first_difference(result, runner.reference(suite, result.optimizer, result.seed, profile))
            differing += difference is not None
            print("the plain way (a fresh model, Keras's fit one step per call): "
                  + ("bit-identical" if difference is None else f"DIFFERENT: {difference}"))
    if args.json:
        payload = results[0].to_json() if len(results) == 1 else [r.to_json() for r in results]
        atomic.write_text(args.json, json.dumps(payload, indent=2, sort_keys=True) + "\n")
        print(f"\nwrote {args.json}")
    if differing:
        print(f"\n{differing} of {len(results)} runs differ from the plain way, which the harness's runs must "
              "never do: a bug of pytest-optcheck. Please report it with this output.", file=sys.stderr)
    return 1 if differing else 0


def command_report(args: argparse.Namespace) -> int:
    """Render stored baselines; reads JSON only, so it never starts TensorFlow."""
    from pytest_optcheck.render.folder import load_baseline_dir
    from pytest_optcheck.render.report import render_markdown, render_terminal

    inp = load_baseline_dir(args.baseline_dir, args.suite)
    text = render_markdown(inp) if args.format == "md" else render_terminal(inp)
    emit(text, args.output)
    if args.plots:
        from pytest_optcheck.render.plots import write_plots

        for path in write_plots(args.plots, inp):
            print(f"wrote {path}")
        if inp.suite is None and inp.claims:
            print("no claim plots: which optimizers a claim compares is in the suite file; pass --suite")
    return 0


def command_diff(args: argparse.Namespace) -> int:
    """Compare two stored baseline folders; the suite file plays no part, only what the files hold."""
    from pytest_optcheck.render.diff import mismatch_warnings, render_diff
    from pytest_optcheck.render.folder import load_baseline_dir

    old = load_baseline_dir(args.old_dir, find_suite=False, generated="")
    new = load_baseline_dir(args.new_dir, find_suite=False, generated="")
    for warning in mismatch_warnings(old, new):  # also in the output; here too in case it goes to a file
        print(f"optcheck: warning: {warning}", file=sys.stderr)
    emit(render_diff(old, new, old_name=str(args.old_dir), new_name=str(args.new_dir), fmt=args.format),
         args.output)
    return 0


def command_sensitivity(args: argparse.Namespace) -> int:
    from pytest_optcheck.cli.sensitivity import DEFAULT_NUDGES, Sensitivity, render

    suite, names, runner = training_setup(args, "optcheck sensitivity")
    profile = suite.profile(args.profile)
    if profile.tune is not None:
        raise OptcheckError(
            f"optcheck sensitivity --profile {profile.name}: a tuned profile's baselines were trained at the rates "
            "its selection chose, and the mutations here would train at the suite's own: run it on an untuned "
            "profile of the same size (for the article suite, ci)")
    study = Sensitivity(suite, profile, args.baselines or find_project().baselines(), runner)
    for name in names:
        study.recorded(name)  # every baseline must exist before hours of training
    nudges = tuple(args.nudges or DEFAULT_NUDGES)
    trials = []
    for name in names:
        print(f"sensitivity: {name}: mutations, then {len(nudges)} nudges", file=sys.stderr, flush=True)
        trials += study.mutation_trials(name) + study.nudge_trials(name, nudges)
    if not args.no_onednn:
        print("sensitivity: oneDNN switched, in a child process", file=sys.stderr, flush=True)
        trials += study.onednn_trials(names, data_dir=args.data_dir, cache_dir=runner.cache.root)
    text = render(trials, suite, profile)
    print(text, end="")
    if args.output:
        atomic.write_text(args.output, text)
        print(f"wrote {args.output}")
    return 0


def emit(text: str, output: Path | None) -> None:
    """Print `text`, or write it atomically to `output` and say where."""
    if output is None:
        print(text, end="")
    else:
        atomic.write_text(output, text)
        print(f"wrote {output}")


def epoch_table(result, tabulate) -> str:
    from pytest_optcheck.metrics import ordered

    metrics = ordered(result.history)
    rows = []
    for i, seconds in enumerate(result.epoch_seconds):
        row = [i + 1] + [result.history[m][i] for m in metrics]
        rows.append(row + [seconds])
    headers = ["epoch", *metrics, "seconds"]
    return tabulate(rows, headers=headers, floatfmt=(".0f", *[".4f"] * len(metrics), ".2f"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "backend", None):
            try:
                choose_backend(args.backend, "--backend")
            except ValueError as exc:
                parser.error(str(exc))
        return args.handler(args)
    except OptcheckError as exc:
        print(f"optcheck: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("optcheck: interrupted; finished runs stay in the cache, unfinished ones left no trace", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
