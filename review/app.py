"""The review web app (FastAPI): a static page, a small JSON API over the store, and the frames.

Who is let in (``Guard``, in front of everything):

- the Host header must name this server (127.0.0.1, localhost or [::1], or the ``--host``
  given, with its port), else 421 (400 when there is none): a page of another site that
  resolves its name to this machine (DNS rebinding) gets nothing;
- every state-changing request (anything but GET / HEAD) carries the per-server secret in the
  ``X-Occreid-Token`` header (the page has it from the HTML it was served) and, where the
  browser says where it comes from (Origin, Sec-Fetch-Site), comes from this page; else 403.
  A page of another origin cannot set that header without a CORS preflight, which is never
  granted;
- when bound beyond loopback, reads need the token too (header, the URL's ``token`` or the
  cookie set from it);
- bodies over ``MAX_BODY`` bytes get 413.

Frames are served by Starlette's ``StaticFiles`` (its traversal and symbolic-link checks) and
only image files; every bad path or value is a 4xx whose message never repeats the request.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from fastapi import BackgroundTasks, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from occreid.common.errors import OccreidError
from occreid.pseudolabel.cache import LabelCache
from occreid.review.aggregates import LiveTables, count_columns
from occreid.review.overlap import blind_for, blind_queue
from occreid.review.quality import INNER_EDGES, QualityCache
from occreid.review.queue import QueueFilter, header, order_queue
from occreid.review.retag import NO_LABELS, Retagger
from occreid.review.store import ReviewStore, Stale
from occreid.review.unit import TRACKLET, Unit

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
TOKEN_HEADER, TOKEN_COOKIE = "x-occreid-token", "occreid_token"
MAX_LABEL, MAX_PERSONS = 10, 9
MAX_BODY = 16 * 1024  # a decision is under 300 bytes
MAX_INT = 2**31 - 1  # frame positions, identities, cameras, versions
PAGE_ID = r"^[A-Za-z0-9_-]{8,64}$"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
NO_EXCLUSIONS = (
    "an image folder has no exclusion list: train reads the folder as it is (build-dataset's "
    "--exclude is for a DukeMTMC-VideoReID source)"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@dataclass
class ReviewContext:
    """What the app serves: the frames' root, the store, who reviews, what one item is (a
    tracklet, or an image of an image folder), the optional label cache (key points and masks to
    overlay) and what re-tags from it, the share reviewed twice, the per-server secret, the names
    and port it answers to, and whether reads need the secret too (bound beyond loopback)."""

    source: Path
    store: ReviewStore
    reviewer: str
    unit: Unit = TRACKLET
    labels: LabelCache | None = None
    retag: Retagger | None = None
    overlap: float = 0.0  # share of tracklets offered to a second reviewer blind (overlap.py)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = 8765
    names: frozenset[str] = LOOPBACK_NAMES
    any_ip: bool = False
    token_for_reads: bool = False


class Write(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page: str = Field(pattern=PAGE_ID)


class FrameChange(Write):
    key: str = Field(max_length=200)
    first: int = Field(ge=0, le=MAX_INT)
    last: int = Field(ge=0, le=MAX_INT)
    field: Literal["occlusion", "persons"]
    value: int = Field(ge=0, le=MAX_LABEL)
    version: int = Field(ge=0, le=MAX_INT)


class TrackletChange(Write):
    key: str = Field(max_length=200)
    field: Literal["accepted", "exclude"]
    value: int = Field(ge=0, le=1)
    version: int = Field(ge=0, le=MAX_INT)


class FrameFiles(StaticFiles):
    """The source's image files (StaticFiles: no ``..``, no symbolic link out); nothing else."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if Path(path).suffix.lower() not in IMAGE_SUFFIXES:
            raise HTTPException(404)
        return await super().get_response(path, scope)


def _host_name(value: str) -> tuple[str, int | None] | None:
    """(name, port) of a Host header, None when it does not parse."""
    match = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?", value)
    if match is None:
        return None
    return match[1].lower(), int(match[2]) if match[2] else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


class Guard:
    """Host, Origin, secret and body-size checks in front of the app (pure ASGI)."""

    def __init__(self, app: Any, ctx: ReviewContext) -> None:
        self.app, self.ctx = app, ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refuse(scope, headers)
        if refusal is not None:
            await JSONResponse({"detail": refusal[1]}, refusal[0])(scope, receive, send)
            return
        announced = headers.get("content-length", "0")
        too_big = not announced.isdigit() or int(announced) > MAX_BODY
        body = b""
        if not too_big:
            body, too_big = await _read_body(receive)
        if too_big:
            detail = f"request body over {MAX_BODY} bytes"
            await JSONResponse({"detail": detail}, 413)(scope, receive, send)
            return
        sent = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()),
                ]
            await send(message)

        await self.app(scope, replay, with_headers)

    def refuse(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        """(status, reason) when the request is refused, else None."""
        ctx = self.ctx
        host = _host_name(headers.get("host", ""))
        if host is None:
            return 400, "a Host header naming this server is required"
        name, port = host
        if port != ctx.port or not (name in ctx.names or (ctx.any_ip and _is_ip(name))):
            return 421, f"this server answers only to {sorted(ctx.names)[0]}:{ctx.port}"
        given = headers.get(TOKEN_HEADER, "")
        if scope["method"] not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin is not None and origin != f"http://{headers['host']}":
                return 403, "requests from another origin are refused"
            if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
                return 403, "requests from another site are refused"
            if not secrets.compare_digest(given.encode(), ctx.secret.encode()):
                return 403, "this request needs the page's token (reload the page)"
        elif ctx.token_for_reads:
            cookies = Request(scope).cookies
            query = Request(scope).query_params
            given = given or query.get("token", "") or cookies.get(TOKEN_COOKIE, "")
            if not secrets.compare_digest(given.encode(), ctx.secret.encode()):
                return 401, "a valid token is required (the URL the server printed)"
        return None


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole request body, or (b"", True) once it passes MAX_BODY."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _page(ctx: ReviewContext) -> str:
    html = (files("occreid.review") / "static" / "index.html").read_text()
    return html.replace("__OCCREID_TOKEN__", ctx.secret)


def _is_blind(ctx: ReviewContext, key: str) -> bool:
    """Whether this session's reviewer reviews tracklet ``key`` blind (overlap.py)."""
    if ctx.overlap <= 0:
        return False
    accepted, reviewer = ctx.store.acceptance(key)
    one = pd.DataFrame({"key": [key], "accepted": [accepted], "reviewer": [reviewer]})
    return bool(blind_for(one, ctx.reviewer, ctx.overlap)[0])


def _view(ctx: ReviewContext, key: str) -> dict[str, Any]:
    """Tracklet ``key`` as this session's reviewer sees it (blind or not)."""
    if _is_blind(ctx, key):
        return ctx.store.blind_tracklet(key, ctx.reviewer)
    return {**ctx.store.tracklet(key), "blind": False}


def _stale(ctx: ReviewContext, err: Stale) -> JSONResponse:
    detail = (
        f"this {ctx.unit.one} was changed in another tab or by another reviewer since this page "
        "loaded it: nothing was written, it is reloaded"
    )
    return JSONResponse({"detail": detail, "stale": True, "tracklet": _view(ctx, err.key)}, 409)


def create_app(ctx: ReviewContext) -> FastAPI:
    """The app for one review session."""
    app = FastAPI(title="occreid review", docs_url=None, redoc_url=None, openapi_url=None)
    live, quality = LiveTables(ctx.store, INNER_EDGES), QualityCache()

    @app.exception_handler(OccreidError)
    async def bad_request(request: Request, err: OccreidError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        where = sorted({".".join(str(p) for p in e["loc"][1:2]) for e in err.errors()})
        return JSONResponse({"detail": f"bad value(s): {', '.join(where)}"}, status_code=422)

    @app.exception_handler(Stale)
    async def stale(request: Request, err: Stale) -> JSONResponse:
        return _stale(ctx, err)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        response = HTMLResponse(_page(ctx), headers={"Cache-Control": "no-store"})
        if ctx.token_for_reads and request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, ctx.secret, httponly=True, samesite="strict")
        return response

    @app.get("/api/session")
    def session() -> dict[str, Any]:
        return {
            "reviewer": ctx.reviewer,
            "source": str(ctx.source),
            "overlay": bool(ctx.labels),
            "retag": None if ctx.retag else NO_LABELS,  # None: available, else why not
            "overlap": ctx.overlap,
            "unit": ctx.unit.one,  # what one item is: tracklet, or image (an image folder)
            "units": ctx.unit.many,
            "exclusions": ctx.unit.exclusions,  # train items can be excluded (not images)
        }

    @app.get("/api/summary")
    def summary() -> dict[str, Any]:
        tables = live.current()
        numbers = header(tables.tracklets, tables.reviewed)
        last = ctx.retag.last if ctx.retag else None
        return {**numbers, **quality.numbers(tables), "retag": last}

    @app.get("/api/queue")
    def queue(
        split: Literal["", "train", "query", "gallery"] = "",
        camid: int | None = Query(None, ge=1, le=MAX_INT),  # as the file names number it: c1, C1
        pid: int | None = Query(None, ge=-1, le=MAX_INT),
        reviewed: bool | None = None,
        limit: int = Query(200, ge=1, le=10_000),
    ) -> dict[str, Any]:
        where = QueueFilter(split=split or None, camid=camid, pid=pid, reviewed=reviewed)
        tracklets = live.current().tracklets
        if ctx.overlap > 0:
            done = ctx.store.blind_accepted(ctx.reviewer)
            tracklets = blind_queue(tracklets, ctx.reviewer, ctx.overlap, done)
        ordered = order_queue(tracklets, where)
        shown = ordered.head(limit).drop(columns=count_columns(ordered))
        records = shown.replace({np.nan: None}).to_dict(orient="records")
        return {"total": len(ordered), "items": records}

    @app.get("/api/tracklet")
    def tracklet(key: str = Query(max_length=200)) -> dict[str, Any]:
        try:
            return _view(ctx, key)
        except KeyError:
            raise HTTPException(404, f"no such {ctx.unit.one}") from None

    @app.get("/api/version")
    def version(key: str = Query(max_length=200)) -> dict[str, int]:
        try:
            return {"version": ctx.store.version(key)}
        except KeyError:
            raise HTTPException(404, f"no such {ctx.unit.one}") from None

    @app.post("/api/frames")
    def set_frames(change: FrameChange) -> dict[str, Any]:
        if change.field == "persons" and not 1 <= change.value <= MAX_PERSONS:
            raise HTTPException(422, f"persons must be 1-{MAX_PERSONS}")
        try:
            return ctx.store.set_frames(
                change.key,
                (change.first, change.last),
                change.field,
                change.value,
                (ctx.reviewer, change.page),
                change.version,
                blind=_is_blind(ctx, change.key),
            )
        except KeyError:
            raise HTTPException(404, f"no such {ctx.unit.one} or frames") from None

    @app.post("/api/tracklet")
    def set_tracklet(change: TrackletChange, later: BackgroundTasks) -> dict[str, Any]:
        who = (ctx.reviewer, change.page)
        if change.field == "exclude" and not ctx.unit.exclusions:
            raise HTTPException(400, NO_EXCLUSIONS)
        try:
            if _is_blind(ctx, change.key):
                if change.field != "accepted":
                    raise HTTPException(400, "a blind second review labels frames only")
                return ctx.store.set_blind_tracklet(change.key, change.value, who, change.version)
            done = ctx.store.set_tracklet(
                change.key, change.field, change.value, who, change.version
            )
        except KeyError:
            raise HTTPException(404, f"no such {ctx.unit.one}") from None
        if ctx.retag is not None and ctx.retag.every and change.field == "accepted":
            accepted = ctx.store.accepted()
            if ctx.retag.due(accepted):  # after the answer: accepting stays fast
                later.add_task(ctx.retag.run, ctx.store, accepted)
        return done

    @app.post("/api/retag")
    def retag(change: Write) -> dict[str, Any]:
        if ctx.retag is None:
            raise HTTPException(400, NO_LABELS)
        return ctx.retag.run(ctx.store, ctx.store.accepted())

    @app.post("/api/undo")
    def undo(change: Write) -> dict[str, Any]:
        return ctx.store.undo((ctx.reviewer, change.page)) or {"undone": None}

    @app.get("/api/overlay")
    def overlay(path: str = Query(max_length=500)) -> dict[str, Any]:
        if ctx.labels is None:
            raise HTTPException(404, "no --labels given")
        try:
            frame = ctx.labels.frame(path)
        except (OccreidError, KeyError, ValueError, IndexError):
            raise HTTPException(404, "no labels for this frame") from None
        return {
            "size": list(frame["size"]),
            "keypoints": np.round(frame["keypoints"], 2).tolist(),
            "mask": frame["mask"].astype(int).tolist(),
        }

    app.mount("/static", StaticFiles(packages=[("occreid.review", "static")]), name="static")
    app.mount("/frame", FrameFiles(directory=ctx.source), name="frame")
    app.add_middleware(Guard, ctx=ctx)
    return app
