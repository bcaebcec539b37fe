"""Greedy losslessness on the real bundled models (SmolLM2-135M-Instruct, Gemma-3-270m). Slow: tens of seconds.

Fails when the model store has not been prepared (``python -m workers.model_store prepare``).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from workers.decoding.drafters import CrossTokenizerDrafter, EarlyExitDrafter, PromptLookupDrafter
from workers.decoding.engine import MethodConfig, generate
from workers.decoding.protocols import Drafter
from workers.models.catalog import resolve_model
from workers.models.registry import get_model

pytestmark = pytest.mark.slow

PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. It was a sunny afternoon in the small village, and the children "
    "were playing in the park near the old church while their parents chatted on the benches."
)


def load(ref: str) -> Any:
    if not resolve_model(ref).available:
        pytest.fail(f"{ref} is not in the model store")
    return get_model(ref)


@pytest.fixture(scope="module")
def smollm2() -> Any:
    return load("smollm2-135m-instruct")


@pytest.fixture(scope="module")
def gemma() -> Any:
    return load("gemma-3-270m")


def chat_prompt(tokenizer: Any, text: str) -> list[int]:
    encoded = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True)
    ids = encoded["input_ids"] if hasattr(encoded, "keys") else encoded
    return [int(t) for t in ids]


def test_smollm2_autoregressive_equals_hf_generate_and_every_drafter_is_lossless(smollm2: Any) -> None:
    model, tokenizer = smollm2.model, smollm2.tokenizer
    prompt = chat_prompt(tokenizer, "Repeat this paragraph, changing 'fox' to 'cat':\n\n" + PARAGRAPH)
    n = 32
    with torch.inference_mode():
        hf = model.generate(torch.tensor([prompt]), max_new_tokens=n, do_sample=False, min_new_tokens=n)
    reference = hf[0, len(prompt) :].tolist()
    baseline, _ = generate(model, None, prompt, n)
    assert baseline == reference

    from workers.models.early_exit import build_early_exit_drafter

    early = build_early_exit_drafter(model, 10)
    cases: list[tuple[Drafter, MethodConfig]] = [
        (PromptLookupDrafter(2, 10), MethodConfig(method="speculative", gamma=10)),
        (EarlyExitDrafter(early), MethodConfig(method="speculative", gamma=4)),
        (EarlyExitDrafter(early), MethodConfig(method="speculative", gamma=4, adaptive_gamma=True)),
    ]
    for drafter, config in cases:
        output, trace = generate(model, drafter, prompt, n, config)
        assert output == baseline, drafter.kind
        assert trace.summary is not None
        if drafter.kind == "prompt_lookup":  # copying the paragraph: most drafts are accepted
            assert trace.summary.target_calls < n


def test_gemma_target_with_smollm2_cross_tokenizer_draft(gemma: Any, smollm2: Any) -> None:
    prompt = [int(t) for t in gemma.tokenizer.encode("Rewrite neatly: " + PARAGRAPH + "\n\nRewritten: The quick")]
    n = 24
    baseline, _ = generate(gemma.model, None, prompt, n)
    drafter = CrossTokenizerDrafter(smollm2.model, gemma.tokenizer, smollm2.tokenizer)
    output, trace = generate(gemma.model, drafter, prompt, n, MethodConfig(method="speculative", gamma=4))
    assert output == baseline
    assert trace.summary is not None and trace.summary.accepted > 0
    boundaries = {step.extra["cross_tokenizer"]["boundary"] for step in trace.steps if "cross_tokenizer" in step.extra}
    assert boundaries <= {"aligned", "standalone", "empty"}


def test_gemma_prompt_lookup_past_the_sliding_window(gemma: Any) -> None:
    """A prompt longer than Gemma 3's 512-token sliding window: rollbacks happen on window-trimmed layers."""
    window = gemma.model.config.get_text_config().sliding_window
    text = " ".join([PARAGRAPH] * 14) + "\n\nOnce more: The quick"
    prompt = [int(t) for t in gemma.tokenizer.encode(text)]
    assert len(prompt) > window
    n = 24
    baseline, _ = generate(gemma.model, None, prompt, n)
    output, trace = generate(gemma.model, PromptLookupDrafter(3, 8), prompt, n, MethodConfig(method="speculative"))
    assert output == baseline
    assert trace.summary is not None and trace.summary.accepted > 0


def test_gemma_autoregressive_equals_hf_generate_and_every_same_vocabulary_method_is_lossless(gemma: Any) -> None:
    """Catches Gemma 3's own loop (sliding-window cache, tree masks, rollbacks) drifting from HF ``generate`` or
    any lossless method changing its greedy output. Gemma has no bundled same-tokenizer draft model, so the draft
    model and the tree methods draft with its own first 6 layers (an early-exit model). Short outputs: on a CPU each
    Gemma forward computes a 262k-entry LM head per drafted position."""
    model, tokenizer = gemma.model, gemma.tokenizer
    prompt = [int(t) for t in tokenizer.encode("Rewrite neatly: " + PARAGRAPH + "\n\nRewritten: The quick")]
    n = 12
    with torch.inference_mode():
        hf = model.generate(torch.tensor([prompt]), max_new_tokens=n, do_sample=False, min_new_tokens=n)
    baseline, _ = generate(model, None, prompt, n)
    assert baseline == hf[0, len(prompt) :].tolist()

    from workers.decoding.drafters import ModelDrafter
    from workers.decoding.tree_engine import TreeMethodConfig, generate_tree
    from workers.models.early_exit import build_early_exit_drafter

    early = build_early_exit_drafter(model, 6)
    chains: list[tuple[Drafter, MethodConfig]] = [
        (ModelDrafter(early), MethodConfig(method="speculative", gamma=3)),
        (EarlyExitDrafter(early), MethodConfig(method="speculative", gamma=3, adaptive_gamma=True)),
        (PromptLookupDrafter(2, 6), MethodConfig(method="speculative", gamma=6)),
    ]
    for drafter, config in chains:
        output, _ = generate(model, drafter, prompt, n, config)
        assert output == baseline, drafter.kind
    trees = [
        TreeMethodConfig(method="multi_draft", num_drafts=2, draft_length=3),
        TreeMethodConfig(method="tree_fixed", template=((0,), (1,), (0, 0), (0, 1), (0, 0, 0))),
        TreeMethodConfig(method="tree_dyspec", node_budget=6, max_depth=3),
        TreeMethodConfig(method="token_recycling"),
    ]
    for tree_config in trees:
        output, trace = generate_tree(model, prompt, n, tree_config, draft_model=early)
        assert output == baseline, tree_config.method
        assert trace.summary is not None and trace.summary.tree
