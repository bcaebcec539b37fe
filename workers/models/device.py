"""The one place that decides device, dtype and CPU thread count for model work.

Defaults: CUDA when present, in bfloat16 where the GPU supports it (float16 otherwise); else CPU in float32, because
CPU half-precision matmuls are slow and the app reports log-probabilities that should match the reference weights.
Overrides: ``TOKENSCOPE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``), ``TOKENSCOPE_DTYPE`` (``float32``,
``bfloat16``, ``float16``) and ``TOKENSCOPE_TORCH_THREADS``. torch is imported inside the functions so that importing
this module stays free for the web process.

Threads: a worker process lets torch use its share of the cores, ``available_cores() // processes`` (at least one),
where ``processes`` is the Celery worker's concurrency (``TOKENSCOPE_WORKER_PROCESSES``, recorded by
``workers.tasks`` when the worker starts). torch's own default, every core in every process, made two jobs on two
processes fight over the same cores (three times slower each).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DTYPE_NAMES = ("float32", "bfloat16", "float16")
_threads_lock = threading.Lock()
_threads_configured: int | None = None


@dataclass(frozen=True)
class Placement:
    """Where and in which precision a model runs."""

    device: str
    dtype: str

    def torch_dtype(self) -> torch.dtype:
        import torch

        dtype: torch.dtype = getattr(torch, self.dtype)
        return dtype


def pick_device() -> str:
    """``TOKENSCOPE_DEVICE`` if set, else ``cuda`` when available, else ``cpu``."""
    import torch

    wanted = os.environ.get("TOKENSCOPE_DEVICE", "").strip().lower()
    if wanted:
        if wanted.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"TOKENSCOPE_DEVICE={wanted} but torch sees no CUDA device")
        return wanted
    return "cuda" if torch.cuda.is_available() else "cpu"


# Families whose activations overflow float16 (Gemma was trained in bfloat16); they fall back to float32 there.
_NOT_FP16_SAFE = ("gemma",)


def pick_dtype(device: str, family: str | None = None) -> str:
    """``TOKENSCOPE_DTYPE`` if set, else bf16 (fp16 on older GPUs, unless the family overflows it) on CUDA and
    fp32 elsewhere."""
    wanted = os.environ.get("TOKENSCOPE_DTYPE", "").strip().lower()
    if wanted:
        if wanted not in DTYPE_NAMES:
            raise ValueError(f"TOKENSCOPE_DTYPE must be one of {', '.join(DTYPE_NAMES)}, not {wanted!r}")
        return wanted
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_bf16_supported():
            return "bfloat16"
        return "float32" if family and family.startswith(_NOT_FP16_SAFE) else "float16"
    return "float32"


WORKER_PROCESSES_ENV = "TOKENSCOPE_WORKER_PROCESSES"


def available_cores() -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (``docker --cpus``)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return cores
    if quota == "max":
        return cores
    return max(1, min(cores, int(quota) // int(period)))


def torch_threads_per_process(processes: int, cores: int | None = None) -> int:
    """Intra-op threads for each of ``processes`` model processes sharing ``cores``: an even share, at least one."""
    return max(1, (available_cores() if cores is None else cores) // max(1, processes))


def configure_threads() -> int:
    """Set torch's intra-op thread count once per process and return it: ``TOKENSCOPE_TORCH_THREADS`` when set, else
    this process's share of the cores among the worker's ``TOKENSCOPE_WORKER_PROCESSES`` processes (1 if unset)."""
    global _threads_configured
    import torch

    with _threads_lock:
        if _threads_configured is None:
            wanted = os.environ.get("TOKENSCOPE_TORCH_THREADS", "").strip()
            processes = int(os.environ.get(WORKER_PROCESSES_ENV, "").strip() or 1)
            torch.set_num_threads(max(1, int(wanted)) if wanted else torch_threads_per_process(processes))
            _threads_configured = torch.get_num_threads()
        return _threads_configured


def placement(family: str | None = None) -> Placement:
    """The device and dtype for a model of ``family`` in this process (reads the environment on each call)."""
    device = pick_device()
    return Placement(device=device, dtype=pick_dtype(device, family))
