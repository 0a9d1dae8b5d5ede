"""The benchmarks' result files are strict JSON: a NaN or an infinity is written as null
(benchmarks/_results.py), so jq, JavaScript and other strict parsers read every file."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _refuse(constant: str) -> float:
    raise ValueError(f"not JSON: {constant}")


def _strict(text: str) -> object:
    """``text`` parsed as strict JSON: NaN, Infinity and -Infinity are refused."""
    return json.loads(text, parse_constant=_refuse)


@pytest.fixture(scope="module")
def results() -> ModuleType:
    """benchmarks/_results.py (the benchmarks run as scripts: it is no package module)."""
    spec = importlib.util.spec_from_file_location("_results", BENCHMARKS / "_results.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_strict_parser_refuses_what_json_dumps_writes_for_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        _strict(json.dumps({"a": [math.nan]}))


RESULT_FILES = sorted((BENCHMARKS / "results").glob("*.json"))


@pytest.mark.parametrize("path", RESULT_FILES, ids=[p.name for p in RESULT_FILES])
def test_every_committed_result_file_is_strict_json(path: Path) -> None:
    assert isinstance(_strict(path.read_text()), dict)


def test_nan_and_infinities_become_null_at_any_depth(results: ModuleType) -> None:
    value = {
        "spearman": math.nan,
        "runs": [{"auc": 0.75, "gap": math.inf}, [1, -math.inf, 2.5], (math.nan, "x")],
        "nested": {"deeper": {"rate": -math.inf, "count": 3, "ok": True, "none": None}},
    }
    expected = {
        "spearman": None,
        "runs": [{"auc": 0.75, "gap": None}, [1, None, 2.5], [None, "x"]],
        "nested": {"deeper": {"rate": None, "count": 3, "ok": True, "none": None}},
    }
    assert results.finite_or_null(value) == expected
    text = results.strict_json(value)
    assert _strict(text) == expected and text.endswith("}\n")
    assert text == json.dumps(expected, indent=2) + "\n"


def test_write_json_writes_strict_json(results: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    results.write_json(out, {"agreement": [math.nan, 0.5]})
    assert _strict(out.read_text()) == {"agreement": [None, 0.5]}
