"""The dataset report that a user reviews: stats.md, a self-contained stats.html and bar charts.

Each table is printed next to the paper's values (Tables 1-3) so that a build of the real data can
be compared with the published dataset at a glance; where tags were reviewed, the charts show
how far each bin could move if the unreviewed tags were wrong at the estimated rate.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from occreid.occdata.stats import PAPER, TABLE1_BINS, TABLE2_BINS

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Table:
    """One titled table of the report, rendered to Markdown or HTML."""

    title: str
    header: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = [
            f"## {self.title}",
            "",
            "| " + " | ".join(self.header) + " |",
            "|" + "---|" * len(self.header),
        ]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self.rows
        )
        return f"<h2>{html.escape(self.title)}</h2><table><tr>{head}</tr>{body}</table>"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ratio_table(stats: dict[str, Any], table: str, title: str) -> Table:
    rows = []
    for split in ("query", "gallery"):
        rows.append([f"{split} (ours)", *map(pct, stats[table][split])])
        rows.append([f"{split} (paper)", *map(pct, PAPER[table][split])])
    return Table(title, ["split", *stats[table]["bins"]], rows)


def report_tables(stats: dict[str, Any]) -> list[Table]:
    """Tables 1-3 with the paper's values beside ours."""
    t3_rows = []
    for split in ("train", "query", "gallery"):
        ours, paper = stats["table3"][split], PAPER["table3"][split]
        t3_rows.append(
            [split, *(f"{ours[k]:,} ({paper[k]:,})" for k in ("ids", "tracklets", "images"))]
        )
    return [
        _ratio_table(stats, "table1", "Table 1 — tracklets by fraction of occluded frames (%)"),
        _ratio_table(stats, "table2", "Table 2 — occluded frames by occlusion fraction (%)"),
        Table(
            "Table 3 — identities / tracklets / images (paper in brackets)",
            ["split", "ids", "tracklets", "images"],
            t3_rows,
        ),
    ]


def _num(x: float | None, percent: bool = True) -> str:
    if x is None:
        return "-"
    return pct(x) if percent else f"{x:.2f}"


def _interval(lo_hi: list[float] | None) -> str:
    return "-" if lo_hi is None else f"{pct(lo_hi[0])} .. {pct(lo_hi[1])}"


def _checked(current: dict[str, Any], checked: int | None) -> str:
    """The frames compared and, where the report knows it (not in one made before), how many
    of them by a check."""
    return f"{current['frames']:,}" + ("" if checked is None else f"; {checked:,} by a check")


# what the unreviewed frames' estimate compares the reviewers with (label_quality: the reference)
CURRENT = "the current tags (out of fold where fitted on the reviews)"


def quality_tables(quality: dict[str, Any] | None) -> list[Table]:
    """The label-quality section (occdata/label_quality.py): per split, then per confidence bin,
    then the range of Tables 1-2 if the unreviewed tags were wrong at the estimated rate."""
    if quality is None:
        return []
    rows = []
    for split, q in quality["splits"].items():
        auto, two, todo = q["auto_vs_reviewers"], q["between_reviewers"], q["unreviewed"]
        current = q["current_vs_reviewers"]
        rows.append(
            [
                split,
                f"{q['frames']:,}",
                pct(q["reviewed"]),
                pct(q["hand_made"]),
                f"{q['unknown']:,}",
                f"{_num(auto['occluded_agreement'])} ({auto['frames']:,})",
                f"{_num(current['occluded_agreement'])} ({_checked(current, q.get('checked'))})",
                f"{_num(two['kappa'], percent=False)} ({two['frames']:,})",
                f"{_num(todo['estimated_accuracy'])} [{_interval(todo['interval'])}]",
            ]
        )
    tables = [
        Table(
            "Label quality — how far the occlusion labels can be trusted",
            [
                "split",
                "frames",
                "reviewed",
                "hand-made",
                "unknown (no evidence)",
                "tags as shown = reviewers, occluded yes/no (frames)",
                f"{CURRENT} = reviewers (frames; of them by a check, the rest by the tag shown)",
                "reviewer vs reviewer kappa (frames)",
                "unreviewed: estimated accuracy [95 %]",
            ],
            rows,
        )
    ]
    bins = quality["confidence_bins"]
    rel_rows = []
    for split, q in quality["splits"].items():
        by = q["current_vs_reviewers"]["by_confidence"]
        rel_rows.append(
            [split, *(f"{_num(b['occluded_agreement'])} ({b['frames']:,})" for b in by)]
        )
    tables.append(
        Table(
            f"{CURRENT.capitalize()} against reviewers by their confidence (frames)",
            ["split", *bins],
            rel_rows,
        )
    )
    wrong = quality["tables_if_wrong"]
    if wrong is not None:
        for table, title in (("table1", "Table 1"), ("table2", "Table 2")):
            wrong_rows = [
                [
                    split,
                    *(
                        f"{pct(lo)} .. {pct(hi)}"
                        for lo, hi in zip(r["low"], r["high"], strict=True)
                    ),
                ]
                for split, r in wrong[table].items()
            ]
            header = ["split", *(TABLE1_BINS if table == "table1" else TABLE2_BINS)]
            tables.append(
                Table(f"{title} if the unreviewed tags were wrong at that rate", header, wrong_rows)
            )
    return tables


def render_markdown(
    stats: dict[str, Any], info: dict[str, Any], quality: dict[str, Any] | None = None
) -> str:
    """The report as Markdown: a header, Tables 1-3 beside the paper's, the label quality, then
    build notes."""
    head = (
        f"# Occluded-DukeMTMC-VideoReID build report\n\nSource: `{info['source']}`  \n"
        f"Annotations: `{info['annotations']}`  \nSeed: {info['seed']}"
    )
    notes = "## Build notes\n\n" + "\n".join(f"- {line}" for line in info["notes"])
    tables = [*report_tables(stats), *quality_tables(quality)]
    return "\n\n".join([head, *(t.markdown() for t in tables), notes]) + "\n"


def render_html(
    stats: dict[str, Any],
    info: dict[str, Any],
    images: list[Path],
    quality: dict[str, Any] | None = None,
) -> str:
    """A self-contained HTML page: the tables, the charts inline (base64), the build notes."""
    figures = "".join(
        f'<figure><img alt="{p.stem}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"/></figure>'
        for p in images
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in info["notes"])
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>occreid dataset report</title>"
        "<style>body{font-family:sans-serif;max-width:64em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
        "text-align:right}</style></head><body>"
        "<h1>Occluded-DukeMTMC-VideoReID build report</h1>"
        f"<p>Source: <code>{html.escape(str(info['source']))}</code><br>"
        f"Annotations: <code>{html.escape(str(info['annotations']))}</code><br>"
        f"Seed: {info['seed']}</p>"
        + "".join(t.html() for t in report_tables(stats))
        + figures
        + "".join(t.html() for t in quality_tables(quality))
        + f"<h2>Build notes</h2><ul>{notes}</ul></body></html>\n"
    )


def ratio_figure(
    stats: dict[str, Any], table: str, title: str, ranges: dict[str, Any] | None = None
) -> Figure:
    """Grouped bar chart of one ratio table: query vs gallery, the paper's values as outlines;
    ``ranges`` (label_quality's tables_if_wrong[table]) as a black range on each bar: where the
    bin could lie if the unreviewed tags were wrong at the estimated rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    bins = stats[table]["bins"]
    x = np.arange(len(bins))
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
    for offset, split, colour in ((-0.2, "query", "#d95f02"), (0.2, "gallery", "#1b9e77")):
        ax.bar(x + offset, np.array(stats[table][split]) * 100, 0.4, color=colour, label=split)
        ax.bar(
            x + offset,
            np.array(PAPER[table][split]) * 100,
            0.4,
            fill=False,
            edgecolor="black",
            linewidth=0.8,
            linestyle="--",
            label="paper" if split == "query" else None,
        )
        if ranges is not None and split in ranges:
            low, high = (np.array(ranges[split][k]) * 100 for k in ("low", "high"))
            ax.errorbar(
                x + offset,
                (low + high) / 2,
                yerr=(high - low) / 2,
                fmt="none",
                ecolor="black",
                capsize=3,
                linewidth=1,
                label="if the unreviewed tags were wrong (95 %)" if split == "query" else None,
            )
    ax.set_xticks(x, bins)
    ax.set_ylabel("% of " + ("tracklets" if table == "table1" else "occluded frames"))
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_ratio_table(
    stats: dict[str, Any],
    table: str,
    title: str,
    path: Path,
    ranges: dict[str, Any] | None = None,
) -> None:
    """``ratio_figure`` saved as a PNG at ``path``."""
    import matplotlib.pyplot as plt

    fig = ratio_figure(stats, table, title, ranges)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def write_report(
    stats: dict[str, Any], info: dict[str, Any], reports: Path, quality: dict[str, Any] | None
) -> None:
    """Write stats.md, table1.png, table2.png and stats.html into ``reports``."""
    (reports / "stats.md").write_text(render_markdown(stats, info, quality))
    images = [reports / "table1.png", reports / "table2.png"]
    wrong = (quality or {}).get("tables_if_wrong") or {}
    for table, title, image in (
        ("table1", "Table 1: tracklets by fraction of occluded frames", images[0]),
        ("table2", "Table 2: occluded frames by occlusion fraction", images[1]),
    ):
        plot_ratio_table(stats, table, title, image, wrong.get(table))
    (reports / "stats.html").write_text(render_html(stats, info, images, quality))
