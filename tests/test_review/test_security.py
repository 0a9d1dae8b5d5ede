"""Who the review app lets in: the token header on every write (also on loopback), no other
Origin or site, the Host header naming this server (DNS rebinding), bounded bodies, and every
bad path or value a 4xx that does not repeat the request. The last test tries a real server on
loopback as an attacker would (bounded loops)."""

from __future__ import annotations

import http.client
import json
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from occreid.cli.main import main
from occreid.review.app import MAX_BODY, ReviewContext, create_app
from occreid.review.options import ReviewOptions
from occreid.review.session import open_session

MARK = "zq7Marker"  # a string an answer must never repeat


def _bare(ctx: ReviewContext, host: str | None = None) -> TestClient:
    """A client without the page's token (another page, a form, a script)."""
    return TestClient(create_app(ctx), base_url=f"http://{host or '127.0.0.1'}:{ctx.port}")


def test_writes_need_the_token_header_even_on_loopback(session: ReviewContext, page: Any) -> None:
    key = page.first_key()
    before = session.store.history()
    bare = _bare(session)
    assert bare.get("/api/queue").is_success  # reading on loopback needs no token
    assert bare.post("/api/undo", json={"page": "page-one"}).status_code == 403
    assert bare.post("/api/undo").status_code == 403  # the body-less undo of issue 17
    form = {"key": key, "first": "0", "last": "0", "field": "occlusion", "value": "3"}
    assert bare.post("/api/frames", data=form).status_code == 403  # a cross-site form
    wrong = {"X-Occreid-Token": session.secret[:-1] + "x"}
    assert bare.post("/api/undo", json={"page": "page-one"}, headers=wrong).status_code == 403
    assert len(session.store.history()) == len(before)
    assert page.write("/api/undo").is_success


def test_other_origins_and_sites_are_refused(session: ReviewContext, page: Any) -> None:
    key = page.first_key()
    body = {"key": key, "first": 0, "last": 0, "field": "occlusion", "value": 3, "version": 0}
    body["page"] = "page-one"
    for headers in (
        {"Origin": "http://localhost:9999"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        assert page.post("/api/frames", json=body, headers=headers).status_code == 403, headers
    assert session.store.history().empty
    same = {"Origin": f"http://127.0.0.1:{session.port}", "Sec-Fetch-Site": "same-origin"}
    assert page.post("/api/frames", json=body, headers=same).is_success


def test_the_host_header_must_name_this_server(
    session: ReviewContext, review_source: Path, tags: Path
) -> None:
    for host in ("127.0.0.1", "localhost", "[::1]"):
        assert _bare(session, host).get("/api/session").is_success, host
    assert _bare(session, "evil.example").get("/api/session").status_code == 421
    assert _bare(session, "evil.example").get("/").status_code == 421  # DNS rebinding
    other_port = TestClient(create_app(session), base_url="http://127.0.0.1:9")
    assert other_port.get("/api/session").status_code == 421
    assert _bare(session).get("/api/session", headers={"Host": ""}).status_code == 400
    assert _bare(session).get("/api/session", headers={"Host": "a b"}).status_code == 400
    given = ReviewOptions(source=review_source, annotations=tags, host="10.1.2.3")
    lan, _ = open_session(given, "ann")
    assert _bare(lan, "10.1.2.3").get("/", params={"token": lan.secret}).is_success
    assert _bare(lan, "evil.example").get("/", params={"token": lan.secret}).status_code == 421


def test_beyond_loopback_reads_need_the_token_too(review_source: Path, tags: Path) -> None:
    opts = ReviewOptions(source=review_source, annotations=tags, host="0.0.0.0")
    ctx, _ = open_session(opts, "ann")
    client = _bare(ctx)
    assert client.get("/api/queue").status_code == 401
    assert client.get("/frame/x.jpg").status_code == 401
    assert client.get("/api/queue", headers={"X-Occreid-Token": "wrong"}).status_code == 401
    page = client.get("/", params={"token": ctx.secret})
    assert page.is_success and ctx.secret in page.text  # the page's own copy of the token
    assert client.get("/api/queue").is_success  # the cookie set from the URL's token
    assert len(ctx.secret) >= 24


def test_the_page_carries_this_servers_secret(session: ReviewContext) -> None:
    html = _bare(session).get("/")
    assert session.secret in html.text and "__OCCREID_TOKEN__" not in html.text
    assert "frame-ancestors 'none'" in html.headers["content-security-policy"]


def test_bodies_over_the_limit_get_413(session: ReviewContext, page: Any) -> None:
    big = b'{"page": "page-one", "pad": "' + b"x" * (MAX_BODY + 10) + b'"}'
    assert page.post("/api/undo", content=big).status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"x" * 4096

    assert page.post("/api/undo", content=chunks()).status_code == 413


def test_bad_paths_and_values_are_4xx_and_never_echoed(session: ReviewContext, page: Any) -> None:
    key = page.first_key()
    good = {"key": key, "first": 0, "last": 0, "field": "occlusion", "value": 3, "version": 0}
    bodies: list[Any] = [
        {**good, "first": 2**63},
        {**good, "last": 2**70},
        {**good, "version": -1},
        {**good, "key": MARK},
        {**good, "key": MARK * 100},
        {**good, "field": MARK},
        {**good, "value": MARK},
        {**good, "extra": MARK},
        {**good, "key": "x\x00" + MARK},
        [MARK],
        MARK,
        None,
    ]
    for body in bodies:
        r = page.post(
            "/api/frames",
            json=body
            if body is None
            else {**body, "page": "page-one"}
            if isinstance(body, dict)
            else body,
        )
        assert 400 <= r.status_code < 500 and MARK not in r.text, (body, r.text)
    raw = page.post("/api/frames", content=b'{"key": "' + MARK.encode() + b'", broken')
    assert raw.status_code == 422 and MARK not in raw.text
    gets = [
        f"/api/tracklet?key={MARK}",
        f"/api/version?key={MARK}",
        f"/api/tracklet?key=%00{MARK}",
        f"/api/queue?pid={2**70}",
        f"/api/queue?camid={MARK}",
        f"/api/queue?limit={2**63}",
        f"/api/queue?split={MARK}",
        f"/api/overlay?path={MARK}",
        f"/frame/train/{MARK}%00.jpg",
        f"/frame/{MARK}.txt",
        f"/static/{MARK}.js",
        f"/{MARK}",
    ]
    for url in gets:
        r = page.get(url)
        assert 400 <= r.status_code < 500 and MARK not in r.text, (url, r.text)
    assert session.store.history().empty


@pytest.mark.parametrize("token", ["", "short", "x" * 15])
def test_empty_or_short_tokens_are_refused_with_one_line(
    review_source: Path, tags: Path, token: str
) -> None:
    args = ["review", str(review_source), "--annotations", str(tags), "--reviewer", "ann"]
    r = CliRunner().invoke(main, [*args, "--host", "0.0.0.0", "--token", token])
    assert r.exit_code != 0 and r.output.startswith("Error: --token must be at least 16")
    assert r.output.strip().count("\n") == 0


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_a_live_server_resists_an_attacker_on_loopback(session: ReviewContext, server: str) -> None:
    live = session
    port, rng = live.port, random.Random(17)
    key = live.store.tracklets()["key"].iloc[0]
    host = f"127.0.0.1:{port}".encode()
    # A body announced as 300 MB is refused before it is read.
    head = (
        b"POST /api/undo HTTP/1.1\r\nHost: "
        + host
        + b"\r\nConnection: close\r\nContent-Length: 300000000\r\n"
    )
    answer = _raw(
        port, head + b"X-Occreid-Token: " + live.secret.encode() + b"\r\n\r\n" + b"x" * 999
    )
    assert answer.startswith(b"HTTP/1.1 413")
    # DNS rebinding: a page of evil.example resolving to 127.0.0.1.
    rebinding = b"GET /api/queue HTTP/1.1\r\nHost: evil.example:" + str(port).encode()
    assert _raw(port, rebinding + b"\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 421")
    # Bounded fuzzing of paths and bodies: 4xx, never 500, never the request echoed.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    alphabet = "/.%0a?&=#\\~" + MARK
    for _ in range(150):
        path = "/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        path = path.replace(" ", "")
        conn.request("GET", "/frame" + path)
        r = conn.getresponse()
        text = r.read().decode("latin-1")
        assert r.status in (400, 404, 421) and MARK not in text, (path, r.status)
    headers = {"X-Occreid-Token": live.secret, "Content-Type": "application/json"}
    for _ in range(150):
        body: dict[str, Any] = {"key": key, "first": 0, "last": 0, "field": "occlusion"}
        body |= {"value": 1, "version": 0, "page": "attacker-1"}
        field = rng.choice(sorted(body))
        body[field] = rng.choice([MARK, -(2**64), 2**64, None, [], {}, 1e308, "\x00", True])
        conn.request("POST", "/api/frames", json.dumps(body), headers)
        r = conn.getresponse()
        text = r.read().decode()
        assert r.status < 500 and MARK not in text, (body, r.status, text)
    conn.close()
