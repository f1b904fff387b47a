import json

import pytest

from pytest_optcheck.cli.main import main

from conftest import TINY_SUITE


@pytest.fixture
def suite_file(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SUITE)
    return path


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_prints_epochs_and_writes_json(capsys, suite_file, tiny_data, tmp_path):
    target = tmp_path / "out" / "run.json"
    code, out, _ = run(capsys, "run", "--suite", str(suite_file), "--optimizer", "adam", "--seed", "1",
                       "--epochs", "3", "--train-samples", "160", "--data-dir", str(tiny_data),
                       "--cache-dir", str(tmp_path / "cache"), "--json", str(target))
    assert code == 0
    assert "adam (adam), seed 1, profile small: 160 images, 3 epochs, trained" in out
    assert "epoch    loss    accuracy    val_loss    val_accuracy    seconds" in out
    data = json.loads(target.read_text())
    assert set(data["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in data["history"].values())
    assert len(data["epoch_seconds"]) == 3 and set(data["test"]) == {"loss", "accuracy"}
    assert data["diverged"] is False and data["environment"]["keras"]
    assert (data["optimizer"], data["seed"], data["epochs"], data["train_samples"]) == ("adam", 1, 3, 160)

    code, again, _ = run(capsys, "run", "--suite", str(suite_file), "--optimizer", "adam", "--seed", "1",
                         "--epochs", "3", "--train-samples", "160", "--data-dir", str(tiny_data),
                         "--cache-dir", str(tmp_path / "cache"))
    assert "from the cache" in again


def test_unknown_optimizer_is_a_clear_error(capsys, suite_file):
    code, _, err = run(capsys, "run", "--suite", str(suite_file), "--optimizer", "adamw")
    assert code == 2
    assert "optcheck: error:" in err and "no optimizer 'adamw'; the suite has: sgd, adam" in err


def test_unknown_profile_lists_valid_ones(capsys, suite_file):
    code, _, err = run(capsys, "run", "--suite", str(suite_file), "--profile", "nope")
    assert code == 2 and "choose one of: small, other" in err


def test_missing_suite_file(capsys, tmp_path):
    code, _, err = run(capsys, "run", "--suite", str(tmp_path / "none.toml"))
    assert code == 2 and "none.toml: suite file not found" in err


def test_several_runs_train_together_and_print_in_the_order_asked(capsys, suite_file, tiny_data, tmp_path):
    args = ["run", "--suite", str(suite_file), "--optimizer", "adam", "--optimizer", "sgd", "--seed", "2",
            "--seed", "0", "--epochs", "1", "--data-dir", str(tiny_data), "--no-cache"]
    code, out, _ = run(capsys, *args, "--json", str(tmp_path / "together.json"))
    assert code == 0
    headings = [line.split(", profile")[0] for line in out.splitlines() if ", profile small:" in line]
    assert headings == ["adam (adam), seed 2", "adam (adam), seed 0", "sgd (sgd), seed 2", "sgd (sgd), seed 0"]
    code, _, _ = run(capsys, *args, "--runs-at-once", "1", "--json", str(tmp_path / "alone.json"))
    together, alone = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("together", "alone"))
    assert [r["history"] for r in together] == [r["history"] for r in alone]


@pytest.mark.parametrize("flag, value", [("--epochs", "-1"), ("--epochs", "0"), ("--train-samples", "x"),
                                         ("--seed", "-3"), ("--runs-at-once", "0")])
def test_bad_counts_are_usage_errors(capsys, suite_file, flag, value):
    with pytest.raises(SystemExit) as info:
        main(["run", "--suite", str(suite_file), flag, value])
    assert info.value.code == 2
    assert flag in capsys.readouterr().err


def test_too_many_training_images(capsys, suite_file, tiny_data, tmp_path):
    code, _, err = run(capsys, "run", "--suite", str(suite_file), "--optimizer", "sgd", "--seed", "0",
                       "--train-samples", "5000", "--data-dir", str(tiny_data), "--no-cache")
    assert code == 2 and "asks for 5000 training examples" in err and "has 300" in err


def test_unknown_keyword_argument_is_reported_before_training(capsys, tmp_path, tiny_data):
    path = tmp_path / "bad.toml"
    path.write_text(TINY_SUITE.replace("{ learning_rate = 0.01 }", "{ lr = 0.01 }"))
    code, out, err = run(capsys, "run", "--suite", str(path), "--optimizer", "adam", "--data-dir", str(tiny_data),
                         "--no-cache")
    assert code == 2 and "optimizers.adam.kwargs: Adam(lr=0.01) failed: ValueError: Argument(s) not recognized" in err
    assert "trained" not in out


def test_missing_data_suggests_this_commands_options(capsys, suite_file, tmp_path):
    code, out, err = run(capsys, "run", "--suite", str(suite_file), "--optimizer", "sgd",
                         "--data-dir", str(tmp_path / "nonexistent"), "--no-cache")
    assert code == 2 and "Fashion-MNIST was not found" in err and "nonexistent (folder does not exist)" in err
    assert "The folder was chosen by --data-dir / OPTCHECK_DATA_DIR" in err
    assert "optcheck run --data-dir DIR" in err and "optcheck run --download" in err
    assert "--optcheck-" not in err and "trained" not in out


def test_a_suite_backend_keras_cannot_switch_to_is_one_clear_error(capsys, tmp_path, tiny_data):
    """optcheck run follows [suite] backend; once Keras runs on another, it says so naming the suite key."""
    import keras

    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    path = tmp_path / "s.toml"
    path.write_text(TINY_SUITE.replace('name = "tiny"', f'name = "tiny"\nbackend = "{other}"'))
    assert main(["run", "--suite", str(path), "--data-dir", str(tiny_data), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert f"s.toml: suite.backend = {other}: Keras was already imported on the {keras.backend.backend()} backend" in err
    assert "Traceback" not in err


def test_reference_is_refused_on_the_training_stand_in_in_one_line(capsys, suite_file, tiny_data):
    """The stand-in's runs cannot match Keras's plain way: saying they differ would report a bug that is not."""
    code, out, err = run(capsys, "run", "--suite", str(suite_file), "--optimizer", "sgd", "--seed", "0",
                         "--data-dir", str(tiny_data), "--no-cache", "--reference")
    assert code != 0
    assert "OPTCHECK_STAND_IN=1: runs come from the training stand-in" in err and "unset OPTCHECK_STAND_IN" in err
    assert "DIFFERENT" not in out and "Traceback" not in err


@pytest.mark.trains
def test_reference_says_each_run_is_bit_identical_to_the_plain_way(capsys, suite_file, tiny_data, tmp_path):
    code, out, err = run(capsys, "run", "--suite", str(suite_file), "--optimizer", "adam", "--optimizer", "sgd",
                         "--seed", "0", "--seed", "1", "--data-dir", str(tiny_data), "--no-cache", "--reference")
    assert code == 0, err
    assert out.count("the plain way (a fresh model, Keras's fit one step per call): bit-identical") == 4


@pytest.mark.trains
def test_reference_names_where_a_run_first_differs_and_fails(capsys, suite_file, tiny_data, monkeypatch):
    """An engine that copied a run's state one ulp off: the runs on a kept model differ from the plain way."""
    import numpy as np

    from pytest_optcheck.engine import training

    copy = training.copy_state

    def one_ulp_off(model, optimizer, kept):
        copied = copy(model, optimizer, kept)
        if copied:
            kernel = kept.trainable_variables[0]
            kernel.assign(np.nextafter(kernel.numpy(), np.inf))
        return copied

    monkeypatch.setattr(training, "copy_state", one_ulp_off)
    code, out, err = run(capsys, "run", "--suite", str(suite_file), "--optimizer", "adam", "--seed", "0",
                         "--seed", "1", "--seed", "2", "--data-dir", str(tiny_data), "--no-cache",
                         "--runs-at-once", "1", "--reference")
    assert code == 1
    # Seed 0 built the model that seeds 1 and 2 then trained on.
    verdicts = [line for line in out.splitlines() if line.startswith("the plain way")]
    assert verdicts[0].endswith("bit-identical") and len(verdicts) == 3
    assert all(line.startswith("the plain way (a fresh model, Keras's fit one step per call): DIFFERENT: loss, epoch 1: ")
               for line in verdicts[1:])
    assert "2 of 3 runs differ from the plain way" in err and "Traceback" not in err

