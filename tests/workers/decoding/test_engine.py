"""The generation loop on tiny random models: greedy losslessness of every drafter, EOS / length handling, adaptive γ,
seeded reproducibility, the trace's bookkeeping, and bad-parameter errors."""

from __future__ import annotations

import json

import pytest
import torch

from tests.workers.decoding.conftest import perturbed, tiny_gemma3, tiny_llama, truncated
from workers.decoding.drafters import EarlyExitDrafter, ModelDrafter, PromptLookupDrafter
from workers.decoding.engine import MethodConfig, generate
from workers.decoding.errors import DecodingInputError
from workers.decoding.sampling import SamplingConfig
from workers.decoding.trace import StepRecord, compare_with_baseline, expected_tokens_per_call
from workers.models.early_exit import build_early_exit_drafter

N = 40


def spec(**kwargs) -> MethodConfig:
    return MethodConfig(method="speculative", **kwargs)


@pytest.fixture(scope="module")
def baseline(target, prompt) -> list[int]:
    output, trace = generate(target, None, prompt, N)
    assert len(output) == N and trace.summary is not None
    # The first token comes from the prefill's logits (as in HF generate); each later one costs one target forward.
    assert trace.summary.target_calls == N - 1
    assert trace.steps[0].extra == {"from_prefill": True} and trace.steps[0].target_forwards == 0
    return output


def drafters(target):
    return {
        "draft_model": ModelDrafter(perturbed(target, 0.3)),
        "identical_draft": ModelDrafter(target),
        "prompt_lookup": PromptLookupDrafter(max_ngram_size=3, num_pred_tokens=6),
        "prompt_lookup_min2": PromptLookupDrafter(max_ngram_size=3, num_pred_tokens=6, min_ngram_size=2),
        "early_exit": EarlyExitDrafter(truncated(target, 2), exit_layer=2),
        "unrelated_draft": ModelDrafter(tiny_llama(seed=5)),
    }


@pytest.mark.parametrize(
    "name",
    ["draft_model", "identical_draft", "prompt_lookup", "prompt_lookup_min2", "early_exit", "unrelated_draft"],
)
@pytest.mark.parametrize("adaptive", [False, True], ids=["fixed", "adaptive"])
def test_greedy_speculative_equals_greedy_autoregressive(target, prompt, baseline, name, adaptive) -> None:
    """Catches a drafter or the chain rule changing greedy output; the drafters that share the target's weights
    must also get drafts accepted (a run that rejected every draft would match the baseline too)."""
    drafter = drafters(target)[name]
    output, trace = generate(target, drafter, prompt, N, spec(gamma=4, adaptive_gamma=adaptive))
    assert output == baseline
    assert trace.summary is not None and trace.summary.new_tokens == N
    if name in ("draft_model", "identical_draft", "early_exit"):
        assert trace.summary.accepted > 0
        assert any(step.accepted_count > 0 for step in trace.steps)
    if name == "identical_draft":
        assert trace.summary.alpha == 1.0
        assert trace.summary.target_calls < N // 3


def test_early_exit_from_the_models_package(target, prompt, baseline) -> None:
    """Catches the product's early-exit builder producing a drafter that changes greedy output or never agrees."""
    model = build_early_exit_drafter(target, 2)
    output, trace = generate(target, EarlyExitDrafter(model), prompt, N, spec(gamma=3))
    assert output == baseline
    assert trace.summary is not None and trace.summary.accepted > 0


def test_sliding_window_target_rolls_back_past_the_window() -> None:
    """Gemma-3-style target (window 6) whose cache is cropped after almost every step, well past the window.
    Catches a wrong rollback on window-trimmed layers; the trace must show rejected drafts rolled back there."""
    target = tiny_gemma3(seed=0)
    window = 6
    prompt = [5, 6, 7, 8, 9, 10, 11, 12, 5, 6, 7]
    expected, _ = generate(target, None, prompt, 30)
    draft = tiny_gemma3(seed=3)
    for drafter in (ModelDrafter(draft), PromptLookupDrafter(2, 5)):
        output, trace = generate(target, drafter, prompt, 30, spec(gamma=4))
        assert output == expected
        rollbacks = [step for step in trace.steps if step.kv_rollback > 0 and step.prefix_len_before > window]
        assert rollbacks, drafter.kind
        assert all(step.kv_rollback == len(step.draft) - step.accepted_count for step in trace.steps)


def test_stops_at_eos_and_at_max_new_tokens(target, prompt, baseline) -> None:
    eos = baseline[12]
    cut = baseline.index(eos) + 1
    for drafter in (None, ModelDrafter(target), PromptLookupDrafter()):
        config = MethodConfig(method="speculative" if drafter else "autoregressive", gamma=5, eos_token_ids=(eos,))
        output, trace = generate(target, drafter, prompt, N, config)
        assert output == baseline[:cut]
        assert trace.summary is not None and trace.summary.stop_reason == "eos"
    for limit in (1, 2, 7):
        output, _ = generate(target, ModelDrafter(target), prompt, limit, spec(gamma=5))
        assert output == baseline[:limit]


def test_adaptive_gamma_follows_the_hf_heuristic(target, prompt) -> None:
    _, trace = generate(target, ModelDrafter(perturbed(target, 0.3)), prompt, N, spec(gamma=3, adaptive_gamma=True))
    steps = trace.steps
    for before, after in zip(steps, steps[1:], strict=False):
        if not before.draft:
            continue
        full = before.accepted_count == len(before.draft)
        # (the draft is also capped by the tokens still allowed, hence min with the remaining budget below)
        assert after.gamma == (min(before.gamma + 2, 64) if full else max(1, before.gamma - 1))


def test_sampling_is_reproducible_with_a_seed(target, prompt) -> None:
    config = spec(gamma=4, sampling=SamplingConfig(temperature=0.9, top_p=0.95, top_k=50))
    draft = perturbed(target, 0.3)
    first, trace1 = generate(target, ModelDrafter(draft), prompt, N, config, seed=123)
    second, trace2 = generate(target, ModelDrafter(draft), prompt, N, config, seed=123)
    assert first == second
    assert [r.u for s in trace1.steps for r in s.draft] == [r.u for s in trace2.steps for r in s.draft]
    other, _ = generate(target, ModelDrafter(draft), prompt, N, config, seed=124)
    assert other != first  # 40 tokens at T=0.9 over 97 tokens: a collision is vanishingly unlikely
    ar1, _ = generate(target, None, prompt, N, MethodConfig(sampling=config.sampling), seed=7)
    ar2, _ = generate(target, None, prompt, N, MethodConfig(sampling=config.sampling), seed=7)
    assert ar1 == ar2


def test_trace_bookkeeping_and_streaming(target, prompt, baseline) -> None:
    seen: list[StepRecord] = []
    decode = lambda ids: "".join(f"<{i}>" for i in ids)  # noqa: E731
    output, trace = generate(
        target, ModelDrafter(perturbed(target, 0.3)), prompt, N, spec(gamma=4), on_step=seen.append, decode=decode
    )
    assert seen == trace.steps
    summary = trace.summary
    assert summary is not None
    assert sum(len(s.emitted) for s in trace.steps) == len(output) == summary.new_tokens
    # The first draft is verified inside the prefill's forward (as HF's assisted generation does).
    first = trace.steps[0]
    assert first.extra["prefill_tokens"] == len(prompt) - 1 and first.draft and first.target_forwards == 1
    assert summary.target_calls == len(trace.steps) == sum(s.target_forwards for s in trace.steps)
    assert summary.drafted == sum(len(s.draft) for s in trace.steps)
    assert summary.tokens_per_target_call == pytest.approx(N / len(trace.steps))
    assert summary.prefill_ms >= first.target_forward_ms  # that forward is accounted to the prefill, not to verifying
    later = trace.steps[1:]
    assert summary.target_ms_per_call == pytest.approx(sum(s.target_forward_ms for s in later) / len(later))
    assert "".join(s.accepted_text or "" for s in trace.steps) == decode(output)
    position = len(prompt)
    for step in trace.steps:
        assert step.prefix_len_before == position
        position += len(step.emitted)
        assert step.prefix_len_after == position
        assert step.kv_rollback == len(step.draft) - step.accepted_count
        assert step.emitted[: step.accepted_count] == [r.token for r in step.draft[: step.accepted_count]]
        if step.first_rejection is not None:
            assert step.draft[step.first_rejection].decision == "rejected"
            assert step.next_source == "greedy"
        elif step.draft:
            assert step.next_source == "bonus"
        assert step.next_top is not None and step.next_top.ids[0] == step.next_token  # greedy: the argmax
        assert step.next_top.strings is not None
        for record in step.draft:
            assert record.top_p is not None and record.top_p.strings is not None
            assert 0.0 <= record.beta <= 1.0 + 1e-6
    assert summary.cost_ratio is not None and summary.theoretical_speedup is not None
    json.dumps(trace.to_dict())  # serialisable as-is


def test_bad_parameters(target, prompt) -> None:
    with pytest.raises(DecodingInputError, match="Draft length"):
        MethodConfig(method="speculative", gamma=0)
    with pytest.raises(DecodingInputError, match="Draft length"):
        MethodConfig(method="speculative", gamma=65)
    with pytest.raises(DecodingInputError, match="needs a drafter"):
        generate(target, None, prompt, 4, spec())
    with pytest.raises(DecodingInputError, match="context limit"):
        generate(target, None, prompt, 250)  # tiny models allow 256 positions
    with pytest.raises(DecodingInputError, match="empty"):
        generate(target, None, [], 4)


def test_single_token_prompt(target) -> None:
    expected, _ = generate(target, None, [7], 10)
    output, _ = generate(target, ModelDrafter(target), [7], 10, spec(gamma=3))
    assert output == expected


def test_verify_path_matches_logits_of_a_fresh_forward(target, prompt) -> None:
    """The p recorded in the trace is the target's real next-token probability for the drafted token."""
    _, trace = generate(target, ModelDrafter(target), prompt, 6, spec(gamma=5))
    step = trace.steps[0]  # verified inside the prefill's forward
    assert step.extra["prefill_tokens"] == len(prompt) - 1
    with torch.inference_mode():
        logits = target(input_ids=torch.tensor([[*prompt, step.draft[0].token]])).logits[0, -2]
    assert step.draft[0].p == pytest.approx(float(logits.softmax(-1)[step.draft[0].token]), abs=1e-5)


def test_comparison_with_the_baseline_prices_verification_at_its_measured_cost(target, prompt, baseline) -> None:
    base_output, base_trace = generate(target, None, prompt, N)
    output, trace = generate(target, PromptLookupDrafter(3, 6), prompt, N, spec(gamma=6))
    compare_with_baseline(trace, base_trace, output, base_output)
    summary, base = trace.summary, base_trace.summary
    assert summary is not None and base is not None and base.target_ms_per_call and summary.target_ms_per_call
    assert summary.output_matches_baseline is True
    assert summary.measured_speedup == pytest.approx(summary.tokens_per_s / base.tokens_per_s)
    assert summary.verify_cost_ratio == pytest.approx(summary.target_ms_per_call / base.target_ms_per_call)
    assert summary.theoretical_speedup is not None and summary.verify_cost_ratio is not None
    assert summary.theoretical_speedup_at_verify_cost == pytest.approx(
        summary.theoretical_speedup / summary.verify_cost_ratio
    )


def test_predicted_tokens_per_call_averages_the_per_step_predictions(target, prompt) -> None:
    """Catches tau predicted from the mean draft length, which counts steps that drafted nothing as a fraction of
    a draft: the prediction is the mean of each verification step's (1 - a^(g+1)) / (1 - a), and the speedup the
    ratio of the summed predictions to the summed step costs."""
    _, trace = generate(target, PromptLookupDrafter(3, 6), prompt, N, spec(gamma=6))
    summary = trace.summary
    assert summary is not None and summary.alpha is not None and summary.cost_ratio is not None
    gammas = [len(step.draft) for step in trace.steps if step.target_forwards]
    assert 0 in gammas and max(gammas) > 0  # some steps found no match: the case the mean gamma got wrong
    predicted = [expected_tokens_per_call(summary.alpha, g) for g in gammas]
    assert summary.theoretical_tokens_per_call == pytest.approx(sum(predicted) / len(predicted))
    assert sum(predicted) / len(predicted) < expected_tokens_per_call(summary.alpha, summary.mean_gamma)
    cost = sum(g * summary.cost_ratio + 1 for g in gammas)
    assert summary.theoretical_speedup == pytest.approx(sum(predicted) / cost)
