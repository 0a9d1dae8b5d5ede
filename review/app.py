"""The review web app (FastAPI): a static page, a small JSON API over the store, and the frames.

It serves only image files under the source (a path that leaves it, through ``..`` or a
symbolic link, is a 404), writes only to its store, and, when a token is set (always, when bound
to an address other than loopback), answers only requests that carry it: the header
``X-Occreid-Token``, the query parameter ``token`` (the URL the command prints) or the cookie
set from it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from occreid.common.errors import OccreidError
from occreid.pseudolabel.cache import LabelCache
from occreid.review.queue import QueueFilter, header, order_queue
from occreid.review.store import ReviewStore

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
TOKEN_HEADER, TOKEN_COOKIE = "x-occreid-token", "occreid_token"
MAX_LABEL, MAX_PERSONS = 10, 9


@dataclass
class ReviewContext:
    """What the app serves: the frames' root, the store, who reviews, the optional label cache
    (key points and masks to overlay) and the token (None: loopback, no token asked)."""

    source: Path
    store: ReviewStore
    reviewer: str
    labels: LabelCache | None = None
    token: str | None = None


class FrameChange(BaseModel):
    key: str
    first: int = Field(ge=0)
    last: int = Field(ge=0)
    field: Literal["occlusion", "persons"]
    value: int = Field(ge=0, le=MAX_LABEL)


class TrackletChange(BaseModel):
    key: str
    field: Literal["accepted", "exclude"]
    value: int = Field(ge=0, le=1)


def safe_frame(source: Path, relative: str) -> Path | None:
    """The image file ``relative`` names under ``source``, or None when it leaves the source
    (``..``, an absolute path, a symbolic link pointing out), is not a file or not an image."""
    root = source.resolve()
    try:
        path = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path if path.suffix.lower() in IMAGE_SUFFIXES else None


def _page(name: str) -> str:
    return (files("occreid.review") / "static" / name).read_text()


def create_app(ctx: ReviewContext) -> FastAPI:
    """The app for one review session."""
    app = FastAPI(title="occreid review", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def require_token(request: Request, call_next: Any) -> Response:
        if ctx.token is None:
            return await call_next(request)  # type: ignore[no-any-return]
        given = (
            request.headers.get(TOKEN_HEADER)
            or request.query_params.get("token")
            or request.cookies.get(TOKEN_COOKIE)
            or ""
        )
        if not secrets.compare_digest(given.encode(), ctx.token.encode()):
            return JSONResponse({"detail": "a valid token is required"}, status_code=401)
        response: Response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, ctx.token, httponly=True, samesite="strict")
        return response

    @app.exception_handler(OccreidError)
    async def bad_request(request: Request, err: OccreidError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=400)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return _page("index.html")

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404)
        return Response(_page(name), media_type=STATIC[name])

    @app.get("/api/session")
    def session() -> dict[str, Any]:
        return {"reviewer": ctx.reviewer, "source": str(ctx.source), "overlay": bool(ctx.labels)}

    @app.get("/api/summary")
    def summary() -> dict[str, Any]:
        return header(ctx.store.tracklets(), ctx.store.frames(reviewed_only=True))

    @app.get("/api/queue")
    def queue(
        split: str | None = None,
        camid: int | None = None,
        pid: int | None = None,
        reviewed: bool | None = None,
        limit: int = 200,
    ) -> dict[str, Any]:
        where = QueueFilter(split=split or None, camid=camid, pid=pid, reviewed=reviewed)
        ordered = order_queue(ctx.store.tracklets(), where)
        items = ordered.head(limit).replace({np.nan: None}).to_dict(orient="records")
        return {"total": len(ordered), "items": items}

    @app.get("/api/tracklet")
    def tracklet(key: str) -> dict[str, Any]:
        try:
            return ctx.store.tracklet(key)
        except KeyError:
            raise HTTPException(404, f"no tracklet {key}") from None

    @app.post("/api/frames")
    def set_frames(change: FrameChange) -> dict[str, Any]:
        if change.field == "persons" and not 1 <= change.value <= MAX_PERSONS:
            raise HTTPException(422, f"persons must be 1-{MAX_PERSONS}")
        try:
            rows = ctx.store.set_frames(
                change.key, change.first, change.last, change.field, change.value, ctx.reviewer
            )
        except KeyError as err:
            raise HTTPException(404, str(err)) from None
        return {"frames": rows}

    @app.post("/api/tracklet")
    def set_tracklet(change: TrackletChange) -> dict[str, Any]:
        try:
            return ctx.store.set_tracklet(change.key, change.field, change.value, ctx.reviewer)
        except KeyError:
            raise HTTPException(404, f"no tracklet {change.key}") from None

    @app.post("/api/undo")
    def undo() -> dict[str, Any]:
        return ctx.store.undo(ctx.reviewer) or {"undone": None}

    @app.get("/api/overlay")
    def overlay(path: str) -> dict[str, Any]:
        if ctx.labels is None:
            raise HTTPException(404, "no --labels given")
        try:
            frame = ctx.labels.frame(path)
        except OccreidError:
            raise HTTPException(404, f"no labels for {path}") from None
        return {
            "size": list(frame["size"]),
            "keypoints": np.round(frame["keypoints"], 2).tolist(),
            "mask": frame["mask"].astype(int).tolist(),
        }

    @app.get("/frame/{relative:path}")
    def frame(relative: str) -> FileResponse:
        path = safe_frame(ctx.source, relative)
        if path is None:
            raise HTTPException(404)
        return FileResponse(path, headers={"Cache-Control": "max-age=3600"})

    return app
