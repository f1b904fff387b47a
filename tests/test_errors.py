"""A misspelt name or a raising constructor is one short message naming the suite file and key."""

import pytest

from conftest import TINY_SUITE
from conftest import has_lines

RAISING = '''
import keras


def helper(rate):
    raise ValueError(f"rate {rate} is not supported by this team's optimizer")


class Raising(keras.optimizers.SGD):
    def __init__(self, learning_rate=0.01, **kwargs):
        helper(learning_rate)
        super().__init__(learning_rate=learning_rate, **kwargs)
'''


def failure_text(result) -> str:
    text = result.stdout.str()
    if "= FAILURES =" not in text:
        return text
    text = text[text.index("= FAILURES ="):]
    ends = [text.index(m) for m in ("warnings summary", "short test summary", "= PASSES =") if m in text]
    return text[:min(ends)] if ends else text  # the failures alone: not pytest's warnings summary


@pytest.mark.parametrize("change, said", [
    (("batch_size = 32", 'batch_size = 32\nloss = "sparse_categorical_crosentropy"'),
     "tiny.toml: training.loss: 'sparse_categorical_crosentropy' is not a Keras loss; did you mean "
     "'sparse_categorical_crossentropy'"),
    (("batch_size = 32", 'batch_size = 32\nmetrics = ["acuracy"]'),
     "tiny.toml: training.metrics: 'acuracy' is not a Keras metric; did you mean 'accuracy'"),
])
def test_a_misspelt_loss_or_metric_is_said_once_in_a_line(project, change, said):
    project.makefile(".toml", **{"suites/tiny": TINY_SUITE.replace(*change)})
    result = project.run_optcheck(benchmarks=True)
    failures = failure_text(result)
    assert failures.count(said) == 1, failures
    assert "Traceback" not in result.stdout.str() and len(failures.splitlines()) < 40
    has_lines(result, "cannot train, for the reason given by suites/tiny.toml::")


def test_a_misspelt_optimizer_class_names_the_nearest(project):
    project.makefile(".toml", **{"suites/tiny": TINY_SUITE.replace('class = "Adam"', 'class = "Adamm"')})
    result = project.run_optcheck("-k", "curve[adam]")
    has_lines(result, "tiny.toml: optimizers.adam.class: unknown optimizer class 'Adamm'; did you mean 'Adam'")
    assert "Traceback" not in result.stdout.str()


def test_a_raising_constructor_shows_the_users_own_lines_only(project):
    project.makefile(".py", teamopt_raising=RAISING)
    project.makefile(".toml", **{"suites/tiny": TINY_SUITE.replace('class = "Adam"', 'class = "teamopt_raising:Raising"')})
    result = project.run_optcheck("-k", "curve[adam]")
    failures = failure_text(result)
    assert "optimizers.adam.kwargs: Raising(learning_rate=0.01) failed: ValueError: rate 0.01 is not supported" in failures
    assert "teamopt_raising.py" in failures and "in helper" in failures  # the user's frames
    assert "site-packages" not in failures and "pytest_optcheck" not in failures
    assert len(failures.splitlines()) <= 20, failures
