"""Where and how a job runs: the device, its torchrun place, mixed precision and memory format,
built once per job (``Runtime.create``) and passed as one object.

The device rule of occreid, for training, evaluation and the pseudo-label models alike: ``auto``
is this process's GPU when CUDA is there, else the CPU; ``cuda`` (and ``auto``) under torchrun is
cuda:LOCAL_RANK; ``cpu`` and ``cuda:N`` are taken as they are. Mixed precision only runs on CUDA
(bf16 for RFCnet, fp16 for the mm models); on the CPU the autocast context is disabled. torch is
imported inside the functions, so the CLI reads the choices here without loading it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from occreid.common.distributed import Dist, init_distributed
from occreid.common.errors import OccreidError

if TYPE_CHECKING:
    import torch
    from torch import nn

DEFAULT_DEVICE = "auto"
DEVICE_HELP = "auto (a GPU if CUDA is found, else the CPU), cpu, cuda or cuda:N"
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device(name: str) -> None:
    """A device name outside DEVICE_HELP is a one-line error."""
    if not _DEVICE.match(name):
        raise OccreidError(f"device {name!r}; choose {DEVICE_HELP}")


def resolve_device(name: str, dist: Dist | None = None) -> torch.device:
    """The torch device a name means for this process (the rule of the module docstring)."""
    import torch

    check_device(name)
    dist = dist or Dist()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise OccreidError(f"device {name}, but no CUDA device is visible")
        if name == "cuda":
            return torch.device("cuda", dist.local_rank if dist.world > 1 else 0)
    return torch.device(name)


def autocast(
    device: torch.device, dtype: torch.dtype, enabled: bool = True, cpu: bool = False
) -> Any:
    """Mixed precision in ``dtype`` on CUDA when ``enabled`` (on the CPU too with ``cpu``); a
    disabled context elsewhere."""
    import torch

    on = enabled and (device.type == "cuda" or (cpu and device.type == "cpu"))
    return torch.autocast(device.type, dtype=dtype, enabled=on)


@dataclass(frozen=True)
class Runtime:
    """Device, torchrun place, bf16 autocast and channels_last of one job."""

    device: torch.device
    dist: Dist
    bf16: bool = False
    channels_last: bool = False
    cpu_bf16: bool = False

    @classmethod
    def create(
        cls,
        device: str = DEFAULT_DEVICE,
        *,
        bf16: bool = False,
        channels_last: bool = False,
        cpu_bf16: bool = False,
    ) -> Runtime:
        """Join the torchrun job (if any) and pick this process's device. ``cpu_bf16`` runs the
        bf16 autocast on the CPU too (slow without native bf16; the tests use it to run the
        GPU's mixed-precision path where no GPU is)."""
        import torch

        check_device(device)
        dist = init_distributed(use_cuda=device != "cpu" and torch.cuda.is_available())
        return cls(resolve_device(device, dist), dist, bf16, channels_last, cpu_bf16)

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def autocast(self) -> Any:
        """bf16 autocast on CUDA when asked (and on the CPU with ``cpu_bf16``); a disabled
        context elsewhere. bf16 keeps float32's exponent range, so no gradient scaler is used,
        on any device."""
        import torch

        return autocast(self.device, torch.bfloat16, self.bf16, cpu=self.cpu_bf16)

    def place(self, model: nn.Module) -> Any:
        """``model`` on the device, channels_last when asked: faster convolutions on GPU and on
        CPU (oneDNN) alike; training and evaluation place a model the same way."""
        import torch

        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        return model.to(self.device, memory_format=fmt)  # type: ignore[call-overload]
