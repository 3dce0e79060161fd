"""What the course server is using right now: CPU, memory and GPU memory (for the instructor)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil
import torch


@dataclass(frozen=True)
class GpuMemory:
    """One GPU's memory in GiB: what this process holds and what the device has free."""

    name: str
    allocated_gib: float
    free_gib: float
    total_gib: float


@dataclass(frozen=True)
class ServerStats:
    """The server process and its machine at one moment."""

    cpu_percent: float  # this process, 100 % = one core, since the previous reading
    machine_cpu_percent: float  # all cores, 100 % = every core busy
    cores: int
    rss_gib: float  # this process's resident memory
    memory_available_gib: float
    memory_total_gib: float
    gpus: tuple[GpuMemory, ...]


_PROCESS = psutil.Process(os.getpid())
_GIB = 2**30


def server_stats() -> ServerStats:
    """The current readings (CPU shares are measured since the previous call)."""
    memory = psutil.virtual_memory()
    return ServerStats(
        cpu_percent=_PROCESS.cpu_percent(interval=None),
        machine_cpu_percent=psutil.cpu_percent(interval=None),
        cores=psutil.cpu_count() or 1,
        rss_gib=_PROCESS.memory_info().rss / _GIB,
        memory_available_gib=memory.available / _GIB,
        memory_total_gib=memory.total / _GIB,
        gpus=gpu_memory(),
    )


def gpu_memory() -> tuple[GpuMemory, ...]:
    """Every visible GPU's memory (none on a CPU-only server)."""
    if not torch.cuda.is_available():
        return ()
    gpus = []
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        gpus.append(
            GpuMemory(
                name=torch.cuda.get_device_name(index),
                allocated_gib=torch.cuda.memory_allocated(index) / _GIB,
                free_gib=free / _GIB,
                total_gib=total / _GIB,
            )
        )
    return tuple(gpus)


__all__ = ["GpuMemory", "ServerStats", "gpu_memory", "server_stats"]
