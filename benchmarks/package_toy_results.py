"""Copy the toy benchmark's results that `occreid demo`'s report reads into the package
(engine/toy_benchmark.json), so an installed occreid shows them. Run after toy_accuracy.py,
toy_analysis.py or rfc_block_probe.py rewrites one of them; a test fails until then.

    python benchmarks/package_toy_results.py
"""

from __future__ import annotations

import json
from pathlib import Path

from _results import write_json

from occreid.engine.demo_report import BENCHMARK, RESULT_FILES

REPO = Path(__file__).resolve().parents[1]


def packaged(results: Path) -> dict[str, object]:
    """{file name without .json: its content} for the result files the report reads."""
    return {name: json.loads((results / f"{name}.json").read_text()) for name in RESULT_FILES}


if __name__ == "__main__":
    out = REPO / "engine" / BENCHMARK
    write_json(out, packaged(REPO / "benchmarks" / "results"), indent=1)
    print(f"wrote {out}")
