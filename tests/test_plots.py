"""PNG learning curves: written whole, one per claim plus one with every optimizer; a clear message without matplotlib."""

from __future__ import annotations

import sys

import pytest
from baseline_data import adam_file, report_input, run, sgd_file, write_baselines

from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.render.plots import write_plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_pngs_are_written(tmp_path, pair_suite):  # noqa: F811
    pytest.importorskip("matplotlib")
    target = tmp_path / "plots"
    written = write_plots(target, report_input(pair_suite))
    assert [p.name for p in written] == ["claim-adam-beats-sgd.png", "all-optimizers.png"]
    for path in written:
        data = path.read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_SIGNATURE)
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in written)  # no temporary files left


def test_diverged_curves_are_drawn(tmp_path, pair_suite):  # noqa: F811
    pytest.importorskip("matplotlib")
    adam = adam_file()
    for run_entry in adam["seeds"].values():
        run_entry["history"] = {m: v[:1] + [None, None] for m, v in run_entry["history"].items()}
        run_entry["diverged_at_epoch"] = 2
    inp = report_input(pair_suite, optimizers={"sgd": sgd_file(), "adam": adam})
    assert len(write_plots(tmp_path, inp)) == 2


def test_without_suite_only_the_overview_is_written(tmp_path, pair_suite):  # noqa: F811
    pytest.importorskip("matplotlib")
    written = write_plots(tmp_path, report_input(None))
    assert [p.name for p in written] == ["all-optimizers.png"]


def test_report_command_writes_plots(capsys, tmp_path, pair_suite):  # noqa: F811
    pytest.importorskip("matplotlib")
    folder = write_baselines(tmp_path)
    code, out, err = run(capsys, "report", folder, "--suite", pair_suite.path, "--plots", tmp_path / "png")
    assert code == 0, err
    assert f"wrote {tmp_path / 'png' / 'all-optimizers.png'}" in out
    assert (tmp_path / "png" / "claim-adam-beats-sgd.png").read_bytes().startswith(PNG_SIGNATURE)


def test_missing_matplotlib_is_a_clear_error(monkeypatch, tmp_path, pair_suite):  # noqa: F811
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(OptcheckError, match=r"plots need matplotlib: pip install 'pytest-optcheck\[plots\]'"):
        write_plots(tmp_path / "plots", report_input(pair_suite))
    assert not (tmp_path / "plots").exists()
