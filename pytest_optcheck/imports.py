"""Loading what a suite names by import path, "package.module:attr", with one wording of errors."""

from __future__ import annotations

import difflib
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
        raise OptcheckError(f"{where}: module {module_name!r} has no attribute {attr!r}"
                            f"{_nearest(attr, module)}") from None


def _nearest(name: str, module: Any) -> str:
    """"; did you mean 'MyLion'?" from the module's public names, or a list of its public classes."""
    public = sorted(n for n in vars(module) if not n.startswith("_"))
    close = difflib.get_close_matches(name, public, n=3, cutoff=0.6)
    if close:
        return f"; did you mean {' or '.join(repr(c) for c in close)}?"
    # Defined there, not imported: the names a suite would point at.
    own = [n for n in public if getattr(vars(module)[n], "__module__", None) == module.__name__]
    shown = ", ".join(own[:12]) + (", ..." if len(own) > 12 else "")
    return f"; it defines: {shown}" if own else ""


def find_attribute(import_path: str) -> Any | None:
    """The object `import_path` names, or None when it cannot be loaded (the run reports why)."""
    try:
        return load_attribute(import_path, "")
    except OptcheckError:
        return None
