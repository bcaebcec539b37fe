"""Device and dtype choice: environment overrides, CPU float32 default, GPU half precision."""

from __future__ import annotations

import pytest
import torch

from workers.models import device


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOKENSCOPE_DEVICE", "TOKENSCOPE_DTYPE", "TOKENSCOPE_TORCH_THREADS"):
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
