"""The speculative trace's size limit: top-k lists kept for a prefix of the steps, every per-token value for all of
them, the summary over all of them, and a ``trace_limits`` flag saying what was cut (tiny random models)."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from tests.workers.decoding.test_drafters import TARGET_TOK
from tests.workers.tiny_models import tiny_llama_model
from workers.decoding.trace import TopK
from workers.pipelines import speculative

CONTEXT = 1024
MODELS = {
    "target": tiny_llama_model(
        seed=0, vocab_size=len(TARGET_TOK), num_hidden_layers=3, max_position_embeddings=CONTEXT
    ),
    "draft": tiny_llama_model(seed=1, vocab_size=len(TARGET_TOK), num_hidden_layers=2, max_position_embeddings=CONTEXT),
}
# Timings differ from run to run; everything else is a function of the seed.
TIMED = {"prefill_ms", "decode_ms", "total_ms", "tokens_per_s", "draft_ms", "verify_ms", "overhead_ms"}
TIMED |= {"target_forward_ms", "draft_forward_ms", "target_ms_per_call", "draft_ms_per_token", "cost_ratio"}
TIMED |= {"theoretical_speedup", "measured_speedup", "baseline_tokens_per_s"}


def load(ref: str) -> Any:
    spec = SimpleNamespace(id=ref, name=ref, context_length=CONTEXT)
    return SimpleNamespace(model=MODELS[ref], tokenizer=TARGET_TOK, spec=spec)


@pytest.fixture(autouse=True)
def no_eos(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random weights may draw the end-of-sequence token early; these runs must last."""
    monkeypatch.setattr(speculative, "eos_ids", lambda loaded: ())


def run(**inputs: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    partials: list[dict[str, Any]] = []
    base = {"target": "target", "prompt": "the cat sat on the mat. the cat", "run_baseline": False}
    result = speculative.run(
        {**base, **inputs}, lambda p, m="", partial=None: partials.append(partial) if partial else None, load=load
    )
    return result, partials


def untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k not in TIMED}
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


def without_topk(step: dict[str, Any]) -> dict[str, Any]:
    step = copy.deepcopy(step)
    step["residual_top"] = step["next_top"] = None
    for record in step["draft"]:
        record["top_p"] = record["top_q"] = None
    for level in step["extra"].get("tree_verification", {}).get("levels", []):
        level["residuals_top"] = None
    return step


def entries(step: dict[str, Any]) -> int:
    tops = [step["residual_top"], step["next_top"]]
    tops += [top for record in step["draft"] for top in (record["top_p"], record["top_q"])]
    tops += [
        top
        for level in step["extra"].get("tree_verification", {}).get("levels", [])
        for top in level.get("residuals_top") or []
    ]
    return sum(len(top["ids"]) for top in tops if top)


def test_a_long_run_keeps_top_k_for_a_prefix_and_every_value_and_the_summary_for_all_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # γ 16 with top-50 lists is ~1,700 entries a step; greedy, two random models rarely agree on the argmax, so a
    # 96-token run has ~90 steps and passes the budget.
    inputs = {"drafter": {"kind": "draft_model", "model": "draft"}, "gamma": 16, "trace_top_k": 50}
    inputs |= {"max_new_tokens": 96}
    limited, streamed = run(**inputs)
    monkeypatch.setattr(speculative, "TRACE_TOPK_BUDGET", 10**9)
    full, _ = run(**inputs)

    steps, limits = limited["trace"]["steps"], limited["trace_limits"]
    assert limits["truncated"] is True and full["trace_limits"]["truncated"] is False
    assert limits["topk_budget"] == 100_000
    n = limits["full_steps"]
    assert 0 < n < len(steps) == limits["steps"] == limited["trace"]["summary"]["steps"]
    # The full steps are a prefix: they fit, and the first one cut would not have.
    full_steps = full["trace"]["steps"]
    assert sum(entries(s) for s in full_steps[:n]) == limits["topk_entries"] <= limits["topk_budget"]
    assert limits["topk_entries"] + entries(full_steps[n]) > limits["topk_budget"]
    assert sum(entries(s) for s in full_steps) == limits["topk_entries_total"]
    assert all(entries(s) > 0 for s in steps[:n]) and all(entries(s) == 0 for s in steps[n:])
    # Nothing else changes: same output, same per-token values, same summary (computed over every step).
    assert limited["output_ids"] == full["output_ids"]
    assert untimed(steps[:n]) == untimed(full_steps[:n])
    assert untimed(steps[n:]) == untimed([without_topk(s) for s in full_steps[n:]])
    assert untimed(limited["trace"]["summary"]) == untimed(full["trace"]["summary"])
    assert any("top-k lists are kept for the first" in note for note in limited["trace"]["notes"])
    # What was streamed is what was stored.
    assert [s for p in streamed for s in p["steps"]] == steps
    assert len(orjson.dumps(limited)) < len(orjson.dumps(full))


def test_default_settings_are_never_cut() -> None:
    result, _ = run(drafter={"kind": "draft_model", "model": "draft"}, max_new_tokens=48, temperature=0.9)
    limits = result["trace_limits"]
    assert limits["truncated"] is False and limits["full_steps"] == limits["steps"] == len(result["trace"]["steps"])
    assert limits["topk_entries"] == limits["topk_entries_total"] == sum(entries(s) for s in result["trace"]["steps"])
    assert not any("Trace size limit" in note for note in result["trace"]["notes"])
    # γ 5, top-5 lists: at most 5 × (5 + 5) + 5 + 5 entries a step, so 512 tokens stay far under the budget.
    assert speculative.TRACE_TOPK_BUDGET > 512 * (5 * (5 + 5) + 5 + 5)


def test_tree_levels_lose_their_residual_lists_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speculative, "TRACE_TOPK_BUDGET", 400)
    drafter = {"kind": "multi_draft", "model": "draft", "num_drafts": 3, "draft_length": 3}
    result, _ = run(drafter=drafter, max_new_tokens=32, temperature=0.9, trace_top_k=10)
    steps, limits = result["trace"]["steps"], result["trace_limits"]
    assert limits["truncated"] and limits["topk_entries"] <= 400
    cut = steps[limits["full_steps"] :]
    levels = [level for s in cut for level in s["extra"]["tree_verification"]["levels"]]
    assert levels and all(level["residuals_top"] is None for level in levels)
    assert all(level["accept_probs"] is not None for level in levels)  # the decisions stay
    assert all(r["top_p"] is None and r["p"] > 0 for s in cut for r in s["draft"])


def step(draft: int, k: int) -> SimpleNamespace:
    """What the limiter reads of a ``StepRecord``: its drafted tokens, its own top-k lists and ``extra``."""
    top = TopK(list(range(k)), [1.0 / k] * k)
    records = [SimpleNamespace(token=7, p=0.5, q=0.5, top_p=top, top_q=top) for _ in range(draft)]
    return SimpleNamespace(draft=records, residual_top=top, next_top=top, extra={})


def test_the_limiter_keeps_a_prefix_whole_steps_only() -> None:
    limiter = speculative.TraceLimiter(budget=100)
    sizes = [(2, 10), (4, 10), (0, 1)]  # 2·2·10 + 20 = 60, then 100 (does not fit), then 2 (would fit, cut anyway)
    steps = [step(draft, k) for draft, k in sizes]
    for s in steps:
        limiter.admit(s)
        limiter.admit(s)  # a step is counted once
    assert [speculative.topk_entries(s) for s in steps] == [60, 0, 0]
    assert limiter.summary() == {
        "topk_budget": 100,
        "topk_entries": 60,
        "topk_entries_total": 162,
        "steps": 3,
        "full_steps": 1,
        "truncated": True,
    }
    assert steps[1].draft[0].top_p is None and steps[1].draft[0].p == 0.5 and steps[1].next_top is None
    assert "first 1 of 3 steps" in (limiter.note() or "")
