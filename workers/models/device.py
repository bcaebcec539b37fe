"""The one place that decides device, dtype and CPU thread count for model work.

Defaults: CUDA when present, in bfloat16 where the GPU supports it (float16 otherwise); else CPU in float32, because
CPU half-precision matmuls are slow and the app reports log-probabilities that should match the reference weights.
Overrides: ``TOKENSCOPE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``), ``TOKENSCOPE_DTYPE`` (``float32``,
``bfloat16``, ``float16``) and ``TOKENSCOPE_TORCH_THREADS``. torch is imported inside the functions so that importing
this module stays free for the web process.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
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


def configure_threads() -> int:
    """Set torch's intra-op thread count once per process (``TOKENSCOPE_TORCH_THREADS``, else torch's default,
    which is the number of cores) and return it. A worker running several processes should set it lower."""
    global _threads_configured
    import torch

    with _threads_lock:
        if _threads_configured is None:
            wanted = os.environ.get("TOKENSCOPE_TORCH_THREADS", "").strip()
            if wanted:
                torch.set_num_threads(max(1, int(wanted)))
            _threads_configured = torch.get_num_threads()
        return _threads_configured


def placement(family: str | None = None) -> Placement:
    """The device and dtype for a model of ``family`` in this process (reads the environment on each call)."""
    device = pick_device()
    return Placement(device=device, dtype=pick_dtype(device, family))
