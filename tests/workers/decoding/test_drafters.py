"""Drafter units: prompt lookup against HF's implementation, and the cross-tokenizer bridge (boundary handling and
greedy losslessness with two different tokenizers)."""

from __future__ import annotations

import random

import pytest
import torch
from tokenizers import Tokenizer, decoders, models
from transformers import PreTrainedTokenizerFast
from transformers.generation.candidate_generator import PromptLookupCandidateGenerator

from tests.workers.decoding.conftest import FixedDistributionLM, tiny_llama
from workers.decoding import verification as V
from workers.decoding.chain import ChainVerifier
from workers.decoding.drafters import CrossTokenizerDrafter, ModelDrafter, PromptLookupDrafter, common_prefix_len
from workers.decoding.engine import MethodConfig, generate
from workers.decoding.errors import DecodingInputError
from workers.decoding.lm import CausalLM
from workers.decoding.protocols import Draft
from workers.decoding.sampling import GREEDY, SamplingConfig, make_generator, probabilities

CHARS = list(" abcdefghijklmnopqrstuvwxyz.,!?'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n")


def char_tokenizer(merges: tuple[tuple[str, str], ...] = ()) -> PreTrainedTokenizerFast:
    """A real HF fast tokenizer: characters plus optional BPE merges (different merges ⇒ different vocabularies)."""
    vocab = {token: i for i, token in enumerate(["<unk>", "<bos>", "<eos>", *CHARS])}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=list(merges), unk_token="<unk>"))
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<bos>", eos_token="<eos>", unk_token="<unk>")


def test_prompt_lookup_matches_hf() -> None:
    rng = random.Random(0)
    for _ in range(300):
        context = [rng.randint(0, 6) for _ in range(rng.randint(2, 40))]
        ngram, num = rng.randint(1, 4), rng.randint(1, 8)
        hf = PromptLookupCandidateGenerator(num_output_tokens=num, max_matching_ngram_size=ngram, max_length=10_000)
        candidates, _ = hf.get_candidates(torch.tensor([context], dtype=torch.long))  # type: ignore[arg-type]
        expected = candidates[0, len(context) :].tolist()
        ours = PromptLookupDrafter(ngram, num).propose(context, 64, GREEDY, make_generator(0))
        assert ours.tokens == expected, (context, ngram, num)
        assert ours.q is None and ours.forward_calls == 0


def test_prompt_lookup_minimum_ngram_size_skips_weak_matches() -> None:
    context = [7, 1, 2, 3, 9, 4, 5, 6, 2]  # only the last token (2) recurs: a 1-gram match
    hf_like = PromptLookupDrafter(3, 4).propose(context, 4, GREEDY, make_generator(0))
    assert hf_like.tokens == [3, 9, 4, 5] and hf_like.extra["prompt_lookup"]["ngram_size"] == 1
    assert PromptLookupDrafter(3, 4, min_ngram_size=2).propose(context, 4, GREEDY, make_generator(0)).tokens == []
    longer = [*context, 3]  # now "2 3" recurs
    draft = PromptLookupDrafter(3, 4, min_ngram_size=2).propose(longer, 4, GREEDY, make_generator(0))
    assert draft.tokens == [9, 4, 5, 6] and draft.extra["prompt_lookup"]["ngram_size"] == 2
    with pytest.raises(ValueError, match="must not exceed"):
        PromptLookupDrafter(2, 4, min_ngram_size=3)


def test_prompt_lookup_respects_max_tokens_and_reports_the_match() -> None:
    draft = PromptLookupDrafter(2, 10).propose([1, 2, 3, 4, 5, 1, 2], 2, GREEDY, make_generator(0))
    assert draft.tokens == [3, 4]
    assert draft.extra["prompt_lookup"] == {"ngram_size": 2, "match_start": 0}
    assert PromptLookupDrafter().propose([1, 2, 3], 5, GREEDY, make_generator(0)).tokens == []


def test_common_prefix_len() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        a = [rng.randint(0, 2) for _ in range(rng.randint(0, 30))]
        b = a[: rng.randint(0, len(a))] + [rng.randint(0, 2) for _ in range(rng.randint(0, 8))]
        expected = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        assert common_prefix_len(a, b) == expected


def test_model_drafter_reuses_its_cache_and_rolls_back() -> None:
    drafter = ModelDrafter(tiny_llama(seed=2))
    context = [5, 6, 7, 8]
    drafter.start(context)
    first = drafter.propose(context, 4, GREEDY, make_generator(0))
    assert first.forward_calls == 3  # the prefill's logits serve the first draft token
    assert drafter.lm.tokens == [*context, *first.tokens[:3]]
    # Two drafts accepted, then a correction: only the correction and nothing else needs feeding.
    context = [*context, *first.tokens[:2], 2]
    second = drafter.propose(context, 4, GREEDY, make_generator(0))
    assert second.kv_rollback == 1 and second.forward_calls == 4


TARGET_TOK = char_tokenizer()
DRAFT_TOK = char_tokenizer((("t", "h"), ("th", "e"), ("e", " "), ("a", "t")))


def test_cross_tokenizer_boundary_cases() -> None:
    drafter = CrossTokenizerDrafter(tiny_llama(vocab=len(DRAFT_TOK)), DRAFT_TOK, TARGET_TOK)
    context = DRAFT_TOK.encode("the cat ")
    ids, info = drafter._target_ids(context, "sat")
    assert info["boundary"] == "aligned" and DRAFT_TOK.decode(ids) == "sat"
    # "…t" + "he" re-tokenises into "the": the committed "t" cannot be merged, so the text is encoded alone.
    context = DRAFT_TOK.encode("a cat t")
    ids, info = drafter._target_ids(context, "he end")
    assert info["boundary"] == "standalone" and ids == DRAFT_TOK.encode("he end")


def test_cross_tokenizer_is_lossless_when_greedy() -> None:
    """Catches a cross-tokenizer draft (two different tokenizers, bridged through text) changing greedy output."""
    target = tiny_llama(seed=0, layers=3, vocab=len(TARGET_TOK))
    draft = tiny_llama(seed=4, layers=2, vocab=len(DRAFT_TOK))
    prompt = TARGET_TOK.encode("the cat sat on the mat. the cat sat on")
    expected, _ = generate(target, None, prompt, 30, MethodConfig())
    drafter = CrossTokenizerDrafter(draft, TARGET_TOK, DRAFT_TOK)
    output, trace = generate(target, drafter, prompt, 30, MethodConfig(method="speculative", gamma=4))
    assert output == expected
    infos = [step.extra["cross_tokenizer"] for step in trace.steps if "cross_tokenizer" in step.extra]
    assert infos and all("retokenized_ids" in info and "boundary" in info for info in infos)
    for step in trace.steps:  # a deterministic draft: q is a point mass on each drafted token
        assert all(record.q == 1.0 for record in step.draft)


def char_distribution(tokenizer: PreTrainedTokenizerFast, weights: dict[str, float]) -> list[float]:
    probs = [0.0] * len(tokenizer)
    for char, weight in weights.items():
        probs[int(tokenizer.convert_tokens_to_ids(char))] = weight  # type: ignore[arg-type]
    return probs


def test_cross_tokenizer_sampling_follows_the_target_distribution() -> None:
    """Catches a wrong rule for the point-mass drafts of the cross-tokenizer bridge when sampling (e.g. accepting
    them outright, or resampling without removing the rejected token). A context-free target makes every output
    token an i.i.d. draw from the warped p; the draft model always proposes "a" (re-tokenised for the target).
    3,000 tokens over 4 outcomes: E[TV] <= ½ sqrt(4/3000) = 0.018 and P(TV > 0.05) <= exp(-2 · 3000 · 0.032²) < 0.3%;
    accepting every draft would put well over half the mass on "a" (TV > 0.2)."""
    weights = {"a": 0.35, "b": 0.3, "c": 0.2, " ": 0.15}
    target = FixedDistributionLM(char_distribution(TARGET_TOK, weights))
    draft = FixedDistributionLM(char_distribution(DRAFT_TOK, {"a": 0.7, "b": 0.3}))
    sampling = SamplingConfig(temperature=0.8)
    drafter = CrossTokenizerDrafter(draft, TARGET_TOK, DRAFT_TOK)
    prompt = TARGET_TOK.encode("abc")
    config = MethodConfig(method="speculative", gamma=4, sampling=sampling)
    output, trace = generate(target, drafter, prompt, 3000, config, seed=3)
    assert len(output) == 3000 and trace.summary is not None and trace.summary.accepted > 0
    ids = [int(TARGET_TOK.convert_tokens_to_ids(char)) for char in weights]  # type: ignore[arg-type]
    counts = torch.tensor([output.count(i) for i in ids], dtype=torch.float64)
    assert int(counts.sum()) == 3000
    warped = torch.tensor(list(weights.values()), dtype=torch.float64) ** (1 / 0.8)
    tv = 0.5 * float((counts / 3000 - warped / warped.sum()).abs().sum())
    assert tv < 0.05, tv


def fresh_logits(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids])).logits[0, -1].float()


def test_model_drafter_keeps_no_stale_logits_after_propose() -> None:
    """Catches logits cached before ``propose`` served after it: the cache then holds the context plus the drafts,
    and a context of that same length would get the logits of the old, shorter context."""
    model = tiny_llama(seed=2)
    drafter = ModelDrafter(model)
    context = [5, 6, 7, 8]
    drafter.start(context)
    draft = drafter.propose(context, 3, GREEDY, make_generator(0))
    longer = [*context, *draft.tokens[:2]]  # exactly what the draft cache holds now
    assert drafter.lm.tokens == longer
    logits, rollback = drafter.logits_after(longer)
    assert rollback == 0
    torch.testing.assert_close(logits, fresh_logits(model, longer), atol=1e-4, rtol=1e-4)


def wider_draft(target_vocab: int, extra: int) -> torch.nn.Module:
    """A draft with ``extra`` padded vocabulary rows whose logits are large (copies of the strongest rows, scaled)."""
    model = tiny_llama(seed=6, vocab=target_vocab + extra)
    with torch.no_grad():
        weight = model.lm_head.weight
        weight[target_vocab:] = weight[:extra] * 4.0
    return model


def test_a_wider_draft_vocabulary_is_cut_before_warping_and_sampling() -> None:
    """Catches a draft vocabulary wider than the target's being renormalised after sampling: q must be the
    warped distribution over the target's ids (top-k = 5 keeps five of them) and no draft may be beyond them."""
    vocab, context = 97, [5, 6, 7, 8]
    model = wider_draft(vocab, 13)
    sampling = SamplingConfig(temperature=1.0, top_k=5)
    full = fresh_logits(model, context)
    assert int(torch.topk(full, 5).indices.max()) >= vocab  # unmasked, the top-5 would include padded ids
    drafter = ModelDrafter(model)
    drafter.limit_vocab(vocab)
    drafter.start(context)
    draft = drafter.propose(context, 4, sampling, make_generator(1))
    assert draft.q is not None and draft.q.shape[-1] == vocab
    assert all(0 <= t < vocab for t in draft.tokens)
    assert ((draft.q > 0).sum(-1) == 5).all()
    torch.testing.assert_close(draft.q[0], probabilities(full[:vocab], sampling))


def test_the_engine_limits_a_wider_draft_to_the_target_vocabulary() -> None:
    """Catches an engine that does not tell a draft model the target's width: a padded id would then be drafted
    and verification would refuse it."""
    target = tiny_llama(seed=0, vocab=97)
    config = MethodConfig(method="speculative", gamma=4, sampling=SamplingConfig(temperature=1.0, top_k=5))
    output, trace = generate(target, ModelDrafter(wider_draft(97, 13)), [5, 6, 7, 8], 24, config, seed=2)
    assert len(output) == 24
    assert all(record.token < 97 for step in trace.steps for record in step.draft)


class OutOfVocabularyDrafter(PromptLookupDrafter):
    """Prompt lookup that appends an id the target does not have (what a mismatched draft vocabulary produces)."""

    def propose(self, context, max_tokens, sampling, gen):
        draft = super().propose(context, max_tokens, sampling, gen)
        draft.tokens = [*draft.tokens[: max_tokens - 1], 200]
        return draft


def test_a_drafted_id_beyond_the_target_vocabulary_is_refused() -> None:
    """Catches an out-of-range draft id reaching the acceptance rule (an index error or a silent misread)."""
    target = tiny_llama(seed=0, vocab=97)
    with pytest.raises(DecodingInputError, match="outside the target's vocabulary of 97"):
        generate(target, OutOfVocabularyDrafter(2, 4), [5, 6, 5, 6], 8, MethodConfig(method="speculative", gamma=3))


def test_a_drafted_token_with_zero_draft_probability_raises() -> None:
    """Catches q(x) = 0 being treated as certain acceptance (it cannot happen for a sampled draft)."""
    p = torch.tensor([0.5, 0.3, 0.2])
    q = torch.tensor([0.6, 0.4, 0.0])
    for rule in ("single", "rrs", "rsd", "spectr"):
        with pytest.raises(ValueError, match=r"q\(x\) = 0"):
            V.verify(rule, p, q, [2, 0], make_generator(0))
    lm = CausalLM(tiny_llama(seed=0))
    lm.prefill([5, 6, 7])
    chain_q = torch.full((1, 97), 1 / 96)
    chain_q[0, 3] = 0.0
    with pytest.raises(ValueError, match=r"q\(x\) = 0"):
        ChainVerifier().verify(lm, 8, Draft([3], q=chain_q), SamplingConfig(temperature=1.0), make_generator(0))


def cross_drafter(min_confidence: float = 0.0, draft_eos_ids: tuple[int, ...] = ()) -> CrossTokenizerDrafter:
    draft = tiny_llama(seed=4, layers=2, vocab=len(DRAFT_TOK))
    return CrossTokenizerDrafter(
        draft, TARGET_TOK, DRAFT_TOK, min_confidence=min_confidence, draft_eos_ids=draft_eos_ids
    )


@pytest.mark.parametrize("min_confidence", [0.0, 0.3])
def test_cross_tokenizer_drafts_with_a_kept_cache_equal_drafts_from_scratch(min_confidence: float) -> None:
    """Catches the draft model's cache, kept across steps, going stale (a wrong rollback after a rejection or a
    re-tokenised boundary, stale cached logits): every step's draft must equal what a fresh drafter, re-tokenising
    and re-encoding the whole context from nothing, drafts on the same context."""
    target = tiny_llama(seed=0, layers=3, vocab=len(TARGET_TOK))
    n = 40
    for text in ("the cat sat on the mat. the cat sat on", "a bat at the gate", "hello there, the theme is"):
        prompt = TARGET_TOK.encode(text)
        drafter = cross_drafter(min_confidence)
        config = MethodConfig(method="speculative", gamma=4, adaptive_gamma=True, max_gamma=8)
        output, trace = generate(target, drafter, prompt, n, config)
        context = [*prompt, *output]
        steps = [step for step in trace.steps if "cross_tokenizer" in step.extra]
        assert len(steps) > 3 and sum(step.draft_forwards for step in steps) > 0
        reused = sum(step.draft_kv_rollback == 0 for step in steps[1:])
        assert reused > 0  # the cache really was kept (not rebuilt each step)
        for step in steps:
            before = context[: step.prefix_len_before]
            want = min(step.gamma, n - (step.prefix_len_before - len(prompt)) - 1)
            fresh = cross_drafter(min_confidence)
            fresh.start(prompt)
            again = fresh.propose(before, want, GREEDY, make_generator(0))
            kept = step.extra["cross_tokenizer"]
            assert again.extra["cross_tokenizer"]["draft_ids"] == kept["draft_ids"]
            assert again.tokens == [record.token for record in step.draft]


def test_cross_tokenizer_stops_drafting_at_eos_and_after_an_unsure_token() -> None:
    """Catches forwards spent on draft tokens that are then thrown away: tokens after the drafter's end of text, and
    tokens after one the draft model itself is unsure of (``min_confidence``, as HF's assistant_confidence_threshold)."""
    context = TARGET_TOK.encode("the cat sat on the mat")
    free = cross_drafter()
    free.start(context)
    full = free.propose(context, 6, GREEDY, make_generator(0))
    info = full.extra["cross_tokenizer"]
    assert info["draft_stop"] == "max_tokens" and len(info["draft_ids"]) == 6
    assert full.forward_calls == 6
    # The same draft, with its third token declared the end of text: two tokens, and no forward after the end.
    third = info["draft_ids"][2]
    assert third not in info["draft_ids"][:2]
    stopped = cross_drafter(draft_eos_ids=(third,))
    stopped.start(context)
    short = stopped.propose(context, 6, GREEDY, make_generator(0))
    assert short.extra["cross_tokenizer"]["draft_ids"] == info["draft_ids"][:2]
    assert short.extra["cross_tokenizer"]["draft_stop"] == "eos"
    assert short.forward_calls == 3  # the context and two tokens (the second's logits name the end); not six
    # A random tiny model is unsure of everything: with a 0.99 threshold it drafts exactly one token, one forward.
    unsure = cross_drafter(min_confidence=0.99)
    unsure.start(context)
    one = unsure.propose(context, 6, GREEDY, make_generator(0))
    assert one.extra["cross_tokenizer"]["draft_ids"] == info["draft_ids"][:1]
    assert one.extra["cross_tokenizer"]["draft_stop"] == "unsure" and one.forward_calls == 1


@pytest.mark.parametrize("min_confidence", [0.0, 0.3])
def test_cross_tokenizer_with_a_confidence_stop_is_lossless_when_greedy(min_confidence: float) -> None:
    """Catches the confidence stop (or the kept cache) changing greedy output on prompts that exercise rejections."""
    target = tiny_llama(seed=0, layers=3, vocab=len(TARGET_TOK))
    for text in ("a bat at the gate", "hello there, the theme is"):
        prompt = TARGET_TOK.encode(text)
        expected, _ = generate(target, None, prompt, 30, MethodConfig())
        config = MethodConfig(method="speculative", gamma=8, adaptive_gamma=True, max_gamma=32)
        output, trace = generate(target, cross_drafter(min_confidence), prompt, 30, config)
        assert output == expected
        assert trace.summary is not None and trace.summary.drafted > 0
