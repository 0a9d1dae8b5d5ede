"""A small synth source with a tag CSV (with confidence) for the review app's tests, a larger one
with a mis-scaled label cache (``squeezed``: re-tags that fit), and a test client that talks to
the app as its page does (Host 127.0.0.1:PORT, the token header)."""

from __future__ import annotations

import importlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from occreid.occdata.synth import SynthConfig, synthesize
from occreid.review.app import ReviewContext, create_app
from occreid.review.options import ReviewOptions
from occreid.review.session import open_session

SMALL = SynthConfig(ids=4, distractors=1, min_frames=5, max_frames=9, seed=11)


@pytest.fixture(scope="session")
def review_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("review") / "source"
    synthesize(dest, SMALL)
    return dest


@pytest.fixture
def tags(review_source: Path, tmp_path: Path) -> Path:
    """The synth annotations with a confidence per tracklet (0.1, 0.2, ... by tracklet order)."""
    table = pd.read_csv(review_source / "annotations.csv")
    tracklet = table["path"].str.rsplit("/", n=1).str[0]
    rank = tracklet.rank(method="dense").astype(int)
    table["confidence"] = np.round((rank % 9 + 1) / 10, 1)
    out = tmp_path / "tags.csv"
    table.to_csv(out, index=False)
    return out


@pytest.fixture
def session(review_source: Path, tags: Path) -> ReviewContext:
    return open_session(ReviewOptions(source=review_source, annotations=tags), "ann")[0]


class Page(TestClient):
    """One open page: the token header on every request, its own page id in every write."""

    def __init__(self, ctx: ReviewContext, page: str = "page-one") -> None:
        super().__init__(
            create_app(ctx),
            base_url=f"http://127.0.0.1:{ctx.port}",
            headers={"X-Occreid-Token": ctx.secret},
        )
        self.page = page

    def write(self, path: str, **body: Any):
        """POST ``body`` (plus this page's id, and the tracklet's current version unless
        given)."""
        if "key" in body and "version" not in body:
            body["version"] = self.get("/api/tracklet", params={"key": body["key"]}).json()[
                "version"
            ]
        return self.post(path, json={**body, "page": self.page})

    def first_key(self) -> str:
        return str(self.get("/api/queue").json()["items"][0]["key"])


@pytest.fixture
def page(session: ReviewContext) -> Page:
    return Page(session)


@pytest.fixture
def open_page() -> type[Page]:
    """Page, for tests that open several (tabs, reviewers, restarts)."""
    return Page


@pytest.fixture
def server(session: ReviewContext) -> Iterator[str]:
    """The app under uvicorn on a free loopback port (``session.port`` set to it); its URL."""
    yield from _serve(session)


@pytest.fixture
def image_server(image_session: ReviewContext) -> Iterator[str]:
    """``server`` for the image folder's session."""
    yield from _serve(image_session)


def _serve(session: ReviewContext) -> Iterator[str]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        session.port = int(s.getsockname()[1])
    config = uvicorn.Config(
        create_app(session), host="127.0.0.1", port=session.port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{session.port}/"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def review_labels(review_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A label cache of the synth source (the default, oracle, backends)."""
    from occreid.pseudolabel.runner import RunOptions, run

    out = tmp_path_factory.mktemp("review-labels") / "labels"
    run(RunOptions(root=review_source, out=out))
    return out


@pytest.fixture
def image_tags(image_folder_factory: Any, tmp_path: Path) -> tuple[Path, Path]:
    """(a Market-1501-layout folder, a tag CSV of every image in it: clear, confidence 0.9)."""
    root = image_folder_factory()
    paths = sorted(str(p.relative_to(root)) for p in root.rglob("*.jpg"))
    csv = tmp_path / "image_tags.csv"
    pd.DataFrame({"path": paths, "occlusion": 0, "persons": 1, "confidence": 0.9}).to_csv(
        csv, index=False
    )
    return root, csv


@pytest.fixture
def image_session(image_tags: tuple[Path, Path]) -> ReviewContext:
    root, csv = image_tags
    return open_session(ReviewOptions(source=root, annotations=csv), "ann")[0]


@pytest.fixture(scope="session")
def squeezed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a synth source of 49 tracklets, an oracle label cache of it whose key-point scores are
    squeezed as benchmarks/review_loop.py squeezes them (squeezed_cache: under backend names
    that declare nothing, its default tags are bad, a calibration fitted on a quarter of the
    tracklets is good)."""
    from occreid.pseudolabel.runner import RunOptions, run

    with pytest.MonkeyPatch.context() as patch:  # the benchmarks import each other as scripts
        patch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
        squeezed_cache = importlib.import_module("review_loop").squeezed_cache
    work = tmp_path_factory.mktemp("squeezed")
    synthesize(work / "source", SynthConfig(ids=16, seed=1))
    run(RunOptions(root=work / "source", out=work / "oracle"))
    return work / "source", squeezed_cache(work / "oracle", work / "labels")
