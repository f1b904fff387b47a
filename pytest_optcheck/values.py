"""One wording for a value of the wrong kind, in suite files and in baseline files alike."""

from __future__ import annotations

import json
from typing import Any

_NAMES = {dict: "a table", list: "a list", str: "a string", int: "a whole number", float: "a number",
          bool: "true or false"}


def kind_name(kind: type | tuple[type, ...]) -> str:
    """'a whole number', 'a string or a table': what a reader of the file calls the kinds."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(_NAMES.get(k, k.__name__) for k in kinds)


def shown(value: Any) -> str:
    """The value as the file spells it, cut to 40 characters."""
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def kind_problem(value: Any, kind: type | tuple[type, ...]) -> str | None:
    """None if `value` is of `kind` (a boolean is not a number here), else 'expected ..., found ...'."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
        return None
    return f"expected {kind_name(kinds)}, found {shown(value)}"
