"""The job pipeline with an injected loader (tiny models, toy tokenizers): results, streaming, and input errors."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from tests.workers.decoding.conftest import tiny_llama
from tests.workers.decoding.test_drafters import DRAFT_TOK, TARGET_TOK
from workers.decoding.errors import DecodingInputError
from workers.pipelines import speculative

MODELS = {
    "target": (tiny_llama(seed=0, layers=3, vocab=len(TARGET_TOK)), TARGET_TOK, 256),
    "same-vocab-draft": (tiny_llama(seed=1, layers=2, vocab=len(TARGET_TOK)), TARGET_TOK, 256),
    "other-vocab-draft": (tiny_llama(seed=2, layers=2, vocab=len(DRAFT_TOK)), DRAFT_TOK, 256),
}


def load(ref: str) -> Any:
    model, tokenizer, context = MODELS[ref]
    return SimpleNamespace(
        model=model, tokenizer=tokenizer, spec=SimpleNamespace(id=ref, name=ref, context_length=context)
    )


def run(**inputs: Any) -> tuple[dict[str, Any], list[tuple[float, str, Any]]]:
    calls: list[tuple[float, str, Any]] = []
    base = {"target": "target", "prompt": "the cat sat on the mat. the cat sat on the", "max_new_tokens": 24}
    result = speculative.run({**base, **inputs}, lambda p, m="", partial=None: calls.append((p, m, partial)), load=load)
    return result, calls


@pytest.mark.parametrize(
    "drafter",
    [
        {"kind": "prompt_lookup", "max_ngram_size": 3, "num_pred_tokens": 5},
        {"kind": "prompt_lookup", "max_ngram_size": 3, "min_ngram_size": 2, "num_pred_tokens": 5},
        {"kind": "draft_model", "model": "same-vocab-draft"},
        {"kind": "early_exit", "exit_layer": 1},
        {"kind": "cross_tokenizer", "model": "other-vocab-draft"},
    ],
    ids=lambda d: d["kind"],
)
def test_greedy_run_matches_its_baseline(drafter: dict[str, Any]) -> None:
    result, calls = run(drafter=drafter, gamma=4)
    assert result["output_ids"] == result["baseline"]["output_ids"]
    summary = result["trace"]["summary"]
    assert summary["output_matches_baseline"] is True and summary["measured_speedup"] > 0
    assert result["lossless"]["lossless"] is True
    partials = [partial for _, _, partial in calls if partial]
    streamed = [step for partial in partials if partial["phase"] == "speculative" for step in partial["steps"]]
    assert len(streamed) == len(result["trace"]["steps"])
    assert calls[-1][0] == 1.0
    json.dumps(result)


def test_sampling_run_and_autoregressive_method() -> None:
    result, _ = run(drafter={"kind": "draft_model", "model": "same-vocab-draft"}, temperature=0.8, top_p=0.9, seed=4)
    again, _ = run(drafter={"kind": "draft_model", "model": "same-vocab-draft"}, temperature=0.8, top_p=0.9, seed=4)
    assert result["output_ids"] == again["output_ids"]
    assert "point mass" not in result["lossless"]["note"]
    ar, _ = run(method="autoregressive")
    assert ar["baseline"] is None and ar["drafter"] is None and len(ar["output_ids"]) == 24


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"gamma": 0}, "between 1 and 64"),
        ({"gamma": 65}, "between 1 and 64"),
        ({"gamma": 2.5}, "whole number"),
        ({"temperature": -0.5}, "Temperature must be ≥ 0"),
        ({"top_p": 0}, "top_p"),
        ({"max_new_tokens": 513}, "between 1 and 512"),
        ({"prompt": "   "}, "prompt is empty"),
        ({"prompt": "the cat " * 40}, "context limit of 256"),
        ({"drafter": {"kind": "medusa"}}, "Unknown drafter"),
        ({"drafter": {"kind": "draft_model"}}, "needs a draft model"),
        ({"drafter": {"kind": "draft_model", "model": "other-vocab-draft"}}, "cross_tokenizer"),
        ({"drafter": {"kind": "early_exit", "exit_layer": 3}}, "exit_layer"),
        ({"drafter": {"kind": "prompt_lookup", "max_ngram_size": 2, "min_ngram_size": 3}}, r"min_ngram_size \(1–2\)"),
        ({"chat_template": True}, "no chat template"),
        ({"target": ""}, "target model"),
    ],
)
def test_bad_parameters_raise_clear_errors(inputs: dict[str, Any], message: str) -> None:
    inputs = {"drafter": {"kind": "prompt_lookup"}, **inputs}
    with pytest.raises(DecodingInputError, match=message):
        run(**inputs)


def test_tree_methods_are_delegated_to_the_tree_engine() -> None:
    """Catches tree kinds not reaching the tree engine (or its import failing: no skip hides it)."""
    result, _ = run(drafter={"kind": "token_recycling"})
    assert result["output_ids"] == result["baseline"]["output_ids"]
    result, _ = run(drafter={"kind": "multi_draft", "model": "same-vocab-draft", "num_drafts": 2, "draft_length": 3})
    assert result["output_ids"] == result["baseline"]["output_ids"]
