"""A training run's config: dataclasses -> YAML -> ``--set a.b=c``, merged with OmegaConf.

Sections: ``model`` (ModelConfig: every ablation of Tables 8-9), ``loss`` (LossConfig, eq. 13),
``data``, ``optim``, ``run``. A YAML file may name a ``base:`` file (relative to itself) whose
values it overrides: the ablation configs are a few lines over the paper's settings. An unknown
key or a value of the wrong type is a one-line error naming the key.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from occreid.common.config import require
from occreid.common.errors import OccreidError
from occreid.common.runtime import DEFAULT_DEVICE, check_device
from occreid.engine.augment import ERASE_FILLS
from occreid.model.config import ModelConfig
from occreid.model.losses import LossConfig

MODES = ("video", "image")
DEFAULT_CONFIG = {"video": "rfcnet_video", "image": "rfcnet_image"}  # by the dataset's data.mode


@dataclass
class DataConfig:
    """Sampling and augmentation (paper 6.1; authors-code-facts for what the paper omits).

    mode: ``video`` (clips of ``clip_len`` frames, ``stride`` apart) or ``image`` (one frame per
      sample; TRFC is off). chunk: long training tracklets are cut into chunks of this many
      frames, each a sampling unit (0: whole tracklets). ids_per_batch x instances: the P x K
      batch (global, split over ranks). flip / erase: probabilities of a horizontal flip and a
      random-erasing box, applied to frames, key-point targets and masks together.
    erase_fill / erase_clears_mask: the erased box holds the authors' constant (``mean``) or
      random values (``random``); with erase_clears_mask it is background in the mask target
      (defaults: the authors'; the other is ours, README "Where we depart ...").
    test_clip_len: test tracklets are cut into clips of this many frames, features averaged.
    test_flip: add the feature of the mirrored clip at test time (authors' image protocol).
    workers: DataLoader processes decoding frames, capped at the CPU cores available.
    iters_per_epoch: cap on iterations per epoch (0: the whole sampler), for smoke runs.
    """

    mode: str = "video"  # one of MODES
    clip_len: int = 4
    stride: int = 8
    chunk: int = 32
    ids_per_batch: int = 8
    instances: int = 4
    flip: float = 0.5
    erase: float = 0.5
    erase_fill: str = "mean"  # one of ERASE_FILLS
    erase_clears_mask: bool = False
    test_clip_len: int = 64
    test_batch: int = 4
    test_flip: bool = False
    workers: int = 4
    iters_per_epoch: int = 0


@dataclass
class OptimConfig:
    """Adam with step decay (paper 6.1: video 3e-4, x0.1 every 40 of 150 epochs).

    locator_lr: the learning rate of the APU key-point locator (a head built from scratch and
    trained by Lk alone) as a multiple of ``lr``. 1 is the paper's and the authors' (one rate);
    the demo's budget sets 10 (README, "Where we depart from the paper or the authors' code").
    """

    lr: float = 3e-4
    weight_decay: float = 5e-4
    locator_lr: float = 1.0
    epochs: int = 150
    step: int = 40
    gamma: float = 0.1


@dataclass
class RunConfig:
    """Where and how: device (auto = cuda if found), bf16 autocast on GPU, channels_last,
    torch.compile, seed, checkpoint / evaluation / log intervals (epochs, epochs, iterations)."""

    seed: int = 0
    device: str = DEFAULT_DEVICE
    bf16: bool = True
    channels_last: bool = True
    compile: bool = False
    checkpoint_every: int = 10
    eval_every: int = 0
    log_every: int = 10


@dataclass
class TrainConfig:
    """Everything `occreid train` reads; saved resolved beside the run (config.yaml)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (what checkpoints and config.yaml hold)."""
        return OmegaConf.to_container(OmegaConf.structured(self))  # type: ignore[return-value]


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> list[dict[str, Any]]:
    """The YAML layers of ``path``: its ``base:`` chain first, then the file itself."""
    path = path.resolve()
    if path in seen:
        raise OccreidError(f"{path}: `base:` loops back to itself")
    if not path.is_file():
        raise OccreidError(f"{path}: config file not found")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise OccreidError(f"{path}: not valid YAML ({err})".replace("\n", " ")) from None
    if not isinstance(values, dict):
        raise OccreidError(f"{path}: a config is a mapping of sections (model:, loss:, ...)")
    base = values.pop("base", None)
    layers = _read_yaml(path.parent / base, (*seen, path)) if base else []
    return [*layers, values]


KIND_NAMES = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}


def _flow(value: Any) -> str:
    """A value as it is typed after ``--set key=``: lists as [a,b] without spaces."""
    if isinstance(value, list | tuple):
        return "[" + ",".join(_flow(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def expected_form(key: str, given: str | None = None) -> str:
    """How ``key``'s value is written, from its default: 'a list, e.g. [256,128]' (for '128x64'
    the list it meant: [128,64]); empty for a key that does not exist."""
    default = OmegaConf.select(OmegaConf.structured(TrainConfig), key, default=None)
    if default is None:
        return ""
    if OmegaConf.is_list(default):
        numbers = re.findall(r"\d+", given or "")
        example = f"[{','.join(numbers)}]" if len(numbers) >= 2 else _flow(list(default))
        return f"; write a list, e.g. {key}={example}"
    kind = KIND_NAMES.get(type(default).__name__, f"a {type(default).__name__}")
    return f"; write {kind}, e.g. {key}={_flow(default)}"


def _merge(layers: list[Any], where: str) -> DictConfig:
    merged = OmegaConf.structured(TrainConfig)
    for layer in layers:
        try:
            merged = OmegaConf.merge(merged, layer)
        except OmegaConfBaseException as err:
            key = getattr(err, "full_key", None) or "?"
            reason = str(err).splitlines()[0].rstrip(".")
            given = where.partition("=")[2] if where.startswith("--set ") else None
            form = expected_form(key, given)
            if form:  # OmegaConf's reason names its own node types: the form says it plainly
                reason = "not a value it takes"
            raise OccreidError(f"{where}: config key {key!r}: {reason}{form}") from None
    return merged  # type: ignore[return-value]


def _packaged() -> Path:
    return Path(str(files("occreid.configs")))


def packaged_configs() -> dict[str, str]:
    """Every packaged config by name (``rfcnet_video``, ``ablations/video/trfc``) with what it
    is: the first line of its leading comment (`occreid configs` lists them)."""
    root = _packaged()
    return {
        path.relative_to(root).with_suffix("").as_posix(): _first_sentence(path.read_text())
        for path in sorted(root.rglob("*.yaml"))
    }


def _first_sentence(text: str) -> str:
    """The first sentence of a YAML file's leading comment (it may run over several lines)."""
    comment = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("# ").strip())
    joined = " ".join(comment)
    end = re.search(r"\.(\s|$)", joined)
    return joined[: end.start() + 1] if end else joined


def find_config(name: str | Path) -> Path:
    """A config file by path, or by its name among the packaged ones (``rfcnet_video.yaml``,
    ``ablations/video/trfc``); a misspelt name gets the closest packaged names."""
    path = Path(name)
    if path.is_file():
        return path
    packaged = _packaged()
    for candidate in (packaged / path, packaged / f"{path}.yaml"):
        if candidate.is_file():
            return candidate
    names = list(packaged_configs())
    wanted = path.with_suffix("").as_posix() if path.suffix == ".yaml" else str(name)
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
    close += [n for n in names if n.rsplit("/", 1)[-1] == path.stem and n not in close]
    guess = f"did you mean {', '.join(close)}? " if close else ""
    raise OccreidError(
        f"{name}: no such config file or packaged config; {guess}`occreid configs` lists them all"
    )


def load_config(
    path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> TrainConfig:
    """The defaults, then the YAML file (and its bases), then ``key=value`` overrides."""
    layers: list[Any] = _read_yaml(find_config(path)) if path else []
    merged = _merge(layers, str(path) if path else "config")
    for item in overrides:
        if "=" not in item:
            raise OccreidError(f"--set {item!r}: expected key=value, e.g. optim.lr=0.001")
        merged = _merge([merged, OmegaConf.from_dotlist([item])], f"--set {item}")
    cfg: TrainConfig = OmegaConf.to_object(merged)  # type: ignore[assignment]
    _validate(cfg)
    return cfg


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """A TrainConfig from a plain dict (a checkpoint's), with the same checks."""
    cfg: TrainConfig = OmegaConf.to_object(_merge([values], "checkpoint"))  # type: ignore[assignment]
    _validate(cfg)
    return cfg


def _validate(cfg: TrainConfig) -> None:
    """The checks OmegaConf's types cannot make, one per section, every field: choices, ranges
    and the rules between sections (one-line errors)."""
    cfg.model.validate()
    cfg.loss.validate()
    data, optim, run = cfg.data, cfg.optim, cfg.run
    require(data.mode in MODES, f"data.mode = {data.mode!r}; choose one of {MODES}")
    require(
        data.mode == "video" or not cfg.model.temporal,
        "data.mode = image needs model.temporal = false (TRFC is video only)",
    )
    require(
        data.mode == "video" or data.clip_len == data.test_clip_len == 1,
        "data.mode = image takes one frame per sample: data.clip_len = data.test_clip_len = 1",
    )
    for key in ("clip_len", "stride", "ids_per_batch", "instances", "test_clip_len", "test_batch"):
        require(getattr(data, key) >= 1, f"data.{key} must be at least 1")
    for key in ("chunk", "workers", "iters_per_epoch"):
        require(getattr(data, key) >= 0, f"data.{key} must be at least 0")
    for key in ("flip", "erase"):
        require(0 <= getattr(data, key) <= 1, f"data.{key} is a probability (0 to 1)")
    require(
        data.erase_fill in ERASE_FILLS,
        f"data.erase_fill = {data.erase_fill!r}; choose one of {ERASE_FILLS}",
    )
    require(optim.lr > 0 and optim.gamma > 0, "optim.lr and optim.gamma must be positive")
    require(optim.weight_decay >= 0, "optim.weight_decay must be at least 0")
    require(optim.locator_lr > 0, "optim.locator_lr (a multiple of optim.lr) must be positive")
    require(optim.epochs >= 1 and optim.step >= 1, "optim.epochs and optim.step must be >= 1")
    check_device(run.device)
    require(run.checkpoint_every >= 1, "run.checkpoint_every must be at least 1")
    require(run.log_every >= 1, "run.log_every must be at least 1")
    require(run.eval_every >= 0, "run.eval_every must be at least 0 (0: never)")
