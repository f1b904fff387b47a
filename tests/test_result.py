"""A run's record: comparing two runs number for number."""

from pytest_optcheck.engine.result import RunResult, first_difference


def result(history, test_loss=0.5):
    epochs = max(len(v) for v in history.values())
    return RunResult("sgd", 0, "small", epochs, 10, history, [0.1] * epochs, {"loss": test_loss}, None, {})


def test_first_difference_names_the_earliest_epoch_then_the_test_scores():
    nan, inf = float("nan"), float("inf")
    base = result({"loss": [1.0, 0.9, inf], "val_loss": [1.1, 1.0, nan]})
    assert first_difference(base, result({"loss": [1.0, 0.9, inf], "val_loss": [1.1, 1.0, nan]})) is None
    # The earliest epoch first, whichever metric it is in.
    assert (first_difference(base, result({"loss": [1.0, 0.8, inf], "val_loss": [1.2, 1.0, nan]}))
            == "val_loss, epoch 1: 1.1 vs 1.2")
    assert (first_difference(base, result({"loss": [1.0, 0.9, inf], "val_loss": [1.1, 1.0, nan]}, 0.25))
            == "test loss: 0.5 vs 0.25")
    assert first_difference(base, result({"loss": [1.0, 0.9], "val_loss": [1.1, 1.0]})) == "loss: 3 epochs vs 2"


def test_first_difference_compares_bits_and_reads_a_cached_non_finite_value_as_the_same():
    # The cache keeps an infinite or NaN loss as null, read back as NaN: the same run, cached or not.
    assert first_difference(result({"loss": [float("inf")]}), result({"loss": [float("nan")]})) is None
    assert first_difference(result({"loss": [0.0]}), result({"loss": [-0.0]})) == "loss, epoch 1: 0.0 vs -0.0"
    assert first_difference(result({"loss": [1.0]}), result({"loss": [float("nan")]})) == "loss, epoch 1: 1.0 vs nan"


def test_first_difference_of_runs_with_other_metrics_or_lengths_says_so():
    assert first_difference(result({"loss": [1.0]}), result({"loss": [1.0], "val_loss": []})) is None
    assert (first_difference(result({"loss": [1.0]}), result({"loss": [1.0], "val_loss": [2.0]}))
            == "val_loss: 0 epochs vs 1")
    ragged = result({"loss": [1.0, 0.5], "val_loss": [2.0]})
    assert first_difference(ragged, result({"loss": [1.0, 0.5], "val_loss": [2.0, 1.5]})) == "val_loss: 1 epochs vs 2"
    no_test = result({"loss": [1.0]})
    no_test.test = None
    assert first_difference(no_test, result({"loss": [1.0]})) == "test loss: None vs 0.5"
