"""Loading what a suite names by import path, "package.module:attr", with one wording of errors."""

from __future__ import annotations

import importlib
from typing import Any

from pytest_optcheck.errors import OptcheckError, with_user_frames


def load_attribute(import_path: str, where: str) -> Any:
    """The object `import_path` names; `where` ("suite.toml: model.factory") starts every message.

    The project root is on sys.path under pytest and `optcheck`, so a path is given from there.
    A module that raises while it is imported is reported with the user's own frames.
    """
    module_name, _, attr = import_path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise OptcheckError(f"{where}: cannot import {module_name!r} ({exc}); the project root is importable, "
                            "so give a module path from there") from None
    except Exception as exc:  # the user's module raised while it was imported: their lines, not ours
        raise OptcheckError(with_user_frames(
            f"{where}: importing {module_name!r} failed: {type(exc).__name__}: {exc}", exc)) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise OptcheckError(f"{where}: module {module_name!r} has no attribute {attr!r}") from None


def find_attribute(import_path: str) -> Any | None:
    """The object `import_path` names, or None when it cannot be loaded (the run reports why)."""
    try:
        return load_attribute(import_path, "")
    except OptcheckError:
        return None
