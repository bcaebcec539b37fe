"""Device and dtype choice: environment overrides, CPU float32 default, GPU half precision."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
import torch

from workers.models import device


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOKENSCOPE_DEVICE", "TOKENSCOPE_DTYPE", "TOKENSCOPE_TORCH_THREADS", device.WORKER_PROCESSES_ENV):
        monkeypatch.delenv(name, raising=False)


def test_cpu_defaults_to_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.placement() == device.Placement("cpu", "float32")
    assert device.placement().torch_dtype() is torch.float32


def test_cuda_prefers_bfloat16_then_float16_except_for_gemma(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert device.placement("llama") == device.Placement("cuda", "bfloat16")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert device.pick_dtype("cuda", "llama") == "float16"
    assert device.pick_dtype("cuda", "gemma3_text") == "float32"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSCOPE_DEVICE", "CPU")
    monkeypatch.setenv("TOKENSCOPE_DTYPE", "bfloat16")
    assert device.placement() == device.Placement("cpu", "bfloat16")


def test_bad_overrides_fail_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSCOPE_DTYPE", "int4")
    with pytest.raises(ValueError, match="TOKENSCOPE_DTYPE"):
        device.pick_dtype("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("TOKENSCOPE_DEVICE", "cuda:1")
    with pytest.raises(RuntimeError, match="no CUDA"):
        device.pick_device()


def test_thread_count_is_set_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    monkeypatch.setattr(device, "_threads_configured", None)
    monkeypatch.setenv("TOKENSCOPE_TORCH_THREADS", "1")
    try:
        assert device.configure_threads() == 1 == torch.get_num_threads()
        monkeypatch.setenv("TOKENSCOPE_TORCH_THREADS", "2")
        assert device.configure_threads() == 1  # already configured: later changes are ignored
    finally:
        torch.set_num_threads(before)


def test_each_worker_process_gets_its_share_of_the_cores() -> None:
    """Catches: every worker process letting torch use every core (two jobs on two processes ran 3x slower each)."""
    assert device.torch_threads_per_process(2, cores=2) == 1
    assert device.torch_threads_per_process(1, cores=8) == 8
    assert device.torch_threads_per_process(3, cores=16) == 5
    assert device.torch_threads_per_process(4, cores=2) == 1  # never zero
    assert 1 <= device.available_cores() <= (os.cpu_count() or 1)


def test_the_worker_concurrency_sets_the_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches: the worker's process count not reaching torch (the default stayed at every core per process)."""
    from workers.tasks import record_worker_processes

    before = torch.get_num_threads()
    monkeypatch.setattr(device, "_threads_configured", None)
    monkeypatch.setattr(device, "available_cores", lambda: 8)
    record_worker_processes(sender=SimpleNamespace(concurrency=2))  # what the Celery worker sends before forking
    try:
        assert device.configure_threads() == 4 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
