"""How many CPU cores this process may use: the cap on DataLoader workers and on the threads of
the CPU rank kernel, so a 2-core machine is never over-subscribed."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS has one, as PyTorch counts)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
