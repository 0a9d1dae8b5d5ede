"""Manifest files: one parquet per split, one row per frame, metadata in the file (DESIGN.md).

Writes are byte-identical for the same rows and metadata: no index, no timestamps, fixed column
order and dtypes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from occreid.common.errors import OccreidError

COLUMNS: dict[str, str] = {
    "path": "string",
    "pid": "int32",
    "camid": "int16",
    "tracklet": "string",
    "frame": "int32",
    "occlusion": "int16",
    "persons": "int16",
    "occluded": "bool",
    "src_split": "string",
    "src_tracklet": "string",
    "findex": "int32",
    "video_frame": "int64",
    "distractor": "bool",
    "annotated": "bool",
}
OPTIONAL_COLUMNS: dict[str, str] = {  # written only where the annotation CSV had them
    "confidence": "float32",
    "reviewed": "bool",
    "auto_occlusion": "int16",
    "auto_persons": "int16",
    "occlusion_2": "int16",
    "persons_2": "int16",
    "check_occlusion": "int16",
    "check_persons": "int16",
    "check_confidence": "float32",
}
METADATA_KEY = b"occreid"
SCHEMA_VERSION = 1


def _versions() -> dict[str, str]:
    """Versions that decide the bytes and meaning of a manifest."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"pandas": pd.__version__, "pyarrow": pa.__version__}
    try:
        out["occreid"] = version("occreid")
    except PackageNotFoundError:
        out["occreid"] = "unknown"
    return out


def write_manifest(table: pd.DataFrame, path: Path, metadata: dict[str, Any]) -> None:
    """Write the manifest columns of ``table`` (and the optional ones it has) to ``path`` with
    ``metadata`` as JSON."""
    types = COLUMNS | {c: t for c, t in OPTIONAL_COLUMNS.items() if c in table.columns}
    frame = pd.DataFrame({c: table[c].astype(t) for c, t in types.items()})
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {"schema_version": SCHEMA_VERSION, "versions": _versions(), **metadata}
    arrow = arrow.replace_schema_metadata(
        {**arrow.schema.metadata, METADATA_KEY: json.dumps(meta, sort_keys=True).encode()}
    )
    pq.write_table(arrow, path, compression="zstd")


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read one split's manifest; the occreid metadata is in ``DataFrame.attrs['occreid']``."""
    path = Path(path)
    if not path.is_file():
        raise OccreidError(
            f"{path}: manifest not found; the dataset was not built by occreid build-dataset"
        )
    arrow = pq.read_table(path)
    meta = (arrow.schema.metadata or {}).get(METADATA_KEY)
    if meta is None:
        raise OccreidError(f"{path}: not an occreid manifest (no occreid metadata)")
    frame = arrow.to_pandas()
    frame.attrs["occreid"] = json.loads(meta)
    return frame
