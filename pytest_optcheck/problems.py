"""The built-in problems under the name suites give them: `pytest_optcheck.problems:noisy_quadratic_model`.

A stable public path for suite files; the code lives in the engine (engine/problems.py).
"""

from pytest_optcheck.engine.problems import noisy_quadratic_data, noisy_quadratic_model

__all__ = ["noisy_quadratic_data", "noisy_quadratic_model"]
