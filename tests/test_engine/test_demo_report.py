"""The demo's report: this run's numbers beside the toy benchmark's spread, and whether the
benchmark shows an RFCnet lead, all read from the benchmark's result files."""

from __future__ import annotations

import copy
import html
import json
from pathlib import Path
from typing import Any

import pytest

from occreid.engine.demo_report import (
    ACCURACY,
    RESULT_FILES,
    comparison_html,
    toy_benchmark,
)

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


@pytest.fixture(scope="module")
def bench() -> dict[str, dict[str, Any]]:
    """The benchmark's own result files (not the packaged copy)."""
    return {name: json.loads((RESULTS / f"{name}.json").read_text()) for name in RESULT_FILES}


def _run(m_ap: float, rank1: float) -> dict[str, Any]:
    return {
        "mAP": m_ap,
        "rank1": rank1,
        "rank5": 0.7,
        "rank10": 0.8,
        "queries": 24,
        "seconds": 300.0,
        "config": {"run": {"seed": 0}},
    }


def _page(bench: dict[str, dict[str, Any]], epochs: int = 30, ids: int = 60) -> str:
    results = {"baseline": _run(0.574, 0.458), "RFCnet": _run(0.548, 0.375)}
    return html.unescape(comparison_html(results, bench, epochs, ids))


def test_the_packaged_copy_is_the_benchmark_results(bench: dict[str, dict[str, Any]]) -> None:
    assert toy_benchmark() == bench, "run python benchmarks/package_toy_results.py"


def test_the_report_puts_the_spread_over_seeds_beside_this_run(
    bench: dict[str, dict[str, Any]],
) -> None:
    acc = next(bench[n] for n in ACCURACY if (bench[n]["epochs"], bench[n]["ids"]) == (30, 60))
    page = _page(bench)
    assert "57.4" in page and "37.5" in page  # this run, as printed
    for model in acc["models"].values():
        m, s = 100 * model["mAP_mean"], 100 * model["mAP_std"]
        assert f"{m:.1f} ± {s:.1f}" in page
        single = [d["mAP"] for run in model["runs"] for d in run["draws"]]
        assert f"{100 * min(single):.1f} – {100 * max(single):.1f}" in page
    assert f"{len(acc['seeds'])} seeds × {acc['draws']} query draws" in page
    assert "one query moves rank-1 by 4.2 points" in page


def test_the_report_says_plainly_there_is_no_reliable_lead_and_why(
    bench: dict[str, dict[str, Any]],
) -> None:
    page = _page(bench)
    for name in ACCURACY:
        diff = bench[name]["paired_mAP_difference"]["rfcnet-baseline"]
        assert diff["ci95"][0] < 0 < diff["ci95"][1]  # what the sentence below rests on
        assert f"{100 * diff['mean']:+.1f}" in page
    low, high = bench[ACCURACY[0]]["paired_mAP_difference"]["rfcnet-baseline"]["ci95"]
    assert "The toy benchmark shows no reliable RFCnet lead" in page
    assert f"95 % interval {100 * low:+.1f} .. {100 * high:+.1f}" in page
    assert "the RFC blocks stay near the identity" in page
    weights = [
        b["projection_bn_abs_weight"]
        for n in ("toy_analysis", "toy_analysis_90ep")
        for b in bench[n]["blocks_as_identity"].values()
    ]
    assert f"|w| = {min(weights):.3f} – {max(weights):.3f}" in page


def test_the_sentence_follows_the_benchmark(bench: dict[str, dict[str, Any]]) -> None:
    """A benchmark whose interval lies above zero makes the report say RFCnet leads."""
    leading = copy.deepcopy(bench)
    for name in ACCURACY:
        leading[name]["paired_mAP_difference"]["rfcnet-baseline"]["ci95"] = [0.01, 0.05]
    page = _page(leading)
    assert "The toy benchmark shows RFCnet leads" in page
    assert "no reliable RFCnet lead" not in page


def test_settings_the_benchmark_did_not_run_get_no_spread(
    bench: dict[str, dict[str, Any]],
) -> None:
    page = _page(bench, epochs=1, ids=12)
    assert "were not benchmarked" in page and "query draws" not in page
    assert "no reliable RFCnet lead" in page  # the benchmark's answer still stands
