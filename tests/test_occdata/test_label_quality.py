"""The label-quality section: reviewed shares, tags against reviewers, reviewers against each other,
the unreviewed frames' estimated accuracy and the range of Tables 1-2 it implies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

from occreid.common.errors import OccreidError
from occreid.occdata.annotations import is_occluded, read_annotations
from occreid.occdata.label_quality import (
    QualityOptions,
    confidence_bin,
    label_quality,
    wilson_interval,
)
from occreid.occdata.report import ratio_figure
from occreid.occdata.stats import compute_stats

NAN = float("nan")


def _split(rows: list[tuple]) -> pd.DataFrame:
    """rows: (tracklet, occlusion, reviewed, confidence, auto_occlusion, occlusion_2)."""
    t = pd.DataFrame(
        rows,
        columns=[
            "tracklet",
            "occlusion",
            "reviewed",
            "confidence",
            "auto_occlusion",
            "occlusion_2",
        ],
    )
    t["pid"] = t["tracklet"].str[:1]
    t["persons"] = 1
    t["auto_persons"] = np.where(t["auto_occlusion"] >= 0, 1, -1)
    t["persons_2"] = np.where(t["occlusion_2"] >= 0, 1, -1)
    t["occluded"] = is_occluded(t["occlusion"].to_numpy(), t["persons"].to_numpy())
    return t


def _tagged(tracklet: str, n: int, label: int, confidence: float) -> list[tuple]:
    """n unreviewed automatic tags."""
    return [(tracklet, label, False, confidence, -1, -1)] * n


def _reviewed(tracklet: str, auto: list[int], human: list[int], confidence: float) -> list[tuple]:
    return [(tracklet, h, True, confidence, a, -1) for a, h in zip(auto, human, strict=True)]


def test_confidence_bins_close_the_last_bin_and_mark_blanks() -> None:
    assert confidence_bin(np.array([0.0, 0.19, 0.2, 0.79, 0.8, 1.0, NAN])).tolist() == [
        0,
        0,
        1,
        3,
        4,
        4,
        -1,
    ]


def test_tags_against_reviewers_by_confidence_and_the_unreviewed_estimate() -> None:
    # confident tags (0.9): all 4 right; unsure tags (0.1): 1 of 4 right on occluded yes / no
    reviewed = _reviewed("a1", [3, 0, 5, 0], [4, 0, 5, 0], 0.9) + _reviewed(
        "b1", [3, 0, 5, 0], [0, 2, 0, 0], 0.1
    )
    # unreviewed: 3 confident frames and 1 unsure one -> 3/4 * 1.0 + 1/4 * 0.25
    train = _split(reviewed + _tagged("c1", 3, 2, 0.95) + _tagged("d1", 1, 2, 0.05))
    empty = _split(_tagged("q1", 1, 0, 0.9))
    quality = label_quality({"train": train, "query": empty, "gallery": empty})
    q = quality["splits"]["train"]
    assert q["reviewed"] == pytest.approx(8 / 12)
    by = {b["confidence"]: b for b in q["auto_vs_reviewers"]["by_confidence"]}
    assert by["0.8-1.0"]["occluded_agreement"] == 1.0
    assert by["0.8-1.0"]["label_mae"] == pytest.approx(0.25)
    assert by["0.0-0.2"]["occluded_agreement"] == 0.25
    assert by["0.4-0.6"]["frames"] == 0
    assert q["auto_vs_reviewers"]["occluded_agreement"] == pytest.approx(5 / 8)
    est = q["unreviewed"]
    assert est["frames"] == 4
    assert est["estimated_accuracy"] == pytest.approx(0.75 + 0.25 * 0.25)
    lo, hi = est["interval"]
    assert lo <= est["estimated_accuracy"] <= hi
    assert quality["reviewed_tracklets_compared"] == 2


def test_the_wilson_interval_by_hand() -> None:
    # 5 of 10: centre 0.5, half-width 1.96 * sqrt(0.025 + 1.96^2 / 400) / (1 + 1.96^2 / 10)
    assert wilson_interval(0.5, 10) == pytest.approx((0.236593, 0.763407), abs=1e-5)
    # all of 8 agree: the lower bound is n / (n + z^2), the upper 1
    assert wilson_interval(1.0, 8) == pytest.approx((8 / (8 + 1.959964**2), 1.0), abs=1e-6)
    assert wilson_interval(0.0, 8) == pytest.approx((0.0, 1.959964**2 / (8 + 1.959964**2)))
    assert wilson_interval(0.7, 0) == (0.0, 1.0)


def test_a_few_reviewed_tracklets_that_all_agree_do_not_promise_certainty() -> None:
    # 8 reviewed tracklets, every tag right: the bootstrap has nothing to vary, the interval is
    # still the Wilson interval over 8 independent tracklets
    reviewed = [r for i in range(8) for r in _reviewed(f"a{i}", [3, 0, 5], [3, 0, 5], 0.9)]
    train = _split(reviewed + _tagged("c1", 3, 2, 0.95))
    empty = _split(_tagged("q1", 1, 0, 0.9))
    quality = label_quality({"train": train, "query": empty, "gallery": empty})
    est = quality["splits"]["train"]["unreviewed"]
    assert est["estimated_accuracy"] == 1.0
    assert est["interval"] == pytest.approx([8 / (8 + 1.959964**2), 1.0], abs=1e-6)


def _test_splits(auto_right: bool) -> dict[str, pd.DataFrame]:
    """Reviewed train frames where the tagger is always right (or always wrong on occluded yes /
    no), and unreviewed test tracklets tagged clear."""
    human = [0, 0, 4, 4] if auto_right else [4, 4, 0, 0]
    train = _split(
        _reviewed("t1", [0, 0, 4, 4], human, 0.5) + _reviewed("t2", [0, 0], human[:2], 0.5)
    )
    query = _split(_tagged("q1", 4, 0, 0.5) + _tagged("q2", 4, 0, 0.5))
    gallery = _split(_tagged("g1", 5, 0, 0.5))
    return {"train": train, "query": query, "gallery": gallery}


def test_tables_do_not_move_when_the_reviewers_never_disagree() -> None:
    splits = _test_splits(auto_right=True)
    stats = compute_stats(splits)
    quality = label_quality(splits, QualityOptions(draws=30))
    for table in ("table1", "table2"):
        for split in ("query", "gallery"):
            r = quality["tables_if_wrong"][table][split]
            assert r["low"] == pytest.approx(stats[table][split])
            assert r["high"] == pytest.approx(stats[table][split])
    assert quality["splits"]["query"]["unreviewed"]["estimated_accuracy"] == 1.0


def test_tables_move_to_what_reviewers_did_to_such_tags() -> None:
    # reviewers turned every clear tag into label 4: the clear test tracklets become all occluded
    quality = label_quality(_test_splits(auto_right=False), QualityOptions(draws=30))
    t1 = quality["tables_if_wrong"]["table1"]["query"]
    assert t1["low"][-1] == pytest.approx(1.0)  # every tracklet 90-100 % occluded
    assert t1["high"][0] == 0.0
    t2 = quality["tables_if_wrong"]["table2"]["gallery"]
    assert t2["low"][3] == pytest.approx(1.0)  # label 4 -> "30-40"
    assert quality["splits"]["query"]["unreviewed"]["estimated_accuracy"] == 0.0


def test_a_check_not_the_tag_shown_is_what_the_unreviewed_tags_are_judged_by() -> None:
    # the reviewers turned every tag shown; after a re-tag its check (the current tags, out of
    # fold) agrees with them: the unreviewed frames, tagged as the check tags, are taken as right
    splits = _test_splits(auto_right=False)
    train = splits["train"]
    splits["train"] = train.assign(
        check_occlusion=train["occlusion"], check_persons=1, check_confidence=0.5
    )
    stats = compute_stats(splits)
    quality = label_quality(splits, QualityOptions(draws=30))
    q = quality["splits"]["train"]
    assert q["auto_vs_reviewers"]["occluded_agreement"] == 0.0  # the tags as shown
    assert q["current_vs_reviewers"]["occluded_agreement"] == 1.0
    by = {b["confidence"]: b for b in q["current_vs_reviewers"]["by_confidence"]}
    assert by["0.4-0.6"]["frames"] == 6 and by["0.4-0.6"]["occluded_agreement"] == 1.0
    assert quality["splits"]["query"]["unreviewed"]["estimated_accuracy"] == 1.0
    for table in ("table1", "table2"):  # the redraws flip nothing either
        r = quality["tables_if_wrong"][table]["query"]
        assert r["low"] == r["high"] == pytest.approx(stats[table]["query"])
    # the check's own confidence bin counts: in another bin than the unreviewed tags' (0.5),
    # it says nothing of them beyond the overall rate of its yes / no
    splits["train"] = splits["train"].assign(check_confidence=0.9)
    q = label_quality(splits, QualityOptions(draws=30))["splits"]["train"]
    by = {b["confidence"]: b for b in q["current_vs_reviewers"]["by_confidence"]}
    assert by["0.8-1.0"]["frames"] == 6 and by["0.4-0.6"]["frames"] == 0


def test_the_report_says_how_many_compared_frames_had_a_check() -> None:
    # a CSV without check_* columns (an export before a re-tag, or of an older occreid) compares
    # every reviewed frame by the tag shown: the report says so, not only "the current tags"
    from occreid.occdata.report import quality_tables

    splits = _test_splits(auto_right=False)
    plain = label_quality(splits, QualityOptions(draws=5))
    train = splits["train"]
    checked = train["occlusion"].where(np.arange(len(train)) % 2 == 0)  # half the frames
    splits["train"] = train.assign(check_occlusion=checked, check_persons=1, check_confidence=0.5)
    half = label_quality(splits, QualityOptions(draws=5))
    compared = half["splits"]["train"]["current_vs_reviewers"]["frames"]
    assert plain["splits"]["train"]["checked"] == 0
    assert 0 < half["splits"]["train"]["checked"] < compared
    row = next(r for r in quality_tables(half)[0].rows if r[0] == "train")
    assert f"({compared:,}; {half['splits']['train']['checked']:,} by a check)" in row[6]


def test_the_report_charts_draw_the_range_of_each_bin() -> None:
    splits = _test_splits(auto_right=False)
    stats = compute_stats(splits)
    wrong = label_quality(splits, QualityOptions(draws=30))["tables_if_wrong"]["table1"]
    fig = ratio_figure(stats, "table1", "Table 1", wrong)
    ranges = next(c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer))
    segments = ranges.lines[2][0].get_segments()  # one vertical segment per query bin
    assert [s[:, 1].min() for s in segments] == pytest.approx(np.array(wrong["query"]["low"]) * 100)
    assert [s[:, 1].max() for s in segments] == pytest.approx(
        np.array(wrong["query"]["high"]) * 100
    )
    plain = ratio_figure(stats, "table1", "Table 1")
    assert not [c for c in plain.axes[0].containers if isinstance(c, ErrorbarContainer)]


def test_agreement_between_two_reviewers() -> None:
    rows = [("a1", h, True, 0.5, h, s) for h, s in ((0, 0), (3, 3), (0, 2), (5, 0), (4, 4), (0, 0))]
    train = _split(rows)
    empty = _split(_tagged("q1", 1, 0, 0.9))
    q = label_quality({"train": train, "query": empty, "gallery": empty})["splits"]["train"]
    two = q["between_reviewers"]
    # occluded yes/no: first N Y N Y Y N, second N Y Y N Y N -> po 4/6, pe 1/2 -> kappa 1/3
    assert two["frames"] == 6
    assert two["kappa"] == pytest.approx(1 / 3)
    assert two["label_mae"] == pytest.approx((2 + 5) / 6)


def test_frames_without_confidence_are_hand_made_and_confidence_zero_is_unknown() -> None:
    train = _split(
        [("h1", 3, False, NAN, -1, -1)] * 2 + _tagged("u1", 3, 5, 0.0) + _tagged("t1", 1, 0, 0.7)
    )
    empty = _split(_tagged("q1", 1, 0, 0.9))
    q = label_quality({"train": train, "query": empty, "gallery": empty})["splits"]["train"]
    assert q["hand_made"] == pytest.approx(2 / 6)
    assert q["unknown"] == 3
    assert q["unreviewed"]["frames"] == 4
    assert q["unreviewed"]["estimated_accuracy"] is None  # nothing reviewed to learn a rate from


def test_review_columns_are_checked_and_blanks_kept(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text(
        "path,occlusion,persons,reviewed,auto_occlusion,auto_persons,occlusion_2,persons_2\n"
        "a.jpg,3,1,1,5,1,,\nb.jpg,0,1,0,,,2,1\n"
    )
    table = read_annotations(csv)
    assert table["auto_occlusion"].tolist() == [5, -1]
    assert table["occlusion_2"].tolist() == [-1, 2]
    csv.write_text("path,occlusion,persons,auto_occlusion\na.jpg,3,1,11\n")
    with pytest.raises(
        OccreidError, match=r"a.csv:2: auto_occlusion = 11 is not an integer in 0-10"
    ):
        read_annotations(csv)


def test_check_columns_are_checked_and_blanks_kept(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    head = "path,occlusion,persons,reviewed,check_occlusion,check_persons,check_confidence\n"
    csv.write_text(head + "a.jpg,3,1,1,5,2,0.875\nb.jpg,0,1,0,,,\n")
    table = read_annotations(csv)
    assert table["check_occlusion"].tolist() == [5, -1]
    assert table["check_persons"].tolist() == [2, -1]
    assert table["check_confidence"].iloc[0] == 0.875 and np.isnan(table["check_confidence"][1])
    for bad, message in (
        ("a.jpg,3,1,1,11,1,0.5", r"a.csv:2: check_occlusion = 11 is not an integer in 0-10"),
        ("a.jpg,3,1,1,3,0,0.5", r"a.csv:2: check_persons = 0 is not an integer in >= 1"),
        ("a.jpg,3,1,1,3,1,1.5", r"a.csv:2: check_confidence = 1.5 is not a number in 0-1"),
    ):
        csv.write_text(head + bad + "\n")
        with pytest.raises(OccreidError, match=message):
            read_annotations(csv)


def test_build_writes_the_section_only_for_automatic_tags(toy_source: Path, tmp_path: Path) -> None:
    from occreid.occdata.build import BuildOptions, build_dataset

    hand = pd.read_csv(toy_source / "annotations.csv")
    build_dataset(
        BuildOptions(
            source=toy_source, out=tmp_path / "hand", annotations=toy_source / "annotations.csv"
        )
    )
    assert not (tmp_path / "hand" / "reports" / "label_quality.json").exists()
    assert "Label quality" not in (tmp_path / "hand" / "reports" / "stats.md").read_text()

    tagged = hand.assign(
        confidence=0.9, reviewed=0, auto_occlusion=hand["occlusion"], auto_persons=hand["persons"]
    )
    tagged.loc[: len(tagged) // 3, "reviewed"] = 1
    csv = tmp_path / "tagged.csv"
    tagged.to_csv(csv, index=False)
    build_dataset(BuildOptions(source=toy_source, out=tmp_path / "auto", annotations=csv))
    quality = json.loads((tmp_path / "auto" / "reports" / "label_quality.json").read_text())
    assert quality["splits"]["train"]["auto_vs_reviewers"]["occluded_agreement"] == 1.0
    assert "Label quality" in (tmp_path / "auto" / "reports" / "stats.md").read_text()
    assert "Label quality" in (tmp_path / "auto" / "reports" / "stats.html").read_text()


def test_build_judges_the_unreviewed_tags_by_the_check_where_there_is_one(
    toy_source: Path, tmp_path: Path
) -> None:
    from occreid.occdata.build import BuildOptions, build_dataset

    hand = pd.read_csv(toy_source / "annotations.csv")
    occluded = is_occluded(hand["occlusion"].to_numpy(), hand["persons"].to_numpy())
    reviewed = np.arange(len(hand)) <= len(hand) // 3
    tagged = hand.assign(  # the tags shown were all wrong on occluded yes / no; the check right
        confidence=0.9,
        reviewed=reviewed.astype(int),
        auto_occlusion=np.where(occluded, 0, 3),
        auto_persons=1,
        check_occlusion=hand["occlusion"],
        check_persons=hand["persons"],
        check_confidence=0.9,
    )
    for column in ("auto_occlusion", "auto_persons", "check_occlusion", "check_persons"):
        tagged[column] = tagged[column].where(reviewed).astype("Int64")
    tagged["check_confidence"] = tagged["check_confidence"].where(reviewed)
    csv = tmp_path / "checked.csv"
    tagged.to_csv(csv, index=False)
    build_dataset(BuildOptions(source=toy_source, out=tmp_path / "out", annotations=csv))
    quality = json.loads((tmp_path / "out" / "reports" / "label_quality.json").read_text())
    train = quality["splits"]["train"]
    assert train["auto_vs_reviewers"]["occluded_agreement"] == 0.0
    assert train["current_vs_reviewers"]["occluded_agreement"] == 1.0
    assert train["unreviewed"]["estimated_accuracy"] == 1.0  # 0.0 from the tags shown
    report = (tmp_path / "out" / "reports" / "stats.md").read_text()
    assert "current tags (out of fold where fitted on the reviews)" in report
