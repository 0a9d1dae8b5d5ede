"""The options of `occreid review` and where it listens (no web framework imported here, so that
the CLI's --help stays instant)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"  # loopback: only this machine can connect
DEFAULT_PORT = 8765
MIN_TOKEN = 16  # characters: a token shorter than this is refused


@dataclass(kw_only=True)
class ReviewOptions:
    """What `occreid review` takes (see its --help; the CLI's defaults are these)."""

    source: Path
    annotations: Path
    labels: Path | None = None
    store: Path | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    reviewer: str | None = None
    token: str | None = None
    missing_as_unoccluded: bool = False
    calibrate_every: int | None = None
    overlap: float = 0.0


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: only this machine can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """0.0.0.0 or ::: every address of this machine."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False
