"""The engine's exactness tests again, on Keras's JAX backend, where runs train on kept epoch programs.

Keras picks its backend once per process, so they run in a pytest subprocess with
KERAS_BACKEND=jax: the same assertions (bit-identical to a fresh `fit`, in any order,
nudged, after other runs, with a model that changes by seed, with changed
hyperparameters, diverging) hold for engine/compiled.py as for the kept TensorFlow model.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ON_BOTH_BACKENDS = [
    "test_same_seed_twice_gives_identical_runs",
    "test_a_kept_model_trains_bit_identically_to_a_fresh_build",
    "test_a_model_that_differs_from_seed_to_seed_trains_on_a_fresh_build",
    "test_a_kept_model_never_serves_an_optimizer_with_other_hyperparameters",
    "test_a_diverging_run_stops_at_the_same_epoch_on_a_kept_model",
    "test_on_jax_runs_train_on_kept_epoch_programs",
    "test_without_the_jax_trainer_parts_runs_train_with_fit_and_the_same_numbers",
    "test_the_backend_is_asked_for_deterministic_kernels",
]

pytestmark = pytest.mark.trains  # the engine itself: exactness against Keras


def test_the_exactness_tests_pass_on_jax():
    pytest.importorskip("jax", reason="the [jax] extra is not installed")
    tests = Path(__file__).parent
    command = [sys.executable, "-m", "pytest", str(tests / "test_training.py"), "-q", "-p", "no:cacheprovider",
               "-p", "no:randomly", "-k", " or ".join(ON_BOTH_BACKENDS)]
    done = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": "jax"}, capture_output=True, text=True,
                          cwd=tests.parent, check=False)
    assert done.returncode == 0 and f"{len(ON_BOTH_BACKENDS)} passed" in done.stdout, done.stdout[-4000:]
