from pathlib import Path

import pytest

from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.engine.optimizers import check_optimizer
from pytest_optcheck.spec.suite import load_suite

from conftest import TINY_SUITE

ARTICLE = Path(__file__).resolve().parents[1] / "suites" / "article.toml"


def write(tmp_path, text):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def error(tmp_path, text) -> str:
    with pytest.raises(OptcheckError) as info:
        load_suite(write(tmp_path, text))
    return str(info.value)


def test_article_suite_encodes_the_experiment():
    suite = load_suite(ARTICLE)
    assert list(suite.optimizers) == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamax", "nadam"]
    assert suite.model.hidden_units == (300, 100, 50, 50, 50)
    assert suite.training.batch_size == 32 and suite.training.validation_split == 0.1
    assert suite.profiles["smoke"].train_samples == 6000 and suite.profiles["smoke"].seeds == (0, 1, 2)
    assert suite.profiles["article"].epochs == 20 and suite.profiles["article"].seeds == (50, 51, 52)
    assert suite.optimizers["nesterov"].kwargs == {"learning_rate": 0.001, "momentum": 0.9, "nesterov": True}
    assert all(c.quote for c in suite.claims)
    check_optimizers(suite)  # every class and keyword argument exists in this Keras


def test_toml_syntax_error_names_file_and_line(tmp_path):
    message = error(tmp_path, TINY_SUITE.replace('name = "tiny"', 'name = "tiny'))
    assert "s.toml: invalid TOML" in message and "line 2" in message


def test_missing_required_field(tmp_path):
    message = error(tmp_path, TINY_SUITE.replace('class = "Adam"\n', ""))
    assert "optimizers.adam.class: missing" in message


def test_unknown_key_is_rejected(tmp_path):
    message = error(tmp_path, TINY_SUITE.replace("epochs = 2", "epochs = 2\nepoch = 3"))
    assert "profiles.small.epoch: unknown key" in message


def test_wrong_type(tmp_path):
    message = error(tmp_path, TINY_SUITE.replace("epochs = 2", 'epochs = "two"'))
    assert "profiles.small.epochs: expected a whole number, found \"two\"" in message


def test_profile_with_no_seeds(tmp_path):
    message = error(tmp_path, TINY_SUITE.replace("seeds = [0, 1, 2]", "seeds = []"))
    assert "profiles.small.seeds: must not be empty" in message


@pytest.mark.parametrize("budget, problem", [
    ("{ first = 3, max = 2 }", "profiles.small.seeds.max: must be at least first (3)"),
    ("{ max = 9 }", "profiles.small.seeds.first: missing"),
    ("{ first = 3, maximum = 9 }", "profiles.small.seeds.maximum: unknown key"),
    ("{ first = 0 }", "profiles.small.seeds.first: must be positive"),
])
def test_a_bad_seed_budget_names_its_key(tmp_path, budget, problem):
    assert problem in error(tmp_path, TINY_SUITE.replace("seeds = [0, 1, 2]", f"seeds = {budget}"))


def test_a_seed_budget_gives_the_first_seeds_and_the_pool():
    from pytest_optcheck.spec.suite import Profile

    profile = Profile("p", None, 1, (50, 51, 52), max_seeds=6, seed_group=3)
    assert profile.seed_pool() == (50, 51, 52, 53, 54, 55)
    assert Profile("q", None, 1, (4, 0, 2), max_seeds=5).seed_pool() == (4, 0, 2, 5, 6)  # after the largest, never a repeat


def test_empty_suite(tmp_path):
    assert "has no optimizers" in error(tmp_path, '[suite]\nname = "x"\n[profiles.smoke]\nepochs = 1\nseeds = [0]\n')


def test_unknown_default_profile(tmp_path):
    message = error(tmp_path, TINY_SUITE.replace('default_profile = "small"', 'default_profile = "huge"'))
    assert "suite.default_profile: no profile 'huge'" in message


def test_unknown_profile_lists_choices(tmp_path):
    suite = load_suite(write(tmp_path, TINY_SUITE))
    with pytest.raises(OptcheckError, match="no profile 'nope'; choose one of: small, other"):
        suite.profile("nope")


def test_claim_with_unknown_optimizer(tmp_path):
    message = error(tmp_path, TINY_SUITE.replace('worse = "sgd"', 'worse = "sgdd"'))
    assert "claims[adam-beats-sgd].worse: unknown optimizer 'sgdd'" in message


def test_claim_with_unknown_metric(tmp_path):
    message = error(tmp_path, TINY_SUITE.replace('worse = "sgd"', 'worse = "sgd"\nmetric = "f1"'))
    assert "claims[adam-beats-sgd].metric: unknown metric" in message


def test_duplicate_claim_ids(tmp_path):
    claim = TINY_SUITE[TINY_SUITE.index("[[claims]]"):]
    assert "duplicate claim id 'adam-beats-sgd'" in error(tmp_path, TINY_SUITE + "\n" + claim)


def check_optimizers(suite):
    for name in suite.optimizers:
        check_optimizer(suite, name)


def test_unknown_claim_kind(tmp_path):
    assert "unknown kind" in error(tmp_path, TINY_SUITE.replace('kind = "ordering"', 'kind = "better"'))


def test_unknown_optimizer_class(tmp_path):
    suite = load_suite(write(tmp_path, TINY_SUITE.replace('class = "Adam"', 'class = "Adamm"')))
    with pytest.raises(OptcheckError, match=r"optimizers.adam.class: unknown optimizer class 'Adamm'; did you mean 'Adam'.* keras.optimizers has: .*Adam"):
        check_optimizers(suite)


def test_unknown_keyword_argument(tmp_path):
    suite = load_suite(write(tmp_path, TINY_SUITE.replace("{ learning_rate = 0.01 }", "{ lr = 0.01 }")))
    # Keras's own message, under the suite key.
    with pytest.raises(OptcheckError, match=r"optimizers.adam.kwargs: Adam\(lr=0.01\) failed: ValueError: .*lr"):
        check_optimizers(suite)


def test_a_class_forwarding_kwargs_to_keras_takes_the_base_arguments(tmp_path, monkeypatch):
    (tmp_path / "fwd.py").write_text(
        "import keras\n"
        "class Scaled(keras.optimizers.SGD):\n"
        "    def __init__(self, scale=1.0, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.scale = scale\n")
    monkeypatch.syspath_prepend(tmp_path)
    good = TINY_SUITE.replace('class = "Adam"\nkwargs = { learning_rate = 0.01 }',
                              'class = "fwd:Scaled"\nkwargs = { scale = 0.5, learning_rate = 0.01, clipnorm = 1.0 }')
    check_optimizers(load_suite(write(tmp_path, good)))
    bad = load_suite(write(tmp_path, good.replace("clipnorm = 1.0", "clipnrom = 1.0")))
    with pytest.raises(OptcheckError, match=r"optimizers.adam.kwargs: Scaled\(.*clipnrom=1.0\) failed: .*clipnrom"):
        check_optimizers(bad)


def test_custom_optimizer_class_by_import_path(tmp_path, monkeypatch):
    (tmp_path / "myopt.py").write_text("import keras\nclass Mine(keras.optimizers.SGD):\n    pass\n")
    monkeypatch.syspath_prepend(tmp_path)
    suite = load_suite(write(tmp_path, TINY_SUITE.replace('class = "Adam"', 'class = "myopt:Mine"')))
    check_optimizers(suite)
    missing = load_suite(write(tmp_path, TINY_SUITE.replace('class = "Adam"', 'class = "nosuchmodule:Mine"')))
    with pytest.raises(OptcheckError, match="cannot import 'nosuchmodule'"):
        check_optimizers(missing)


def test_any_keras_metric_names_the_curves_and_claims_follow(tmp_path):
    suite = load_suite(write(tmp_path, TINY_SUITE.replace("batch_size = 32", 'batch_size = 32\nmetrics = ["mae"]')
                             .replace('kind = "ordering"', 'kind = "ordering"\nmetric = "val_mae"')))
    assert suite.training.epoch_metrics == ("loss", "mae", "val_loss", "val_mae")
    assert suite.claims[0].metric == "val_mae"
    regression = load_suite(write(tmp_path, TINY_SUITE.replace("batch_size = 32", "batch_size = 32\nmetrics = []")))
    assert regression.training.epoch_metrics == ("loss", "val_loss")


@pytest.mark.parametrize("metrics, problem", [
    ('["val_mae"]', "the loss and the val_ forms are recorded anyway"),
    ('["loss"]', "the loss and the val_ forms are recorded anyway"),
    ('["mae", "mae"]', "has duplicates"),
    ('["mean absolute"]', "must be a list of Keras metric names"),
])
def test_bad_metric_names_are_refused(tmp_path, metrics, problem):
    message = error(tmp_path, TINY_SUITE.replace("batch_size = 32", f"batch_size = 32\nmetrics = {metrics}"))
    assert f"training.metrics: {problem}" in message


def test_a_claim_on_a_metric_the_suite_does_not_record_is_refused(tmp_path):
    message = error(tmp_path, TINY_SUITE.replace("batch_size = 32", "batch_size = 32\nmetrics = []")
                    .replace('kind = "ordering"', 'kind = "ordering"\nmetric = "accuracy"'))
    assert "metric: unknown metric; use one of: loss, val_loss" in message


def test_tolerance_for_an_unknown_metric(tmp_path):
    message = error(tmp_path, TINY_SUITE + "\n[tolerances]\nf1 = { abs = 0.1 }\n")
    assert "tolerances.f1: unknown metric" in message


def test_optimizer_that_refuses_its_values(tmp_path):
    from pytest_optcheck.engine.optimizers import make_optimizer

    suite = load_suite(write(tmp_path, TINY_SUITE.replace("{ learning_rate = 0.001 }",
                                                          "{ learning_rate = 0.001, momentum = 2.0 }")))
    with pytest.raises(OptcheckError, match=r"optimizers.sgd: SGD\(\*\*kwargs\) failed: .*momentum"):
        make_optimizer(suite.optimizer("sgd"), suite)  # what a run builds before it trains


@pytest.mark.parametrize("tables, problem", [
    ('[model]\nfactory = "pkg.models:cnn"\nhidden_units = [8]', "model.hidden_units: describes the built-in MLP"),
    ('[model]\nfactory = "no_colon"', 'model.factory: must be "package.module:function"'),
    ('[data]\nsource = "cifar"', "data.source: unknown source"),
    ('[data]\nkwargs = { size = 3 }', "data.kwargs: fashion_mnist takes no arguments"),
    ('[data]\nsource = "noisy_quadratic"\ndir = "x"', "data.dir: is a folder of IDX image files"),
])
def test_bad_model_and_data_tables_name_their_key(tmp_path, tables, problem):
    text = TINY_SUITE.replace("[model]\nhidden_units = [16]", tables)
    assert problem in error(tmp_path, text)


def test_a_factory_and_a_data_source_enter_the_baseline_identity_only_when_given(tmp_path):
    from pytest_optcheck.runs.key import spec_identity

    plain = load_suite(write(tmp_path, TINY_SUITE))
    own = load_suite(write(tmp_path, TINY_SUITE.replace(
        "[model]\nhidden_units = [16]",
        '[model]\nfactory = "pkg.models:cnn"\nkwargs = { width = 4 }\n\n[data]\nsource = "pkg.data:load"')))
    profile = plain.profile("small")
    assert "data" not in spec_identity(plain, "sgd", profile)
    identity = spec_identity(own, "sgd", profile)
    assert identity["model"] == {"factory": "pkg.models:cnn", "kwargs": {"width": 4}}
    assert identity["data"] == {"source": "pkg.data:load", "kwargs": {}}


@pytest.mark.parametrize("claim_keys, profile_keys, problem", [
    ('expect = "maybe"', "", "claims[adam-beats-sgd].expect: 'maybe' is not an expectation; use one of: holds, fails, undecided"),
    ('expect = "fails"', "", "claims[adam-beats-sgd].because: missing: an expectation other than 'holds' needs a because"),
    ('expect = { big = "undecided" }\nbecause = "x"', "", "claims[adam-beats-sgd].expect.big: unknown profile 'big'; the suite has: small, other"),
    ('expect = { "big@jax" = "undecided" }\nbecause = "x"', "", "claims[adam-beats-sgd].expect.\"big@jax\": unknown profile 'big'"),
    ('expect = { "small@torch" = "undecided" }\nbecause = "x"', "",
     "claims[adam-beats-sgd].expect.\"small@torch\": unknown backend 'torch'; name one of: tensorflow, jax (e.g. \"small@jax\")"),
    ('expect = { other = "nope" }\nbecause = "x"', "", "claims[adam-beats-sgd].expect.other: 'nope' is not an expectation"),
    ("expect = {}", "", "claims[adam-beats-sgd].expect: is an empty table"),
    ("expect = 3", "", "claims[adam-beats-sgd].expect: expected a string or a table, found 3"),
    ("", 'expect = "undecided"', "profiles.other.because: missing: an expectation other than 'holds' needs a because"),
    ("", 'expect = "sometimes"\nbecause = "x"', "profiles.other.expect: 'sometimes' is not an expectation"),
])
def test_a_damaged_expectation_names_file_claim_and_key(tmp_path, claim_keys, profile_keys, problem):
    text = (TINY_SUITE.replace("confidence = 0.5\n", f"confidence = 0.5\n{claim_keys}\n")
            .replace("[profiles.other]\n", f"[profiles.other]\n{profile_keys}\n"))
    message = error(tmp_path, text)
    assert problem in message and "s.toml: " in message and "\n" not in message


def test_expectations_resolve_most_specific_first(tmp_path):
    text = (TINY_SUITE.replace("confidence = 0.5\n", 'confidence = 0.5\nexpect = { other = "fails" }\nbecause = "short"\n')
            .replace("[profiles.small]\n", '[profiles.small]\nexpect = "undecided"\nbecause = "small"\n')
            .replace("[profiles.other]\n", '[profiles.other]\nexpect = "undecided"\nbecause = "tiny"\n'))
    suite = load_suite(write(tmp_path, text))
    claim = suite.claims[0]
    for backend in ("tensorflow", "jax"):
        assert suite.expectation(claim, suite.profile("other"), backend).value == "fails"  # for this profile
        assert suite.expectation(claim, suite.profile("small"), backend).because == "small"  # the profile's default
    plain = load_suite(write(tmp_path, TINY_SUITE))
    assert plain.expectation(plain.claims[0], plain.profile("small"), "jax").value == "holds"  # nothing stated

    # A backend of its own beats the profile's entry, on that backend alone.
    by_backend = load_suite(write(tmp_path, text.replace('{ other = "fails" }', '{ other = "fails", "other@jax" = "holds" }')))
    claim = by_backend.claims[0]
    assert by_backend.expectation(claim, by_backend.profile("other"), "jax").value == "holds"
    assert by_backend.expectation(claim, by_backend.profile("other"), "tensorflow").value == "fails"
    assert by_backend.expectation(claim, by_backend.profile("small"), "jax").value == "undecided"
    stated = by_backend.expectation(claim, by_backend.profile("other"), "jax").stated_in
    assert stated.endswith('claims[adam-beats-sgd].expect."other@jax"')


def test_an_expectation_is_not_part_of_the_claims_identity(tmp_path):
    from pytest_optcheck.baselines.store import claim_spec_hash

    plain = load_suite(write(tmp_path, TINY_SUITE))
    expected = load_suite(write(tmp_path, TINY_SUITE.replace(
        "confidence = 0.5\n", 'confidence = 0.5\nexpect = "undecided"\nbecause = "x"\n')))
    profile = plain.profile("small")
    assert claim_spec_hash(plain, plain.claims[0], profile) == claim_spec_hash(expected, expected.claims[0], profile)
