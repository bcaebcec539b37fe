"""The real bundled models load from the prepared store and give their documented continuations (slow: real weights)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from workers.models.catalog import ModelSpec, bundled_models
from workers.models.early_exit import build_early_exit_drafter
from workers.models.registry import LoadedModel, ModelRegistry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry() -> ModelRegistry:
    return ModelRegistry(4 * 2**30)


def load(registry: ModelRegistry, spec: ModelSpec) -> LoadedModel:
    if not spec.available:
        pytest.fail("model store not prepared (python -m workers.model_store prepare)")
    return registry.get(spec.id)


def next_token(loaded: LoadedModel, prompt: str) -> tuple[str, float]:
    ids = loaded.tokenizer(prompt, return_tensors="pt").input_ids.to(loaded.device)
    with torch.inference_mode():
        probs = loaded.model(input_ids=ids).logits[0, -1].float().softmax(-1)
    top = int(probs.argmax())
    return loaded.tokenizer.decode([top]), float(probs[top])


@pytest.mark.parametrize("spec", bundled_models(), ids=lambda spec: spec.id)
def test_bundled_model_gives_its_documented_continuation(registry: ModelRegistry, spec: ModelSpec) -> None:
    loaded = load(registry, spec)
    assert spec.sanity is not None and spec.local_path is not None
    text, prob = next_token(loaded, spec.sanity.prompt)
    manifest = json.loads((spec.local_path / "tokenscope_manifest.json").read_text())
    assert text == spec.sanity.expected_top1
    assert prob == pytest.approx(manifest["sanity"]["top1_prob"], abs=0.01)  # the value measured at conversion
    assert sum(p.numel() for p in loaded.model.parameters()) == spec.params
    assert spec.vocab_size is not None and loaded.model.config.vocab_size == spec.vocab_size
    assert len(loaded.tokenizer) <= spec.vocab_size
    print(f"{spec.id}: {spec.sanity.prompt!r} -> {text!r} p={prob:.2f}; loaded in {loaded.load_seconds:.2f}s")


def test_smollm2_chat_template_survived_conversion(registry: ModelRegistry) -> None:
    loaded = load(registry, bundled_models()[0])
    messages = [{"role": "user", "content": "Hi"}]
    rendered = loaded.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered.startswith("<|im_start|>") and rendered.endswith("<|im_start|>assistant\n")


@pytest.mark.parametrize("spec", bundled_models(), ids=lambda spec: spec.id)
def test_early_exit_drafter_on_a_real_model(registry: ModelRegistry, spec: ModelSpec) -> None:
    loaded = load(registry, spec)
    target: Any = loaded.model
    layers = target.config.num_hidden_layers // 2
    drafter = build_early_exit_drafter(target, layers)
    ids = loaded.tokenizer("The quick brown fox jumps over the lazy", return_tensors="pt").input_ids
    with torch.inference_mode():
        hidden = target(input_ids=ids, output_hidden_states=True).hidden_states[layers]
        manual = target.lm_head(target.model.norm(hidden))
        cap = getattr(target.config, "final_logit_softcapping", None)
        manual = torch.tanh(manual / cap) * cap if cap else manual
        torch.testing.assert_close(drafter(input_ids=ids).logits, manual, rtol=0, atol=1e-5)
    assert drafter.lm_head.weight.data_ptr() == target.lm_head.weight.data_ptr()
