"""Checkpoints: plain dicts of tensors and Python values (load with ``weights_only=True``),
written to a temporary file and renamed, so a kill never leaves half a checkpoint.

Keys: ``format``, ``kind`` ("occreid-rfcnet"), ``config`` (the resolved TrainConfig as a dict),
``num_classes``, ``model`` (state_dict), and for resuming ``optimizer``, ``scheduler``,
``epoch`` (epochs finished) and ``step`` (optimizer steps taken).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from occreid.common.atomic import atomic_path
from occreid.common.errors import OccreidError
from occreid.engine.config import TrainConfig, config_from_dict
from occreid.model.rfcnet import RFCNet

FORMAT = 1
KIND = "occreid-rfcnet"


def last_checkpoint(run: Path) -> Path:
    """RUN/checkpoints/last.pt: what --resume continues from."""
    return run / "checkpoints" / "last.pt"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus format and kind) atomically to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "kind": KIND, **state}, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint``; anything else is a clear error."""
    if not path.is_file():
        raise OccreidError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt file or another pickle: one line, not a traceback
        raise OccreidError(f"{path}: cannot read this checkpoint ({type(err).__name__})") from None
    if not isinstance(state, dict) or state.get("kind") != KIND:
        raise OccreidError(f"{path}: not an occreid checkpoint (written by occreid train)")
    if state.get("format") != FORMAT:
        raise OccreidError(f"{path}: checkpoint format {state.get('format')}, expected {FORMAT}")
    return state


def load_weights(model: nn.Module, state: dict[str, Any], path: Path) -> None:
    """Load a state_dict; different keys or shapes mean a checkpoint from another model."""
    own = model.state_dict()
    theirs = state["model"]
    missing = sorted(set(own) - set(theirs))
    extra = sorted(set(theirs) - set(own))
    shapes = [k for k in own.keys() & theirs.keys() if own[k].shape != theirs[k].shape]
    if missing or extra or shapes:
        what = (
            f"missing {missing[0]}"
            if missing
            else f"unexpected {extra[0]}"
            if extra
            else f"shape of {shapes[0]}"
        )
        raise OccreidError(
            f"{path}: checkpoint from another model ({what}); use the config it was trained with"
        )
    model.load_state_dict(theirs)


def model_from_checkpoint(path: Path) -> tuple[RFCNet, TrainConfig]:
    """The trained model (eval mode, CPU) and its config, from a checkpoint alone."""
    return model_from_state(load_checkpoint(path), path)


def model_from_state(state: dict[str, Any], path: Path) -> tuple[RFCNet, TrainConfig]:
    """The trained model (eval mode, CPU) and its config from a loaded checkpoint ``state``
    (``path`` names it in errors)."""
    cfg = config_from_dict(state["config"])
    model = RFCNet(cfg.model, state["num_classes"])
    load_weights(model, state, path)
    return model.eval(), cfg
