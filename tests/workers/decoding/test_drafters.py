"""Drafter units: prompt lookup against HF's implementation, and the cross-tokenizer bridge (boundary handling and
greedy losslessness with two different tokenizers)."""

from __future__ import annotations

import random

import pytest
import torch
from tokenizers import Tokenizer, decoders, models
from transformers import PreTrainedTokenizerFast
from transformers.generation.candidate_generator import PromptLookupCandidateGenerator

from tests.workers.decoding.conftest import tiny_llama
from workers.decoding.drafters import CrossTokenizerDrafter, ModelDrafter, PromptLookupDrafter, common_prefix_len
from workers.decoding.engine import MethodConfig, generate
from workers.decoding.sampling import GREEDY, SamplingConfig, make_generator

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


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_cross_tokenizer_is_lossless(temperature: float) -> None:
    target = tiny_llama(seed=0, layers=3, vocab=len(TARGET_TOK))
    draft = tiny_llama(seed=4, layers=2, vocab=len(DRAFT_TOK))
    prompt = TARGET_TOK.encode("the cat sat on the mat. the cat sat on")
    sampling = SamplingConfig(temperature=temperature)
    expected, _ = generate(target, None, prompt, 30, MethodConfig(sampling=sampling), seed=3)
    drafter = CrossTokenizerDrafter(draft, TARGET_TOK, DRAFT_TOK)
    output, trace = generate(
        target, drafter, prompt, 30, MethodConfig(method="speculative", gamma=4, sampling=sampling), seed=3
    )
    if temperature == 0.0:
        assert output == expected
    assert len(output) == 30
    infos = [step.extra["cross_tokenizer"] for step in trace.steps if "cross_tokenizer" in step.extra]
    assert infos and all("retokenized_ids" in info and "boundary" in info for info in infos)
    for step in trace.steps:  # a deterministic draft: q is a point mass on each drafted token
        assert all(record.q == 1.0 for record in step.draft)
