"""The demo's report, DIR/report.html (one self-contained page): this machine's numbers for the
baseline and the RFCnet beside the toy benchmark's spread over seeds, whether that benchmark shows
an RFCnet lead and why not, then the training curves, the RFCnet's pictures and the dataset.

One demo run is one draw: another CPU, thread count or library version rounds differently and
training from scratch amplifies it, so a newcomer's numbers differ from the README's. The spread
comes from the toy benchmark (benchmarks/toy_accuracy.py: the demo's configs over seeds and query
draws; toy_analysis.py and rfc_block_probe.py: what the RFC blocks do), whose result files ship
inside the package as ``toy_benchmark.json`` (benchmarks/package_toy_results.py copies them; a
test holds the copy equal to benchmarks/results/).
"""

from __future__ import annotations

import base64
import html
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from occreid.engine.visualize import loss_curves
from occreid.occdata.report import report_tables

BENCHMARK = "toy_benchmark.json"
ACCURACY = ("toy_accuracy", "toy_accuracy_90ep", "toy_accuracy_120ids")
ANALYSIS = ("toy_analysis", "toy_analysis_90ep")
PROBE = "rfc_block_probe_start_on"
RESULT_FILES = (*ACCURACY, *ANALYSIS, PROBE)  # benchmarks/results/<name>.json, as packaged
BENCHMARK_NAMES = {"baseline": "baseline", "RFCnet": "rfcnet"}  # demo name -> benchmark name
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:64em;margin:1.5em auto;padding:0 1em;"
    "line-height:1.45;color:#222}h1{font-size:1.5em;margin-bottom:.2em}"
    "h2{font-size:1.15em;margin-top:1.6em}.setup{color:#555;font-size:.92em}"
    "table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#f3f3f3;font-weight:600;white-space:nowrap}td:first-child,th:first-child{text-align:left}"
    "tr.this td{background:#fff8dc}.note{font-size:.92em;color:#444;max-width:58em}"
    ".verdict{border-left:5px solid #d08a00;background:#fff8e6;padding:.5em 1em;margin:1em 0}"
    ".verdict p{margin:.5em 0}.verdict h2{margin-top:.3em}img{max-width:100%}figure{margin:.5em 0}"
)


def toy_benchmark() -> dict[str, dict[str, Any]]:
    """The packaged toy benchmark results: {file name without .json: its content}."""
    return json.loads(files("occreid.engine").joinpath(BENCHMARK).read_text())


def _pts(x: float) -> str:
    return f"{100 * x:.1f}"


def _signed(x: float) -> str:
    return f"{100 * x:+.1f}"


def _difference(acc: dict[str, Any]) -> tuple[float, float, float]:
    """RFCnet - baseline mAP paired over seeds: mean and the 95 % interval."""
    diff = acc["paired_mAP_difference"]["rfcnet-baseline"]
    return diff["mean"], diff["ci95"][0], diff["ci95"][1]


def verdict(acc: dict[str, Any]) -> str:
    """What the paired interval of one benchmark budget says about RFCnet against the baseline."""
    _, low, high = _difference(acc)
    if low > 0:
        return "RFCnet leads"
    if high < 0:
        return "RFCnet trails"
    return "no reliable RFCnet lead"


def _seeds(seeds: list[int]) -> str:
    consecutive = seeds == list(range(seeds[0], seeds[0] + len(seeds)))
    return (
        f"{seeds[0]}–{seeds[-1]}" if consecutive and len(seeds) > 2 else ", ".join(map(str, seeds))
    )


def _budget(acc: dict[str, Any]) -> str:
    return f"{acc['epochs']} epochs, {acc['ids']} identities"


def matching_budget(bench: dict[str, dict[str, Any]], epochs: int, ids: int) -> str | None:
    """The accuracy benchmark run at this demo's epochs and identities, if there is one."""
    return next(
        (n for n in ACCURACY if (bench[n]["epochs"], bench[n]["ids"]) == (epochs, ids)), None
    )


def _spread_cells(model: dict[str, Any]) -> list[str]:
    """Mean ± std over seeds, and the range of single runs (one seed, one query draw)."""
    draws = [d for run in model["runs"] for d in run["draws"]]
    cells = [f"{_pts(model[f'{k}_mean'])} ± {_pts(model[f'{k}_std'])}" for k in ("mAP", "rank1")]
    for key in ("mAP", "rank1"):
        values = [d[key] for d in draws]
        cells.append(f"{_pts(min(values))} – {_pts(max(values))}")
    return cells


def _row(cells: list[str], attrs: str = "") -> str:
    return f"<tr{attrs}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def results_table(results: dict[str, dict[str, Any]], acc: dict[str, Any] | None) -> str:
    """This run's numbers, and beside them the benchmark's spread at the same budget."""
    spread_head = spread_columns = ""
    if acc is not None:
        runs = f"{len(acc['seeds'])} seeds × {acc['draws']} query draws"
        spread_head = f"<th colspan=4>toy benchmark: {runs}</th>"
        spread_columns = (
            "<th>mAP<br>mean ± std</th><th>rank-1<br>mean ± std</th>"
            "<th>mAP<br>single runs</th><th>rank-1<br>single runs</th>"
        )
    head = (
        "<tr><th rowspan=2>model</th><th colspan=4>this run (one machine)</th>"
        f"{spread_head}<th rowspan=2>train +<br>eval (s)</th></tr>"
        f"<tr><th>mAP</th><th>rank-1</th><th>rank-5</th><th>rank-10</th>{spread_columns}</tr>"
    )
    rows = []
    for name, r in results.items():
        cells = [name, *(_pts(r[k]) for k in ("mAP", "rank1", "rank5", "rank10"))]
        if acc is not None:
            cells += _spread_cells(acc["models"][BENCHMARK_NAMES[name]])
        rows.append(_row([*cells, f"{r['seconds']:.0f}"]))
    return f"<table>{head}{''.join(rows)}</table>"


def benchmark_table(bench: dict[str, dict[str, Any]], this: str | None) -> str:
    """Every budget of the accuracy benchmark, the demo's own marked."""
    head = (
        "<tr><th>budget</th><th>seeds</th><th>baseline mAP</th><th>RFCnet mAP</th>"
        "<th>RFCnet − baseline (95 % interval)</th></tr>"
    )
    rows = []
    for name in ACCURACY:
        acc = bench[name]
        mean, low, high = _difference(acc)
        models = acc["models"]
        cells = [
            _budget(acc) + (" (this demo)" if name == this else ""),
            _seeds(acc["seeds"]),
            *(
                f"{_pts(models[m]['mAP_mean'])} ± {_pts(models[m]['mAP_std'])}"
                for m in BENCHMARK_NAMES.values()
            ),
            f"{_signed(mean)} ({_signed(low)} .. {_signed(high)})",
        ]
        rows.append(_row(cells, " class=this" if name == this else ""))
    return f"<table>{head}{''.join(rows)}</table>"


def lead_text(bench: dict[str, dict[str, Any]], this: str | None) -> tuple[str, str]:
    """The benchmark's answer on RFCnet's lead (a headline and the numbers behind it): the demo's
    budget (or the first), then the rest."""
    first = this or ACCURACY[0]
    mean, low, high = _difference(bench[first])
    others = [
        f"{_budget(bench[n])}: {_signed(_difference(bench[n])[0])} ({verdict(bench[n])})"
        for n in ACCURACY
        if n != first
    ]
    text = (
        f"Over {len(bench[first]['seeds'])} "
        f"seeds at {_budget(bench[first])}, RFCnet − baseline is {_signed(mean)} mAP points "
        f"(95 % interval {_signed(low)} .. {_signed(high)}); at " + "; at ".join(others) + "."
    )
    if verdict(bench[first]) == "no reliable RFCnet lead":
        text += " Whichever model comes out ahead in one run, that is the draw, not the method."
    return f"The toy benchmark shows {verdict(bench[first])}.", text


def why_text(bench: dict[str, dict[str, Any]]) -> str:
    """What the RFC blocks do after training (toy_analysis, rfc_block_probe)."""
    blocks = [b for n in ANALYSIS for b in bench[n]["blocks_as_identity"].values()]
    weights = [b["projection_bn_abs_weight"] for b in blocks]
    change = max(abs(b["mAP_with_blocks"] - b["mAP_blocks_as_identity"]) for b in blocks)
    probe = bench[PROBE]
    removed = probe["mAP_with_blocks"] - probe["mAP_blocks_as_identity"]
    same = [
        run["mAP"]
        for n in ACCURACY
        if bench[n]["epochs"] == probe["epochs"]
        for run in bench[n]["models"]["rfcnet"]["runs"]
        if run["seed"] == probe["seed"]
    ]
    outcome = f"at {_pts(probe['mAP_with_blocks'])} mAP (seed {probe['seed']})"
    if same:
        better = "better" if probe["mAP_with_blocks"] > same[0] else "not better"
        outcome = (
            f"{better} for it ({_pts(probe['mAP_with_blocks'])} mAP against {_pts(same[0])} "
            f"with blocks started as the identity, seed {probe['seed']})"
        )
    return (
        "At this budget the RFC blocks stay near the identity. Each block ends in a BatchNorm "
        "whose weight starts at 0, so a fresh block passes its input through unchanged (as in "
        f"the authors' code); after training that weight is |w| = {min(weights):.3f} – "
        f"{max(weights):.3f} in all {len(blocks)} trained RFCnets of the benchmark, and turning "
        "every block into the identity at test time changes their mAP by at most "
        f"{_pts(change)} points. Blocks that start switched on do take part (as the identity "
        f"they cost {_pts(removed)} mAP points), but the model is {outcome}. A few hundred "
        "steps from scratch give the blocks no consistent direction."
    )


def comparison_html(
    results: dict[str, dict[str, Any]], bench: dict[str, dict[str, Any]], epochs: int, ids: int
) -> str:
    """The results section: this run beside the benchmark's spread, the lead and the why."""
    this = matching_budget(bench, epochs, ids)
    queries = next(iter(results.values()))["queries"]
    seed = next(iter(results.values()))["config"]["run"]["seed"]
    note = (
        f"What this machine printed: one training run per model (seed {seed}), scored on one "
        f"draw of {queries} queries, so one query moves rank-1 by {100 / queries:.1f} points. "
        "Another CPU, thread count or library version rounds differently and training from "
        "scratch amplifies it: the same command elsewhere prints other numbers. "
        + (
            "Beside them, the toy benchmark at the same settings: the mean ± std over seeds "
            "and the range of single runs like this one."
            if this
            else f"This run's settings ({epochs} epochs, {ids} identities) were not benchmarked: "
            "compare with the benchmark's budgets below only loosely."
        )
    )
    return (
        "<h2>Results</h2>"
        + results_table(results, bench[this] if this else None)
        + f"<p class=note>{html.escape(note)}</p>"
        + "<div class=verdict><h2>Does RFCnet lead on the toy data?</h2>"
        + "<p><b>{}</b> {}</p>".format(*map(html.escape, lead_text(bench, this)))
        + f"<p><b>Why.</b> {html.escape(why_text(bench))}</p></div>"
        + "<h2>Toy benchmark (benchmarks/toy_accuracy.py, oracle labels)</h2>"
        + benchmark_table(bench, this)
    )


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{path.stem}" src="data:image/png;base64,{data}"/></figure>'


def write_report(
    d: Path, backend: str, ids: int, results: dict[str, dict[str, Any]], timings: dict[str, float]
) -> Path:
    """DIR/report.html (self-contained) and DIR/results.json."""
    runs = {name: d / "runs" / name for name in results}
    curves = loss_curves(runs, d / "curves.png", ("total", "ce", "triplet"))
    model = results["RFCnet"]["config"]["model"]
    optim = results["RFCnet"]["config"]["optim"]
    stats = json.loads((d / "dataset" / "reports" / "stats.json").read_text())
    pictures = sorted((runs["RFCnet"] / "eval").glob("*.png"))
    bench = toy_benchmark()
    setup = (
        f"Backbone: {model['arch']} at {model['input_size'][0]} x {model['input_size'][1]}, "
        f"pretrained: {model['pretrained']}, {optim['epochs']} epochs on {ids} toy identities "
        "(the paper: ResNet-50 from ImageNet at 256 x 128, 150 epochs). RFC blocks after stages "
        f"{model['rfc_stages']}. Labels: {backend}. "
        + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
        + "."
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>occreid demo</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>occreid demo: toy data to a trained RFCnet</h1>"
        f"<p class=setup>{html.escape(setup)}</p>"
        + comparison_html(results, bench, optim["epochs"], ids)
        + "<h2>Training curves</h2>"
        + _img(curves)
        + "<h2>RFCnet pictures (ranked lists, APU regions + foreground, SRFC assignment)</h2>"
        + "".join(_img(p) for p in pictures)
        + "<h2>Dataset</h2>"
        + "".join(t.html() for t in report_tables(stats))
        + "</body></html>\n"
    )
    report = d / "report.html"
    report.write_text(page)
    summary = {name: {k: v for k, v in r.items() if k != "config"} for name, r in results.items()}
    headline = lead_text(bench, matching_budget(bench, optim["epochs"], ids))[0]
    out = {"setup": setup, "results": summary, "toy_benchmark": headline}
    (d / "results.json").write_text(json.dumps(out, indent=2))
    return report
