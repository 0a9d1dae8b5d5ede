"""Shared by the benchmarks: their result files as strict JSON.

``json.dumps`` writes a NaN or an infinity as ``NaN`` / ``Infinity``, which is not JSON: jq,
JavaScript and most parsers other than Python's refuse the whole file. A value that is not a
finite number (a correlation over constant tags, a rate over nothing) is written as ``null``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def finite_or_null(value: Any) -> Any:
    """``value`` with every non-finite float, at any depth of dicts, lists and tuples, as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_null(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(item) for item in value]
    return value


def strict_json(value: Any, indent: int = 2) -> str:
    """``value`` as strict JSON text (non-finite floats as null), with a trailing newline."""
    return json.dumps(finite_or_null(value), indent=indent, allow_nan=False) + "\n"


def write_json(path: Path, value: Any, indent: int = 2) -> None:
    """Write ``value`` to ``path`` as strict JSON (``strict_json``)."""
    path.write_text(strict_json(value, indent))
