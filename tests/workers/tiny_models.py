"""Test fixtures shared by the worker suites: tiny random-init causal LMs. They are NOT real models (their weights are
noise); they run code paths in milliseconds. Each suite passes what it needs on top of the common shape."""

from __future__ import annotations

from typing import Any

COMMON: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
}


def tiny_llama_model(*, seed: int, **config: Any) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(**COMMON, **config)).eval()


def tiny_gemma3_model(*, seed: int, **config: Any) -> Any:
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    return Gemma3ForCausalLM(Gemma3TextConfig(**COMMON, head_dim=8, **config)).eval()
