"""Re-tagging from the review page: a calibration fitted on the decisions so far gives new
proposals to the frames nobody decided, never to a decision; a fall-back changes nothing and
says why; without the label cache it is unavailable with a reason; --calibrate-every runs it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from occreid.common.errors import OccreidError
from occreid.review.options import ReviewOptions
from occreid.review.retag import NO_LABELS
from occreid.review.session import open_session


def _proposals(ctx: Any) -> pd.DataFrame:
    with ctx.store.connect() as con:
        return pd.read_sql_query(
            "SELECT path, tracklet, proposed_occlusion, proposed_persons, confidence, "
            "occlusion, persons, decision FROM frames ORDER BY path",
            con,
        ).set_index("path")


def _accept(page: Any, n: int, clear: bool = False) -> list[str]:
    """Accept the first ``n`` tracklets of the queue; ``clear``: after labelling every frame
    clear (a reviewer who disagrees with the occluded tags: the fit is used)."""
    items = page.get("/api/queue").json()["items"][:n]
    for item in items:
        key, last = item["key"], item["frames"] - 1
        if clear:
            for field, value in (("occlusion", 0), ("persons", 1)):
                page.write("/api/frames", key=key, first=0, last=last, field=field, value=value)
        assert page.write("/api/tracklet", key=key, field="accepted", value=1).is_success
    return [i["key"] for i in items]


def test_without_labels_re_tagging_is_unavailable_with_a_reason(page: Any) -> None:
    assert page.get("/api/session").json()["retag"] == NO_LABELS
    refused = page.write("/api/retag")
    assert refused.status_code == 400 and refused.json()["detail"] == NO_LABELS


def test_calibrate_every_needs_labels(review_source: Path, tags: Path) -> None:
    opts = ReviewOptions(source=review_source, annotations=tags, calibrate_every=3)
    with pytest.raises(OccreidError, match="--labels"):
        open_session(opts, "ann")


@pytest.fixture
def with_labels(review_source: Path, tags: Path, review_labels: Path) -> ReviewOptions:
    return ReviewOptions(source=review_source, annotations=tags, labels=review_labels)


def test_a_fall_back_changes_nothing_and_says_why(
    with_labels: ReviewOptions, open_page: Any
) -> None:
    ctx = open_session(with_labels, "ann")[0]
    page = open_page(ctx)
    assert page.get("/api/session").json()["retag"] is None
    _accept(page, 1)
    before = _proposals(ctx)
    out = page.write("/api/retag").json()
    assert out["used_fit"] is False and out["retagged"] == 0
    assert "nothing re-tagged" in out["message"] and "fewer than" in out["message"]
    # a re-tag saves nothing: not `occreid calibrate`'s advice, nor its claim of a new
    # confidence; the proposals are those shown, not "the starting calibration's"
    assert "calibrate again" not in out["message"] and "confidence" not in out["message"]
    assert "starting calibration" not in out["message"] and "re-tag again" in out["message"]
    assert out["lines"][-1] == out["message"]  # the lines end with what the re-tag did
    assert _proposals(ctx).equals(before) and len(ctx.store.proposal_sets()) == 1
    assert page.get("/api/summary").json()["retag"]["message"] == out["message"]


def test_re_tagging_changes_only_the_proposals_of_frames_nobody_decided(
    with_labels: ReviewOptions, open_page: Any
) -> None:
    from occreid.pseudolabel.calibration import load_calibration
    from occreid.pseudolabel.tagging import tag_frames

    ctx = open_session(with_labels, "ann")[0]
    page = open_page(ctx)
    accepted = _accept(page, 6, clear=True)
    open_key = next(i["key"] for i in page.get("/api/queue").json()["items"] if not i["accepted"])
    page.write("/api/frames", key=open_key, first=0, last=0, field="occlusion", value=9)
    before = _proposals(ctx)
    out = page.write("/api/retag").json()
    assert out["used_fit"] is True and out["retagged"] > 0, out
    after = _proposals(ctx)
    decided = after["tracklet"].isin(accepted) | after["decision"].notna()
    assert after[decided].equals(before[decided])  # decisions and what was shown stay
    sets = ctx.store.proposal_sets()
    assert len(sets) == 2 and sets["csv"].iloc[-1].endswith(".retag-2.calibration.json")
    cal = load_calibration(Path(sets["csv"].iloc[-1]))
    expected = tag_frames(ctx.labels, cal).set_index("path").loc[after.index[~decided]]
    undecided = after[~decided]
    assert (undecided["proposed_occlusion"] == expected["occlusion"]).all()
    assert (undecided["occlusion"] == expected["occlusion"]).all()
    assert undecided["confidence"].to_numpy() == pytest.approx(expected["confidence"].to_numpy())
    assert int(sets["changed"].iloc[-1]) == out["retagged"]
    same = page.write("/api/retag").json()  # no decision since: the same fit, nothing new
    assert same["used_fit"] is False and same["retagged"] == 0, same
    assert "nothing re-tagged" in same["message"] and "retag-2.calibration.json" in same["message"]
    assert same["lines"][-1] == same["message"] and len(ctx.store.proposal_sets()) == 2
    assert not list(Path(sets["csv"].iloc[-1]).parent.glob("*.retag-3.*"))
    again, opened = open_session(with_labels, "ann")  # the same CSV: the re-tag stays
    assert opened.state == "unchanged" and _proposals(again).equals(after)


def test_a_re_tag_names_its_number_as_agreement_on_the_reviewed_frames(
    with_labels: ReviewOptions, open_page: Any
) -> None:
    """The header estimates the unreviewed tags' accuracy (per confidence bin): the re-tag's
    cross-validated agreement on the reviewed frames is said as that, in the message the page
    shows, and no line claims a second estimate of the unreviewed frames."""
    ctx = open_session(with_labels, "ann")[0]
    page = open_page(ctx)
    _accept(page, 6, clear=True)
    out = page.write("/api/retag").json()
    assert out["used_fit"] is True, out
    fitted = next(line for line in out["lines"] if "fitted (cross-validated" in line)
    number = fitted.split(": ", 1)[1].split(" (balanced")[0]  # e.g. 0.976 (95 % CI 0.7-1.0)
    said = f"agreement cross-validated on the reviewed frames: {number}"
    assert out["message"].endswith(said), out["message"]
    assert not any("unreviewed" in line for line in [out["message"], *out["lines"]])
    header = page.get("/api/summary").json()
    assert header["retag"]["message"] == out["message"] and header["unreviewed"]["frames"] > 0


def test_calibrate_every_re_tags_after_that_many_newly_accepted_tracklets(
    with_labels: ReviewOptions, open_page: Any
) -> None:
    with_labels.calibrate_every = 3
    ctx = open_session(with_labels, "ann")[0]
    page = open_page(ctx)
    _accept(page, 2, clear=True)
    assert ctx.retag is not None and ctx.retag.last is None
    _accept(page, 1, clear=True)  # the third: a re-tag (too few tracklets: falls back, says so)
    assert ctx.retag.last is not None and "fewer than" in ctx.retag.last["message"]
    assert ctx.retag.accepted_at_last == 3
    _accept(page, 3, clear=True)
    assert ctx.retag.accepted_at_last == 6 and ctx.retag.last["used_fit"] is True
    assert len(ctx.store.proposal_sets()) == 2


def test_a_label_cache_of_other_frames_is_refused_before_the_server_starts(
    review_source: Path, tags: Path, tmp_path: Path
) -> None:
    from occreid.occdata.synth import SynthConfig, synthesize
    from occreid.pseudolabel.runner import RunOptions, run

    other = tmp_path / "other"
    synthesize(other, SynthConfig(ids=4, distractors=1, min_frames=5, max_frames=9, seed=12))
    run(RunOptions(root=other, out=tmp_path / "other-labels"))
    opts = ReviewOptions(source=review_source, annotations=tags, labels=tmp_path / "other-labels")
    with pytest.raises(OccreidError, match=r"a label cache of other frames \(made from .*other"):
        open_session(opts, "ann")


def test_a_re_tag_s_calibration_keeps_its_check_beside_it(
    with_labels: ReviewOptions, open_page: Any, tmp_path: Path
) -> None:
    """`occreid tag-occlusion --calibration STORE.retag-N.calibration.json` then carries the
    re-tag's check to its CSV, as it does LABELS/calibration.json's."""
    from occreid.pseudolabel.calibration_check import load_check
    from occreid.review.export import export

    ctx = open_session(with_labels, "ann")[0]
    page = open_page(ctx)
    _accept(page, 6, clear=True)
    assert page.write("/api/retag").json()["used_fit"] is True
    check = load_check(Path(ctx.store.proposal_sets()["csv"].iloc[-1]))
    assert check is not None
    out = pd.read_csv(export(ctx.store, tmp_path / "out.csv")["csv"])
    kept = out.set_index("path").loc[check["path"]]  # the store's check, by frame
    assert (kept["check_occlusion"].to_numpy() == check["occlusion"].to_numpy()).all()
    assert kept["check_confidence"].to_numpy() == pytest.approx(check["confidence"].to_numpy())


def _squeezed_session(squeezed: tuple[Path, Path], csv: Path) -> tuple[Any, list[str], Any]:
    """(a session on the squeezed source with ``csv`` and its label cache, its tracklets in a
    seeded order, the true labels by path)."""
    import numpy as np

    source, labels = squeezed
    ctx = open_session(ReviewOptions(source=source, annotations=csv, labels=labels), "ann")[0]
    keys = sorted(ctx.store.tracklets()["key"])
    order = [str(k) for k in np.random.default_rng(0).permutation(keys)]
    return ctx, order, pd.read_csv(source / "annotations.csv").set_index("path")


def _accept_as_shown(ctx: Any, keys: list[str]) -> None:
    """Accept tracklets ``keys`` as proposed (the reviewer changes nothing)."""
    for key in keys:
        version = ctx.store.tracklet(key)["version"]
        ctx.store.set_tracklet(key, "accepted", 1, ("ann", "test"), version)


def _tags(squeezed: tuple[Path, Path], csv: Path, cal: Any = None) -> Path:
    """``csv``: the squeezed cache's tags under ``cal`` (None: the backends' default), with
    ``cal`` and its check beside it as `occreid tag-occlusion` leaves them."""
    from occreid.pseudolabel.cache import LabelCache
    from occreid.pseudolabel.calibration import tags_calibration
    from occreid.pseudolabel.calibration_check import save_check
    from occreid.pseudolabel.tagging import tag_occlusion

    tags = tag_occlusion(LabelCache(squeezed[1]), None if cal is None else cal.calibration)
    tags.to_csv(csv, index=False)
    if cal is not None:
        cal.calibration.save(tags_calibration(csv))
        save_check(tags_calibration(csv), cal.check)
    return csv


def test_a_re_tag_keeps_an_earlier_re_tag_that_the_new_fit_does_not_beat(
    squeezed: tuple[Path, Path], tmp_path: Path
) -> None:
    """The tracklets reviewed after the first re-tag are accepted as it proposed them: on them
    its calibration agrees with the reviewers everywhere, so no new fit beats it there."""
    from tests.test_review.test_check import _review

    ctx, order, truth = _squeezed_session(squeezed, _tags(squeezed, tmp_path / "t.csv"))
    assert ctx.retag is not None
    for key in order[:12]:
        _review(ctx.store, key, truth)
    first = ctx.retag.run(ctx.store, ctx.store.accepted())
    assert first["used_fit"] is True and first["retagged"] > 0, first
    _accept_as_shown(ctx, order[12:18])
    before = _proposals(ctx)
    out = ctx.retag.run(ctx.store, ctx.store.accepted())
    assert out["used_fit"] is False and out["retagged"] == 0, out
    message = out["message"]
    assert message.startswith("nothing re-tagged: t.csv.review.sqlite.retag-2.calibration.json")
    assert "fitted earlier, stays: on the 6 reviewed tracklets it was not fitted on" in message
    assert "it agrees 1.000 (95 % CI" in message and "the new fit (cross-validated)" in message
    assert out["lines"][-1] == message  # not the fit's "uses the fitted calibration"
    assert _proposals(ctx).equals(before) and len(ctx.store.proposal_sets()) == 2
    assert not list(tmp_path.glob("*.retag-3.*"))


def test_a_re_tag_replaces_an_earlier_re_tag_that_the_new_fit_beats(
    squeezed: tuple[Path, Path], tmp_path: Path
) -> None:
    """The first re-tag was fitted on a reviewer who called every frame clear; the tracklets
    reviewed after it get their true labels, which the new fit (cross-validated) matches
    better: the message says so with both numbers, and the lines name the shipped default the
    fit starts from, not the first re-tag that the proposals came from."""
    from tests.test_review.test_check import _review

    ctx, order, truth = _squeezed_session(squeezed, _tags(squeezed, tmp_path / "t.csv"))
    assert ctx.retag is not None
    for key in order[:12]:
        _review(ctx.store, key, truth.assign(occlusion=0, persons=1))
    assert ctx.retag.run(ctx.store, ctx.store.accepted())["used_fit"] is True
    for key in order[12:20]:
        _review(ctx.store, key, truth)
    out = ctx.retag.run(ctx.store, ctx.store.accepted())
    assert out["used_fit"] is True and out["retagged"] > 0, out
    assert ctx.store.proposal_sets()["csv"].iloc[-1].endswith(".retag-3.calibration.json")
    judged = (
        "t.csv.review.sqlite.retag-2.calibration.json, fitted earlier, is replaced: on the 8 "
        "reviewed tracklets it was not fitted on it agrees "
    )
    replaced = out["message"].split("; ")[-1]
    assert replaced.startswith(judged) and out["lines"][-1] == replaced, out
    earlier, new = replaced.removeprefix(judged).split(", the new fit (cross-validated) ")
    assert float(earlier.split()[0]) < float(new.split()[0])
    said = [out["message"], *out["lines"]]
    assert any(line.startswith("occluded yes / no agreement, shipped default: ") for line in said)
    assert not any("starting" in line for line in said), said


def test_a_re_tag_keeps_the_csv_s_fitted_calibration_that_the_new_fit_does_not_beat(
    squeezed: tuple[Path, Path], tmp_path: Path
) -> None:
    """The CSV was tagged with a calibration fitted on 12 reviewed tracklets (`occreid
    calibrate`, then tag-occlusion: its check beside the CSV's calibration); 6 more accepted as
    proposed do not make a new fit better there, so nothing is re-tagged. A calibration of
    other backends (another cache's tags) is not judged on this cache's evidence: replaced."""
    from occreid.pseudolabel.cache import LabelCache
    from occreid.pseudolabel.calibrate import fit_calibration
    from occreid.pseudolabel.calibration import (
        backend_names,
        default_calibration,
        tags_calibration,
    )
    from occreid.pseudolabel.calibration_check import save_check
    from occreid.pseudolabel.tagging import evidence_table
    from tests.test_review.test_check import _review

    cache = LabelCache(squeezed[1])
    base = default_calibration(*backend_names(cache.meta))
    table = evidence_table(cache, base)
    ctx, order, truth = _squeezed_session(squeezed, _tags(squeezed, tmp_path / "t.csv"))
    first = truth.loc[table.loc[table["tracklet"].isin(order[:12]), "path"]].reset_index()
    fit = fit_calibration(table, first, base)
    assert fit.used_fit
    csv = _tags(squeezed, tmp_path / "fitted.csv", fit)
    ctx = _squeezed_session(squeezed, csv)[0]
    assert ctx.retag is not None
    for key in order[:12]:
        _review(ctx.store, key, truth)
    _accept_as_shown(ctx, order[12:18])
    out = ctx.retag.run(ctx.store, ctx.store.accepted())
    assert out["retagged"] == 0, out
    assert "fitted.calibration.json, fitted earlier, stays" in out["message"]
    assert len(ctx.store.proposal_sets()) == 1
    other = dataclasses.replace(fit.calibration, pose="another-pose")  # another cache's
    other.save(tags_calibration(csv))
    save_check(tags_calibration(csv), fit.check)
    out = ctx.retag.run(ctx.store, ctx.store.accepted())
    assert out["retagged"] > 0 and len(ctx.store.proposal_sets()) == 2, out


def test_the_proposals_calibration_is_the_file_they_came_from_while_it_is_unchanged(
    session: Any, tags: Path, tmp_path: Path
) -> None:
    from occreid.pseudolabel.calibration import tags_calibration
    from occreid.review.retag import proposed_by

    assert proposed_by(session.store) == tags_calibration(tags)  # the CSV's (fitted or not)
    tags.write_text(tags.read_text() + "\n")  # tagged again since: another calibration's
    assert proposed_by(session.store) is None
    retag = tmp_path / "tags.csv.review.sqlite.retag-2.calibration.json"
    retag.write_text("{}")
    frames = session.store.frames()
    session.store.repropose(
        frames[["path"]].assign(occlusion=3, persons=1, confidence=0.7), lambda _: retag
    )
    assert proposed_by(session.store) == retag
    retag.write_text("{ }")  # replaced since
    assert proposed_by(session.store) is None


def test_two_servers_re_tagging_at_once_save_each_calibration_as_its_own_set(
    with_labels: ReviewOptions, open_page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two reviewers' servers on one store (each with --labels): bob's re-tag runs whole while
    ann's has its fit and is about to propose its tags; each keeps its calibration file, named
    by its proposal set's number (STORE.retag-N.calibration.json), with its check."""
    from occreid.occdata.annotations import file_sha256
    from occreid.pseudolabel.calibration_check import load_check

    ann = open_session(with_labels, "ann")[0]
    bob = open_session(with_labels, "bob")[0]
    _accept(open_page(ann), 6, clear=True)
    assert ann.retag is not None and bob.retag is not None
    propose = ann.store.repropose

    def bob_meanwhile(*args: Any, **kwargs: Any) -> Any:
        assert bob.retag is not None
        assert bob.retag.run(bob.store, bob.store.accepted())["used_fit"] is True
        return propose(*args, **kwargs)

    monkeypatch.setattr(ann.store, "repropose", bob_meanwhile)
    assert ann.retag.run(ann.store, ann.store.accepted())["used_fit"] is True
    sets = ann.store.proposal_sets()
    assert sets["id"].tolist() == [1, 2, 3]
    for n, csv, sha in sets[["id", "csv", "sha256"]].iloc[1:].itertuples(index=False):
        assert csv.endswith(f".retag-{n}.calibration.json")
        assert file_sha256(Path(csv)) == sha and load_check(Path(csv)) is not None
