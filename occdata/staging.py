"""Write a whole output folder or nothing: build in ``<out>.incomplete/``, rename when done.

An error (or Ctrl-C) removes the staging folder, so a failed run leaves nothing half-written; an
existing output is only replaced with ``overwrite`` and only once the new one is complete.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from occreid.common.errors import OccreidError


def check_output(out: Path, overwrite: bool, source: Path | None = None) -> None:
    """Refuse an existing output (unless ``overwrite``) and an output inside ``source``."""
    if source is not None and out.resolve().is_relative_to(source.resolve()):
        raise OccreidError(
            f"{out}: output lies inside the source {source}; the source is never written to, "
            "choose a folder outside it"
        )
    if out.exists() and not overwrite:
        raise OccreidError(f"{out}: already exists; pass --overwrite to replace it")
    if out.exists() and not out.is_dir():
        raise OccreidError(f"{out}: exists and is not a folder; remove it or choose another")


@contextmanager
def staged_output(out: Path, overwrite: bool, source: Path | None = None) -> Iterator[Path]:
    """Yield a fresh staging folder that becomes ``out`` when the block ends without error."""
    out = Path(out)
    check_output(out, overwrite, source)
    stage = out.with_name(out.name + ".incomplete")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        stage.rename(out)
        shutil.rmtree(old)
    else:
        stage.rename(out)
