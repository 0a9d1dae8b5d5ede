"""`occreid review`: check the inputs, open the store, then serve the app or export.

Everything is checked before the server starts (one-line errors): SOURCE is a DukeMTMC-VideoReID
tree or a dataset built from one, the CSV follows build-dataset's rules (known frames, labels in
range, no duplicates, every frame annotated unless ``missing_as_unoccluded``), and an existing
store belongs to this SOURCE.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from occreid.common.errors import OccreidError
from occreid.occdata.annotations import Missing
from occreid.review.app import ReviewContext
from occreid.review.options import ReviewOptions, is_loopback
from occreid.review.source import proposals, source_frames
from occreid.review.store import ReviewStore


def open_store(opts: ReviewOptions) -> tuple[Path, ReviewStore]:
    """(the frames' root, the store of the CSV), created from the CSV the first time."""
    root, frames = source_frames(opts.source)
    missing = Missing.UNOCCLUDED if opts.missing_as_unoccluded else Missing.ERROR
    table = proposals(frames, opts.annotations, missing)
    return root, ReviewStore.open(opts.annotations, root, table)


def open_session(opts: ReviewOptions, reviewer: str) -> ReviewContext:
    """The app's context: store, label cache, and the token (made up when binding to an
    address other than loopback and none is given)."""
    root, store = open_store(opts)
    labels = None
    if opts.labels is not None:
        from occreid.pseudolabel.cache import LabelCache

        labels = LabelCache(opts.labels)
    token = opts.token
    if token is None and not is_loopback(opts.host):
        token = secrets.token_urlsafe(24)
    if not reviewer.strip():
        raise OccreidError("a reviewer name is needed (--reviewer NAME)")
    return ReviewContext(source=root, store=store, reviewer=reviewer, labels=labels, token=token)


def url(opts: ReviewOptions, ctx: ReviewContext) -> str:
    host = f"[{opts.host}]" if ":" in opts.host else opts.host
    query = f"/?token={ctx.token}" if ctx.token else "/"
    return f"http://{host}:{opts.port}{query}"


def serve(opts: ReviewOptions, ctx: ReviewContext) -> None:
    """Run the app until interrupted (uvicorn)."""
    import uvicorn

    from occreid.review.app import create_app

    uvicorn.run(create_app(ctx), host=opts.host, port=opts.port, log_level="warning")
