"""The check every config section runs on its values (model, loss, data, optim, run): a failed
condition is the project's one-line error, naming the key and what it takes."""

from __future__ import annotations

from occreid.common.errors import OccreidError


def require(condition: bool, message: str) -> None:
    """A config check: ``message`` as a one-line error where ``condition`` fails."""
    if not condition:
        raise OccreidError(message)
