"""The header's and queue's tables kept between writes: after any mix of writes they equal a full
read of the store, and a one-frame decision re-reads only its own tracklet."""

from __future__ import annotations

import pandas as pd
import pytest

from occreid.review.aggregates import LiveTables
from occreid.review.app import ReviewContext
from occreid.review.quality import INNER_EDGES
from occreid.review.store import ReviewStore


def _equal_to_a_full_read(live: LiveTables) -> None:
    patched = live.current()
    fresh = LiveTables(live.store, INNER_EDGES).current()
    assert patched.state == fresh.state
    for name in ("tracklets", "reviewed", "compared"):
        # the same values; a column's dtype may follow what it holds (all-None object vs str)
        pd.testing.assert_frame_equal(
            getattr(patched, name), getattr(fresh, name), check_dtype=False
        )


def test_patched_tables_equal_a_full_read_after_every_kind_of_write(
    session: ReviewContext, page
) -> None:
    live = LiveTables(session.store, INNER_EDGES)
    live.current()
    keys = [i["key"] for i in page.get("/api/queue").json()["items"]]
    page.write("/api/frames", key=keys[0], first=0, last=1, field="occlusion", value=7)
    _equal_to_a_full_read(live)
    page.write("/api/tracklet", key=keys[1], field="accepted", value=1)
    page.write("/api/frames", key=keys[1], first=0, last=0, field="persons", value=2)
    _equal_to_a_full_read(live)
    assert live.current().reviewed["tracklet"].eq(keys[1]).any()
    page.write("/api/undo")
    page.write("/api/undo")  # the acceptance too: its frames leave the reviewed tables
    _equal_to_a_full_read(live)
    assert not live.current().reviewed["tracklet"].eq(keys[1]).any()
    page.write("/api/tracklet", key=keys[2], field="exclude", value=1)
    _equal_to_a_full_read(live)


def test_a_one_frame_decision_reads_only_its_tracklet_again(
    session: ReviewContext, page, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = LiveTables(session.store, INNER_EDGES)
    before = live.current()
    key = page.first_key()
    reads: list[list[str] | None] = []
    real = ReviewStore.tracklets
    monkeypatch.setattr(
        ReviewStore,
        "tracklets",
        lambda self, edges=(), keys=None: reads.append(keys) or real(self, edges, keys),
    )
    page.write("/api/frames", key=key, first=0, last=0, field="occlusion", value=9)
    after = live.current()
    assert reads == [[key]]
    changed = (
        after.tracklets.set_index("key")["occluded"]
        != before.tracklets.set_index("key")["occluded"]
    )
    assert set(changed[changed].index) <= {key}
    assert live.current() is after and reads == [[key]]  # nothing written: nothing read


def test_the_queue_and_header_follow_a_decision(page) -> None:
    key = page.first_key()
    before = page.get("/api/summary").json()["frames_changed"]
    page.write("/api/frames", key=key, first=0, last=0, field="occlusion", value=10)
    assert page.get("/api/summary").json()["frames_changed"] == before + 1
    item = next(i for i in page.get("/api/queue").json()["items"] if i["key"] == key)
    assert item["changed"] == 1 and not any(k.startswith("at_least_") for k in item)
