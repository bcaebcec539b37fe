"""Runs one codec call in a new Python process and returns its array.

Why: libcodec2 keeps process-global state (Codec2's phase generator ``codec2_rand``, LPCNet's encoder and
sampler state) that no API call resets, so a second decode in the same process gives different samples. A fresh
process starts from the library's initial state every time: the same codes give the same audio, and Codec2's
output is bit-identical to Debian's ``c2dec`` (tests/workers/media/audio/test_codec2.py).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[3]


def run_fresh(module: str, args: list[str], payload: np.ndarray, *, timeout_s: float) -> np.ndarray:
    """``python -m module *args`` with ``payload`` as .npy on stdin; its stdout parsed as .npy (no pickle)."""
    buffer = io.BytesIO()
    np.save(buffer, payload, allow_pickle=False)
    path = [str(REPO_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            input=buffer.getvalue(),
            capture_output=True,
            timeout=timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{module} {' '.join(args)} ran past {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-800:]
        raise RuntimeError(f"{module} {' '.join(args)} failed (exit {done.returncode}): {tail}")
    return np.load(io.BytesIO(done.stdout), allow_pickle=False)


def serve(operations: dict[str, Callable[[list[str], np.ndarray], np.ndarray]], argv: list[str]) -> int:
    """The child's side: ``argv[0]`` names the operation; reads .npy from stdin, writes .npy to stdout."""
    if not argv or argv[0] not in operations:
        print(f"usage: python -m <module> {{{'|'.join(operations)}}} ...", file=sys.stderr)
        return 2
    payload = np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False)
    result = operations[argv[0]](argv[1:], payload)
    out = io.BytesIO()
    np.save(out, result, allow_pickle=False)
    sys.stdout.buffer.write(out.getvalue())
    sys.stdout.buffer.flush()
    return 0
