"""The calibration of a backend pair (defaults, JSON beside the tags) and its fit to reviewed
labels: a mis-scaled backend is brought back, a few tracklets fall back to the defaults, the fit
is monotone and checked by tracklet-grouped cross-validation."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from occreid.cli.main import main
from occreid.common.errors import OccreidError
from occreid.occdata.label_quality import wilson_interval
from occreid.pseudolabel.calibrate import (
    CONFIDENCE_Z,
    FOLDS,
    MIN_TRACKLETS,
    NOT_ENOUGH,
    Interval,
    agreement_interval,
    balanced_accuracy,
    counted,
    cross_validated,
    fit_calibration,
    not_worse,
    occluded,
    read_reviewed,
)
from occreid.pseudolabel.calibration import (
    Calibration,
    OccludedModel,
    calibration_for,
    default_calibration,
    load_calibration,
    tags_calibration,
)
from occreid.pseudolabel.evidence import LEVEL_WEIGHTS
from occreid.pseudolabel.tagging import LEVEL_COLUMNS, tag_table


def _squeezed_table(
    tracklets: int, frames: int = 6, seen_at: float = 0.5
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An evidence table of a backend whose scores are squeezed into 0.2-0.9 (seen 0.9, hidden
    0.55), read with a step at ``seen_at``: half the tracklets have the legs hidden. Returns
    (table, the reviewer's answers)."""
    rng = np.random.default_rng(0)
    rows, answers = [], []
    for t in range(tracklets):
        hidden = t % 2 == 1
        for f in range(frames):
            levels = np.full(5, 0.9) + rng.normal(0, 0.02, 5)
            if hidden:
                levels[3:] = 0.55 + rng.normal(0, 0.03, 2)
            path = f"train/{t:04d}/F{f:03d}.jpg"
            seen = levels >= seen_at  # an undeclared backend's 0.5: everything looks seen
            rows.append(
                {"path": path, "tracklet": f"{t:04d}",
                 **dict(zip(LEVEL_COLUMNS, levels, strict=True)),
                 "pose_found": True, "body": True, "lowest_seen": 0.93,
                 "kp_hidden": float((1 - seen) @ LEVEL_WEIGHTS),
                 "kp_occluded": float(1 - seen.prod()), "mask_hidden": np.nan, "persons": 1}
            )  # fmt: skip
            answers.append({"path": path, "occlusion": 4 if hidden else 0, "persons": 1})
    return pd.DataFrame(rows), pd.DataFrame(answers)


def test_the_shipped_default_of_a_pair_comes_from_the_backends_declarations() -> None:
    oracle = default_calibration("oracle", "oracle")
    assert oracle.score_scale == (0.5, 1.0) and oracle.seen_score == 0.75
    assert oracle.mask_is_visible_body and oracle.mask_weight == 1.0
    selfie = default_calibration("mediapipe", "mediapipe")
    assert not selfie.mask_is_visible_body and selfie.mask_weight == 0.0
    assert "likelihood" in selfie.sources["score_scale"] and "occluders" in selfie.sources["mask"]
    unknown = default_calibration("somepose", "someparsing")
    assert unknown.score_scale == (0.5, 0.5) and not unknown.mask_is_visible_body
    assert all(unknown.sources.values()) and unknown.model is None


def test_a_calibration_survives_its_json_and_a_bad_file_is_one_clear_error(tmp_path: Path) -> None:
    table, answers = _squeezed_table(12)
    fitted = fit_calibration(table, answers, default_calibration("x", "y")).calibration
    assert fitted.model is not None
    path = tmp_path / "calibration.json"
    fitted.save(path)
    again = load_calibration(path)
    assert again == fitted
    assert tag_table(table, again)["occlusion"].equals(tag_table(table, fitted)["occlusion"])
    path.write_text('{"format": 1, "pose": "x"}')
    with pytest.raises(OccreidError, match=r"calibration.json: not an occreid calibration"):
        load_calibration(path)


def test_a_calibration_for_other_backends_is_refused(tmp_path: Path) -> None:
    default_calibration("mediapipe", "mediapipe").save(tmp_path / "calibration.json")
    meta = {"backends": {"pose": {"name": "oracle"}, "parsing": {"name": "oracle"}}}
    with pytest.raises(OccreidError, match="fitted for mediapipe\\+mediapipe"):
        calibration_for(tmp_path, meta)
    (tmp_path / "calibration.json").unlink()
    assert calibration_for(tmp_path, meta) == default_calibration("oracle", "oracle")


def test_calibration_brings_a_mis_scaled_backend_back() -> None:
    table, answers = _squeezed_table(40)
    truth = occluded(answers)
    base = default_calibration("squeezed", "none")
    before = (occluded(tag_table(table, base)) == truth).mean()
    assert before < 0.6  # nearly every frame looks clear on the declared scale
    reviewed_tracklets = {f"{t:04d}" for t in range(8)}  # a fifth of the tracklets
    reviewed = answers[table["tracklet"].isin(reviewed_tracklets)]
    fit = fit_calibration(table, reviewed, base)
    assert fit.used_fit and fit.tracklets == 8 and fit.after.estimate > fit.before.estimate
    unreviewed = ~table["tracklet"].isin(reviewed_tracklets)
    tags = tag_table(table[unreviewed], fit.calibration)
    assert (occluded(tags) == truth[unreviewed]).mean() > 0.95
    assert (tags.loc[occluded(tags), "occlusion"] == 4).mean() > 0.9  # the reviewed label
    model = fit.calibration.model
    assert model is not None and min(model.coef) >= 0  # monotone: more hidden, more occluded
    assert "mask_hidden" not in model.features  # the mask is not trusted for this backend


def test_a_few_reviewed_tracklets_keep_the_defaults_and_say_so() -> None:
    table, answers = _squeezed_table(40)
    few = {f"{t:04d}" for t in range(MIN_TRACKLETS - 1)}
    base = default_calibration("squeezed", "none")
    fit = fit_calibration(table, answers[table["tracklet"].isin(few)], base)
    assert not fit.used_fit and fit.calibration is base
    assert "kept the shipped default" in fit.reason and str(MIN_TRACKLETS) in fit.reason
    assert fit.check is None  # nothing fitted: the tags shown stay the reference


def test_an_earlier_fit_is_judged_on_the_reviews_it_was_not_fitted_on() -> None:
    import dataclasses

    from occreid.pseudolabel.calibrate import Judged, keeps_earlier

    table, answers = _squeezed_table(40)
    base = default_calibration("squeezed", "none")
    first = answers[table["tracklet"].isin({f"{t:04d}" for t in range(10)})]
    earlier = fit_calibration(table, first, base)
    assert earlier.used_fit and earlier.check is not None
    fitted_on = set(earlier.check["path"])
    now = answers[table["tracklet"].isin({f"{t:04d}" for t in range(20)})]
    good = fit_calibration(table, now, base)
    assert good.used_fit and good.check is not None
    wrong = good.check.assign(occlusion=4 - good.check["occlusion"])  # every yes / no flipped
    bad = dataclasses.replace(good, check=wrong)
    judged = keeps_earlier(table, now, bad, earlier.calibration, fitted_on)
    assert judged is not None and judged.stays
    assert "on the 10 reviewed tracklets it was not fitted on" in judged.why
    clear = base.with_fit(prior_label=dict.fromkeys(base.prior_label, 0))  # fitted, and wrong
    replaced = keeps_earlier(table, now, good, clear, fitted_on)
    assert clear.fitted and replaced is not None and not replaced.stays
    # replaced, it says the numbers it was judged by, as where it stays
    said = replaced.why.split(", the new fit (cross-validated) ")
    assert said[0].startswith("on the 10 reviewed tracklets it was not fitted on it agrees ")
    assert len(said) == 2 and " (95 % CI " in said[0] and " (95 % CI " in said[1]
    # nothing to judge by (no frames it was not fitted on; its check lost): it stays only where
    # nothing was fitted now
    assert keeps_earlier(table, first, good, earlier.calibration, fitted_on) is None
    assert keeps_earlier(table, now, good, earlier.calibration, None) is None
    kept = dataclasses.replace(good, used_fit=False)
    assert keeps_earlier(table, now, kept, clear, None) == Judged(True, "nothing was fitted now")
    judged = keeps_earlier(table, now, kept, clear, fitted_on)  # what the fit kept: named so
    assert judged is not None and ", the shipped default " in judged.why


def test_what_was_fitted_before_is_a_fitted_calibration_and_the_paths_of_its_check(
    tmp_path: Path,
) -> None:
    """calibration_check.fitted_before, which `occreid calibrate` and the review's re-tags
    judge an earlier fit with (calibrate.keeps_earlier)."""
    from occreid.pseudolabel.calibration_check import fitted_before, save_check

    table, answers = _squeezed_table(12)
    base = default_calibration("squeezed", "none")
    fit = fit_calibration(table, answers[table["tracklet"] < "0006"], base)
    assert fit.used_fit and fit.check is not None
    path = tmp_path / "calibration.json"
    assert fitted_before(path) is None  # no file
    base.save(path)
    assert fitted_before(path) is None  # a shipped default: not fitted to reviews
    fit.calibration.save(path)
    assert fitted_before(path) == (fit.calibration, None)  # its check lost
    save_check(path, fit.check)
    found = fitted_before(path)
    assert found is not None and found[1] == set(answers["path"][table["tracklet"] < "0006"])


def test_a_fit_s_check_is_its_out_of_fold_tags_with_the_fitted_confidence() -> None:
    table, answers = _squeezed_table(40)
    base = default_calibration("squeezed", "none")
    reviewed = answers[table["tracklet"] < "0010"].reset_index(drop=True)
    fit = fit_calibration(table, reviewed, base)
    assert fit.used_fit and fit.check is not None
    checked = cross_validated(table, reviewed, base, FOLDS).set_index("path")
    check = fit.check.set_index("path").loc[checked.index]
    assert check["occlusion"].equals(checked["occlusion"])
    assert check["persons"].equals(checked["persons"])
    p = checked["p_occluded"].to_numpy()
    on_fitted_scale = np.round(fit.calibration.confidence(np.maximum(p, 1 - p)), 3)
    assert check["confidence"].to_numpy() == pytest.approx(on_fitted_scale)
    # the folds' own confidence is the defaults' scale (capped), not that of the tags now given
    assert not np.allclose(check["confidence"], checked["confidence"])
    assert check["confidence"].max() > base.confidence_cap


def test_a_single_reviewed_tracklet_says_there_is_too_little_to_estimate_never_nan() -> None:
    table, answers = _squeezed_table(40)
    fit = fit_calibration(
        table, answers[table["tracklet"] == "0000"], default_calibration("squeezed", "none")
    )
    text = "\n".join(fit.lines())
    assert "nan" not in text.lower()
    fitted = next(line for line in fit.lines() if "fitted (cross-validated" in line)
    assert fitted.endswith(NOT_ENOUGH.format(units="tracklets"))


def test_the_lines_count_images_on_an_image_folder() -> None:
    table, answers = _squeezed_table(40)
    table = table.assign(tracklet=table["path"])  # an image folder: every image its own item
    three = answers.iloc[:3]
    fit = fit_calibration(table, three, default_calibration("squeezed", "none"), units="images")
    text = "\n".join(fit.lines())
    assert "tracklet" not in text, text
    assert "reviewed: 3 images" in text and "3 reviewed images, fewer than" in text
    assert "not enough reviewed images to estimate" in text


def test_a_fit_is_used_only_where_cross_validation_finds_it_worse_on_neither() -> None:
    at = Interval
    assert not_worse(at(0.8, 0.7, 0.9), at(0.8, 0.7, 0.9), 0.7, 0.7)  # equal tags: kept
    assert not not_worse(at(0.8, 0.7, 0.9), at(0.85, 0.7, 0.9), 0.7, 0.69)
    assert not not_worse(at(0.8, 0.7, 0.9), at(0.79, 0.7, 0.9), 0.7, 0.9)


def test_a_kept_calibration_keeps_its_tags_and_learns_its_confidence() -> None:
    table, answers = _squeezed_table(20, seen_at=0.75)
    base = default_calibration("oracle", "oracle")  # oracle scale: the legs at 0.55 are hidden
    assert (occluded(tag_table(table, base)) == occluded(answers)).all()
    fit = fit_calibration(table, answers, base)
    assert fit.after.estimate <= fit.before.estimate
    kept = tag_table(table, fit.calibration)
    assert kept["occlusion"].equals(tag_table(table, base)["occlusion"])
    # the reviewers agreed with every tag: 20 tracklets vouch for at least 0.92 (Wilson, 90 %)
    assert (kept["confidence"] > 0.9).all()


def test_confidence_counts_the_reviewed_tracklets_not_their_frames() -> None:
    base = default_calibration("oracle", "oracle")  # every tag right (the test above)
    few_long, answers = _squeezed_table(6, frames=40, seen_at=0.75)
    fit = fit_calibration(few_long, answers, base)  # 240 frames that agree, of 6 tracklets
    assert tag_table(few_long, fit.calibration)["confidence"].max() < 0.8
    many_short, answers = _squeezed_table(40, frames=3, seen_at=0.75)
    fit = fit_calibration(many_short, answers, base)  # 120 frames that agree, of 40 tracklets
    assert tag_table(many_short, fit.calibration)["confidence"].min() > 0.9


def test_the_confidence_s_wilson_bound_by_hand() -> None:
    """calibrate's one-sided 90 % bound is label_quality's Wilson interval at z = 1.2816."""

    def lower(share: float, n: float) -> float:
        return wilson_interval(share, n, CONFIDENCE_Z)[0]

    assert lower(1.0, 6) == pytest.approx(1 / (1 + 1.2816**2 / 6), abs=1e-6)
    assert lower(0.9, 1000) == pytest.approx(0.9 - 1.2816 * 0.3 / 1000**0.5, abs=2e-3)
    assert lower(0.9, 0) == 0.0


def test_confidence_is_the_agreement_found_at_that_certainty() -> None:
    table, answers = _squeezed_table(20, seen_at=0.75)
    base = default_calibration("oracle", "oracle")
    flipped = answers.copy()
    odd = table["path"].str.endswith(("F001.jpg", "F003.jpg", "F005.jpg")).to_numpy()
    flipped.loc[odd, "occlusion"] = np.where(flipped.loc[odd, "occlusion"] > 0, 0, 4)
    fit = fit_calibration(table, flipped, base)  # half the frames disagree with any tag
    tags = tag_table(table, fit.calibration)
    assert not fit.used_fit and fit.check is not None  # kept tags, fitted on no review: the check
    check = fit.check.set_index("path").loc[table["path"]]
    assert (check["occlusion"].to_numpy() == tags["occlusion"].to_numpy()).all()
    assert check["confidence"].to_numpy() == pytest.approx(tags["confidence"].to_numpy())
    agree = (occluded(tags) == occluded(flipped)).mean()
    assert agree == pytest.approx(0.5, abs=0.1)
    assert tags["confidence"].max() <= agree + 0.1  # not the model's certainty (near 1)


def test_cross_validation_never_checks_a_frame_with_a_fit_on_its_own_tracklet() -> None:
    table, answers = _squeezed_table(10)
    answers = answers.copy()
    answers.loc[table["tracklet"] == "0002", "occlusion"] = 9  # a clear tracklet labelled hidden
    checked = cross_validated(table, answers, default_calibration("squeezed", "none"), 5)
    assert len(checked) == len(answers)
    # fitted without tracklet 0002, its frames look like the other clear tracklets: not occluded
    assert not occluded(checked[checked["tracklet"] == "0002"]).any()


def test_cross_validation_checks_the_fitted_mapping_even_where_a_fold_is_short_of_a_class() -> None:
    """Three occluded tracklets of six: enough to fit a model on all of them, while a fold that
    holds one out fits on two. The check must still tag it with a fitted model (the mapping the
    result will use), not with the starting one, which calls nearly every frame clear."""
    table, answers = _squeezed_table(6)
    base = default_calibration("squeezed", "none")
    hidden = {"0001", "0003", "0005"}
    assert occluded(tag_table(table, base))[table["tracklet"].isin(hidden)].mean() < 0.2
    checked = cross_validated(table, answers, base, 5)
    held_out_hidden = checked["tracklet"].isin(hidden).to_numpy()
    assert occluded(checked)[held_out_hidden].all()
    assert not occluded(checked)[~held_out_hidden].any()
    fit = fit_calibration(table, answers, base)
    assert fit.used_fit and fit.calibration.model is not None and fit.after.estimate == 1.0


def test_intervals_and_balanced_accuracy() -> None:
    agree = np.array([1, 1, 1, 1, 0, 0, 1, 1], dtype=bool)
    groups = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    interval = agreement_interval(agree, groups)
    assert interval.estimate == 0.75 and interval.low <= 0.75 <= interval.high
    assert interval.low * 4 == round(interval.low * 4)  # whole tracklets are resampled
    frames = agreement_interval(agree, np.arange(8))  # as if every frame were independent
    assert interval.high - interval.low > frames.high - frames.low
    one = agreement_interval(np.arange(21) < 19, np.zeros(21, int))  # one tracklet, 19 of 21
    assert one.estimate == pytest.approx(19 / 21) and one.low < 0.5 < 0.99 < one.high
    assert balanced_accuracy(np.array([1, 1, 1, 0], bool), np.array([1, 1, 1, 1], bool)) == 0.5


def test_read_reviewed_takes_reviewed_rows_and_names_a_missing_column(tmp_path: Path) -> None:
    csv = tmp_path / "reviewed.csv"
    csv.write_text("path,occlusion,persons,reviewed\na.jpg,3,1,1\nb.jpg,0,1,0\n")
    assert read_reviewed(csv)["path"].tolist() == ["a.jpg"]
    csv.write_text("path,persons\na.jpg,1\n")
    with pytest.raises(OccreidError, match="no column 'occlusion'"):
        read_reviewed(csv)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a.jpg,14,1,1", "occlusion = 14 is not an integer in 0-10"),
        ("a.jpg,abc,1,1", "occlusion = abc is not an integer in 0-10"),
        ("a.jpg,,1,1", "is not an integer in 0-10"),
        ("a.jpg,3,0,1", "persons = 0 is not an integer in >= 1"),
        ("a.jpg,3,1,2", "reviewed = 2 is not 0 or 1"),
        ("a.jpg,3,1,yes", "reviewed = yes is not 0 or 1"),
        ("b.jpg,3,1,1", "b.jpg is annotated twice"),
    ],
)
def test_read_reviewed_refuses_a_bad_row_in_one_line(
    tmp_path: Path, row: str, message: str
) -> None:
    csv = tmp_path / "reviewed.csv"
    csv.write_text(f"path,occlusion,persons,reviewed\nb.jpg,0,1,1\n{row}\n")
    with pytest.raises(OccreidError, match=message):
        read_reviewed(csv)


def test_read_reviewed_takes_a_csv_without_persons_as_one_person(tmp_path: Path) -> None:
    csv = tmp_path / "reviewed.csv"
    csv.write_text("path,occlusion\na.jpg,3\nb.jpg,0\n")
    table = read_reviewed(csv)
    assert table["persons"].tolist() == [1, 1] and table["occlusion"].tolist() == [3, 0]


def test_read_reviewed_takes_no_automatic_tag_for_a_review(tmp_path: Path) -> None:
    csv = tmp_path / "tags.csv"
    csv.write_text("path,occlusion,persons,confidence\na.jpg,3,1,0.9\nb.jpg,0,1,0.7\n")
    with pytest.raises(OccreidError, match=r"automatic tags .* not reviewed labels"):
        read_reviewed(csv)
    csv.write_text("path,occlusion,persons,confidence\na.jpg,3,1,0.9\nb.jpg,0,1,\n")
    assert read_reviewed(csv)["path"].tolist() == ["b.jpg"]  # the hand-made row


def _hidden_legs_cache(tmp_path: Path) -> tuple[Any, Path, list[int]]:
    """(a mediapipe-named cache of 12 tracklets of 3 frames, every other one with the legs
    hidden yet scored as likely seen, a reviewed CSV of all its frames, their true labels)."""
    from tests.test_pseudolabel.test_tagging import _cache, _person, _small

    kp, mask = _person()
    hidden = kp.copy()
    hidden[[13, 14, 15, 16], 2] = 0.8  # scored as likely seen (mediapipe's scale), yet hidden
    tracklets = [f"t{i}" for i in range(12) for _ in range(3)]
    keypoints = np.stack([hidden if int(t[1:]) % 2 else kp for t in tracklets])
    masks = np.stack([_small(mask)] * len(tracklets))
    cache = _cache(tmp_path / "labels", tracklets, keypoints, masks, "mediapipe")
    meta = json.loads((cache.root / "meta.json").read_text())
    meta["backends"]["pose"]["name"] = "mediapipe"
    (cache.root / "meta.json").write_text(json.dumps(meta))
    csv = tmp_path / "reviewed.csv"
    paths = cache.index["path"]
    truth = [4 if int(t[1:]) % 2 else 0 for t in cache.index["tracklet"]]
    pd.DataFrame({"path": paths, "occlusion": truth, "persons": 1, "reviewed": 1}).to_csv(csv)
    return cache, csv, truth


def test_calibrate_and_tag_occlusion_commands(tmp_path: Path) -> None:
    cache, csv, truth = _hidden_legs_cache(tmp_path)
    paths = cache.index["path"]
    runner = CliRunner()
    before = runner.invoke(
        main, ["tag-occlusion", str(cache.root), "--out", str(tmp_path / "a.csv")]
    )
    assert before.exit_code == 0, before.output
    assert "shipped default" in before.output and (tmp_path / "a.calibration.json").is_file()
    part = tmp_path / "part.csv"  # 10 of the 12 tracklets reviewed
    pd.read_csv(csv).head(30).to_csv(part, index=False)
    r = runner.invoke(main, ["calibrate", str(cache.root), "--reviewed", str(part)])
    assert r.exit_code == 0, r.output
    assert "of 10 tracklets" in r.output and "uses the fitted calibration" in r.output
    # the fit starts from the shipped default, not from a calibration.json fitted earlier
    assert "occluded yes / no agreement, shipped default: " in r.output
    assert "starting" not in r.output and "replaced" not in r.output  # nothing fitted before
    assert "accuracy of the unreviewed frames' tags: 1.000 (95 % CI" in r.output
    assert f"and its check {cache.root / 'calibration.check.csv'};" in r.output
    assert isinstance(load_calibration(cache.root / "calibration.json"), Calibration)
    printed = r.output.rstrip().rsplit("`", 2)[1]  # the command it says to run next, as printed
    after = runner.invoke(main, shlex.split(printed)[1:])
    assert after.exit_code == 0 and "fitted on reviewed labels" in after.output
    tags = pd.read_csv(cache.root / "occlusion.calibrated.csv")
    assert ((tags["occlusion"] > 0) == (np.array(truth) > 0)).mean() == 1.0
    assert ((pd.read_csv(tmp_path / "a.csv")["occlusion"] > 0) == (np.array(truth) > 0)).mean() < 1
    bad = tmp_path / "other.csv"
    bad.write_text("path,occlusion\nnot/here.jpg,3\n")
    r = runner.invoke(main, ["calibrate", str(cache.root), "--reviewed", str(bad)])
    assert r.exit_code != 0 and "none of its 1 reviewed frames" in r.output
    none = tmp_path / "none.csv"
    none.write_text(f"path,occlusion,persons,reviewed\n{paths.iloc[0]},3,1,0\n")
    r = runner.invoke(main, ["calibrate", str(cache.root), "--reviewed", str(none)])
    assert r.exit_code != 0 and "no reviewed frames (no row with reviewed = 1)" in r.output
    assert "none of its" not in r.output
    nowhere = tmp_path / "no" / "such" / "tags.csv"
    r = runner.invoke(main, ["tag-occlusion", str(cache.root), "--out", str(nowhere)])
    assert r.exit_code == 1
    assert f"no folder {nowhere.parent}; create it" in r.output and not nowhere.parent.exists()
    fitted = (cache.root / "calibration.json").read_bytes()
    few = tmp_path / "few.csv"  # one reviewed tracklet: too few to fit anything
    pd.read_csv(csv).head(3).to_csv(few, index=False)
    r = runner.invoke(main, ["calibrate", str(cache.root), "--reviewed", str(few)])
    assert r.exit_code == 0 and "fewer than 5" in r.output and "fitted earlier" in r.output
    assert (cache.root / "calibration.json").read_bytes() == fitted
    # the earlier fit stays: no line says the shipped default is kept, nor estimates its tags
    assert "kept the shipped default" not in r.output, r.output
    assert "unreviewed frames' tags" not in r.output and "calibrate again" not in r.output
    start = default_calibration("mediapipe", "mediapipe")
    prior_only = start.with_fit(prior_label=dict.fromkeys(start.prior_label, 3))  # no model
    prior_only.save(cache.root / "calibration.json")  # by hand: the check beside it is stale
    with pytest.warns(UserWarning, match="the check of another calibration"):
        r = runner.invoke(
            main, ["tag-occlusion", str(cache.root), "--out", str(tmp_path / "b.csv")]
        )
    assert r.exit_code == 0 and "fitted on reviewed labels" in r.output, r.output
    r = runner.invoke(main, ["calibrate", str(cache.root), "--reviewed", str(csv)])
    assert r.exit_code == 0 and "wrote" in r.output, r.output
    assert "unreviewed frames' tags" not in r.output  # every frame reviewed: none to estimate


def test_calibrate_says_the_numbers_an_earlier_fit_it_replaces_was_judged_by(
    tmp_path: Path,
) -> None:
    """A first calibrate on a reviewer who called the first 6 tracklets clear; the next, on all
    12 with their true labels, is judged against it on the 6 it was not fitted on, beats it and
    says both numbers, as where the earlier one stays."""
    cache, csv, _ = _hidden_legs_cache(tmp_path)
    runner = CliRunner()
    reviewed = pd.read_csv(csv)
    first = tmp_path / "first.csv"
    reviewed.head(18).assign(occlusion=0).to_csv(first, index=False)  # 6 tracklets, all clear
    r = runner.invoke(main, ["calibrate", str(cache.root), "--reviewed", str(first)])
    assert r.exit_code == 0 and "wrote " in r.output, r.output
    r = runner.invoke(main, ["calibrate", str(cache.root), "--reviewed", str(csv)])
    assert r.exit_code == 0 and "wrote " in r.output, r.output
    said = f"replaced {cache.root / 'calibration.json'} (fitted earlier): on the 6 reviewed "
    line = next(line for line in r.output.splitlines() if line.startswith(said))
    earlier, new = line.split(" it was not fitted on it agrees ")[1].split(", the new fit ")
    assert float(earlier.split()[0]) < float(new.split()[1]), line  # "(cross-validated) 1.000"
    assert r.output.index(said) < r.output.index("wrote ")


def test_the_check_travels_with_the_calibration_to_the_tags(tmp_path: Path) -> None:
    from occreid.pseudolabel.calibration_check import check_path, load_check

    cache, csv, _ = _hidden_legs_cache(tmp_path)
    fitted = cache.root / "calibration.json"
    runner = CliRunner()
    r = runner.invoke(main, ["calibrate", str(cache.root), "--reviewed", str(csv)])
    assert r.exit_code == 0, r.output
    check = load_check(fitted)
    assert check is not None and sorted(check["path"]) == sorted(cache.index["path"])
    out = tmp_path / "tags.csv"
    r = runner.invoke(main, ["tag-occlusion", str(cache.root), "--out", str(out)])
    assert r.exit_code == 0, r.output
    beside = load_check(tags_calibration(out))
    assert beside is not None and beside.equals(check)
    default_calibration("mediapipe", "mediapipe").save(fitted)  # replaced: its check is stale
    with pytest.warns(UserWarning, match="the check of another calibration"):
        assert check_path(fitted).is_file() and load_check(fitted) is None
    with pytest.warns(UserWarning, match="the check of another calibration"):
        r = runner.invoke(main, ["tag-occlusion", str(cache.root), "--out", str(out)])
    assert r.exit_code == 0 and load_check(tags_calibration(out)) is None
    assert not check_path(tags_calibration(out)).exists()


def test_tags_take_only_the_rows_of_a_check_that_are_their_own_frames(tmp_path: Path) -> None:
    """A calibration fitted on another source's reviews, passed with --calibration: its check
    speaks of other frames; the tags' copy keeps only their own, and says so in one warning."""
    from occreid.pseudolabel.calibration_check import check_path, load_check, save_check

    cache, csv, _ = _hidden_legs_cache(tmp_path)
    fitted = cache.root / "calibration.json"
    runner = CliRunner()
    assert (
        runner.invoke(main, ["calibrate", str(cache.root), "--reviewed", str(csv)]).exit_code == 0
    )
    check = load_check(fitted)
    assert check is not None
    elsewhere = check.assign(path=check["path"].where(check.index >= 2, "other/" + check["path"]))
    save_check(fitted, elsewhere)  # two rows of another source's frames
    out = tmp_path / "tags.csv"
    args = ["tag-occlusion", str(cache.root), "--out", str(out), "--calibration", str(fitted)]
    with pytest.warns(UserWarning, match=r"2 of its 36 rows are not frames of these labels: left"):
        assert runner.invoke(main, args).exit_code == 0
    beside = load_check(tags_calibration(out))
    assert beside is not None and beside.equals(check.iloc[2:].reset_index(drop=True))
    save_check(fitted, check.assign(path="other/" + check["path"]))  # none of them
    with pytest.warns(UserWarning, match=r"36 of its 36 rows .*: no check copied"):
        assert runner.invoke(main, args).exit_code == 0
    assert not check_path(tags_calibration(out)).exists()


def _with_unknown(table: pd.DataFrame, answers: pd.DataFrame, tracklets: int, label: int):
    """``table`` and ``answers`` with ``tracklets`` more tracklets of 6 frames where no pose was
    found, which the reviewer labelled ``label``."""
    rows, more = [], []
    for t in range(tracklets):
        for f in range(6):
            path = f"train/{900 + t:04d}/F{f:03d}.jpg"
            rows.append(
                {"path": path, "tracklet": f"{900 + t:04d}", **dict.fromkeys(LEVEL_COLUMNS, 0.0),
                 "pose_found": False, "body": False, "lowest_seen": np.nan,
                 "kp_hidden": np.nan, "kp_occluded": np.nan, "mask_hidden": np.nan, "persons": 1}
            )  # fmt: skip
            more.append({"path": path, "occlusion": label, "persons": 1})
    return (
        pd.concat([table, pd.DataFrame(rows)], ignore_index=True),
        pd.concat([answers, pd.DataFrame(more)], ignore_index=True),
    )


def test_a_rejected_mapping_still_learns_the_prior_of_frames_without_evidence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table, answers = _with_unknown(*_squeezed_table(10, seen_at=0.75), tracklets=10, label=8)
    base = default_calibration("oracle", "oracle")  # right on every frame with evidence
    import occreid.pseudolabel.calibrate as calibrate

    fitted = calibrate.fit_model

    def everything_occluded(x: pd.DataFrame, y: np.ndarray, label: np.ndarray) -> OccludedModel:
        model = fitted(x, y, label)  # a mapping cross-validation must reject
        return OccludedModel(**{**model.__dict__, "intercept": 50.0})

    monkeypatch.setattr(calibrate, "fit_model", everything_occluded)
    fit = fit_calibration(table, answers, base)
    assert fit.used_fit and "prior" in fit.reason
    assert fit.calibration.model is base.model  # the starting mapping of frames with evidence
    tags = tag_table(table, fit.calibration)
    unknown = tags["unknown"].to_numpy()
    assert (tags.loc[unknown, "occlusion"] == 8).all()  # the reviewed label, not the prior's 5
    assert fit.calibration.prior_occluded["no_pose"] > 0.9
    assert tags.loc[~unknown, "occlusion"].equals(tag_table(table, base).loc[~unknown, "occlusion"])
    evidence_only = answers[~unknown]  # nothing reviewed to learn a prior from: a plain fall-back
    fit = fit_calibration(table, evidence_only, base)
    assert not fit.used_fit and "kept the shipped default" in fit.reason


def test_calibrate_on_an_image_folder_s_labels_speaks_of_images(
    tmp_path: Path, image_folder_factory
) -> None:
    from tests.test_pseudolabel.test_tagging import _cache, _person, _small

    kp, mask = _person()
    names = [f"{i:04d}_c1s1_000000_00.jpg" for i in range(3)]  # an image is its own tracklet
    cache = _cache(tmp_path / "labels", names, np.stack([kp] * 3), np.stack([_small(mask)] * 3))
    meta = json.loads((cache.root / "meta.json").read_text())
    meta["source"] = str(image_folder_factory())
    (cache.root / "meta.json").write_text(json.dumps(meta))
    csv = tmp_path / "reviewed.csv"
    pd.DataFrame({"path": cache.index["path"], "occlusion": 0, "persons": 1}).to_csv(csv)
    r = CliRunner().invoke(main, ["calibrate", str(cache.root), "--reviewed", str(csv)])
    assert r.exit_code == 0, r.output
    assert "reviewed: 3 images" in r.output and "3 reviewed images, fewer than" in r.output
    assert "tracklet" not in r.output, r.output


def test_a_fit_without_evidence_enough_for_a_mapping_says_only_the_prior_was_fitted() -> None:
    table, answers = _with_unknown(*_squeezed_table(2), tracklets=8, label=8)  # 1 of each class
    base = default_calibration("oracle", "oracle")
    fit = fit_calibration(table, answers, base)
    assert fit.used_fit and fit.calibration.model is base.model
    assert "too few reviewed tracklets with evidence of each class" in fit.reason
    assert fit.calibration.sources.get("model") == base.sources.get("model")
    assert fit.calibration.prior_label["no_pose"] == 8  # what was fitted: the prior


def test_counts_are_said_in_words() -> None:
    assert counted(1, "tracklets", "reviewed") == "1 reviewed tracklet"
    assert counted(1_200, "images") == "1,200 images"
    assert counted(0, "tracklets") == "0 tracklets"


def test_a_bad_row_of_a_check_is_named_by_its_line_in_the_file(tmp_path: Path) -> None:
    from occreid.pseudolabel.calibration_check import load_check, save_check

    calibration = tmp_path / "calibration.json"
    default_calibration("x", "y").save(calibration)
    rows = pd.DataFrame(
        {"path": ["a/1.jpg", "a/2.jpg"], "occlusion": [0, 1], "persons": 1, "confidence": 0.9}
    )
    save_check(calibration, rows)
    check = calibration.with_name("calibration.check.csv")
    lines = check.read_text().splitlines()
    lines[3] = "a/2.jpg,13,1,0.9"  # the second row, on the file's line 4
    check.write_text("\n".join(lines) + "\n")
    with pytest.raises(OccreidError, match=r"calibration.check.csv:4: occlusion = 13"):
        load_check(calibration)


def test_a_check_of_another_calibration_is_not_read_and_says_so(tmp_path: Path) -> None:
    from occreid.pseudolabel.calibration_check import load_check, save_check

    calibration = tmp_path / "calibration.json"
    default_calibration("x", "y").save(calibration)
    rows = pd.DataFrame({"path": ["a/1.jpg"], "occlusion": [0], "persons": 1, "confidence": 0.9})
    save_check(calibration, rows)
    assert load_check(calibration) is not None
    calibration.write_text(calibration.read_text() + " ")  # edited by hand since
    with pytest.warns(UserWarning, match=r"calibration.check.csv: the check of another"):
        assert load_check(calibration) is None
