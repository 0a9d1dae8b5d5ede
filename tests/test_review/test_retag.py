"""Re-tagging from the review page: a calibration fitted on the decisions so far gives new
proposals to the frames nobody decided, never to a decision; a fall-back changes nothing and
says why; without the label cache it is unavailable with a reason; --calibrate-every runs it."""

from __future__ import annotations

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
    again, opened = open_session(with_labels, "ann")  # the same CSV: the re-tag stays
    assert opened.state == "unchanged" and _proposals(again).equals(after)


def test_calibrate_every_re_tags_after_that_many_newly_accepted_tracklets(
    with_labels: ReviewOptions, open_page: Any
) -> None:
    with_labels.calibrate_every = 3
    ctx = open_session(with_labels, "ann")[0]
    page = open_page(ctx)
    _accept(page, 2)
    assert ctx.retag is not None and ctx.retag.last is None
    _accept(page, 1)  # the third: a re-tag (too few tracklets: it falls back and says so)
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
