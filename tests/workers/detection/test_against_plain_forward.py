"""Batched scoring (right padding, one forward per model per batch) equals an independent plain implementation
(one text at a time, no padding): on the bundled SmolLM2-135M-Instruct in float32 to 1e-5, and on tiny random
Llama and sliding-window Gemma 3 models. Slow on a shared CPU: about a minute."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from tests.workers.detection import reference_impl as ref
from tests.workers.detection.bigram import bigram_tokenizer
from tests.workers.tiny_models import tiny_gemma3_model, tiny_llama_model
from workers.detection import SCORES, DetectionModel, FrequencyTable, ScoreParams, compute_quantities, score_texts
from workers.models.catalog import resolve_model
from workers.models.registry import get_model

TEXTS = [
    "Paris is the capital and most populous city of France, with an estimated population of two million.",
    "The cat sat on the mat.",
    "In 1905 Albert Einstein published four papers that changed physics: on the photoelectric effect, Brownian "
    "motion, special relativity and the equivalence of mass and energy. Few years in science compare with it.",
]
CORPUS = ["The city of Paris is in France.", "Einstein was a physicist who worked in Bern.", "The cat is on the mat."]


class Tempered(nn.Module):
    """A second model sharing SmolLM2's tokenizer: the same network with its logits halved."""

    def __init__(self, base: Any) -> None:
        super().__init__()
        self.base = base
        self.config = base.config

    def forward(self, **kwargs: Any) -> Any:
        out = self.base(**kwargs)
        out.logits = out.logits * 0.5
        return out


@pytest.fixture(scope="module")
def smollm2() -> Any:
    if not resolve_model("smollm2-135m-instruct").available:
        pytest.fail("smollm2-135m-instruct is not in the model store (python -m workers.model_store prepare)")
    torch.set_num_threads(2)
    return get_model("smollm2-135m-instruct")


def test_every_score_equals_the_plain_implementation_on_smollm2(smollm2: Any) -> None:
    """Catches padding leaking into real tokens (left padding without position ids, a missing attention mask), rows
    or texts mixed up by the length sort, a batching-only numerical path, and any formula that differs from the
    straightforward one (Binoculars roles, Fast-DetectGPT with a sampling model, DC-PDD first occurrences, Lastde)."""
    model, tokenizer = smollm2.model, smollm2.tokenizer
    tempered = Tempered(model)
    table = FrequencyTable.build(tokenizer, CORPUS, corpus_name="tiny")
    counts = Counter(t for text in CORPUS for t in tokenizer(text).input_ids)
    frequency = np.array([(counts[i] + 1) / (sum(counts.values()) + len(tokenizer)) for i in range(len(tokenizer))])
    results = score_texts(
        TEXTS,
        model=DetectionModel(model, tokenizer, "smollm2"),
        scores=list(SCORES),
        reference=DetectionModel(tempered, tokenizer, "tempered"),
        second=DetectionModel(tempered, tokenizer, "tempered"),
        frequency=table,
        batch_size=3,
    )
    for text, result in zip(TEXTS, results, strict=True):
        own = ref.plain(model, tokenizer, text)
        lower = ref.plain(model, tokenizer, text.lower())
        half = {**own, **ref.plain(model, tokenizer, text, scale=0.5)}
        expected = ref.scores(text, own, lower, half, half, frequency, 0.01)
        assert set(result["scores"]) == set(expected)
        for name, value in expected.items():
            assert result["scores"][name] == (None if value is None else pytest.approx(value, rel=1e-5, abs=1e-5)), name
        np.testing.assert_allclose(result["per_token"]["logp"], own["logp"], rtol=1e-5, atol=1e-5)
        assert result["per_token"]["rank"] == own["rank"].tolist()


def test_truncation_scores_the_first_max_tokens(smollm2: Any) -> None:
    """Catches a truncation that keeps the end of the text or scores a different number of tokens than stated."""
    q = compute_quantities(smollm2.model, smollm2.tokenizer, TEXTS[:1], max_tokens=8)[0]
    plain = ref.plain(smollm2.model, smollm2.tokenizer, TEXTS[0], max_tokens=8)
    assert q.truncated and q.n == 7
    np.testing.assert_allclose(q.logp, plain["logp"], rtol=1e-5, atol=1e-5)
    assert TEXTS[0].startswith(q.text) and len(q.text) < len(TEXTS[0])


@pytest.mark.parametrize("architecture", ["llama", "gemma3-sliding-window"])
def test_batched_equals_unbatched_on_tiny_models(architecture: str) -> None:
    """Catches padding that changes the real tokens' logits, also with Gemma 3's sliding-window layers (window 3,
    texts up to 12 tokens) and texts longer than the window."""
    common = {"vocab_size": 6, "max_position_embeddings": 64, "num_hidden_layers": 2}
    if architecture == "llama":
        model = tiny_llama_model(seed=3, **common)
    else:
        model = tiny_gemma3_model(
            seed=3, sliding_window=3, layer_types=["sliding_attention", "full_attention"], **common
        )
    tokenizer = bigram_tokenizer()
    texts = ["a b c d a b c d a b c", "a b", "d c b a d", "c c c c c c c c"]
    batched = compute_quantities(model, tokenizer, texts, batch_size=4)
    for text, q in zip(texts, batched, strict=True):
        plain = ref.plain(model, tokenizer, text)
        np.testing.assert_allclose(q.logp, plain["logp"], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(q.sigma2, plain["sigma2"], atol=1e-5)
        assert q.rank.tolist() == plain["rank"].tolist()


def test_min_k_default_is_twenty_percent() -> None:
    """Catches a changed default k (the papers' 20%)."""
    assert ScoreParams().k == 0.2


def test_gemma3_270m_batched_equals_the_plain_forward() -> None:
    """Catches padding or the chunked statistics going wrong with Gemma 3's 262k vocabulary, its <bos> and its
    sliding-window layers on the real bundled model (one short, padded text and one longer one)."""
    if not resolve_model("gemma-3-270m").available:
        pytest.fail("gemma-3-270m is not in the model store (python -m workers.model_store prepare)")
    gemma = get_model("gemma-3-270m")
    texts = TEXTS[1:2] + TEXTS[:1]
    qs = compute_quantities(gemma.model, gemma.tokenizer, texts, batch_size=2)
    for text, q in zip(texts, qs, strict=True):
        plain = ref.plain(gemma.model, gemma.tokenizer, text)
        assert q.token_ids[0] == gemma.tokenizer.bos_token_id
        np.testing.assert_allclose(q.logp, plain["logp"], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(q.entropy, plain["entropy"], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(q.sigma2, plain["sigma2"], rtol=1e-5, atol=1e-5)
        assert q.rank.tolist() == plain["rank"].tolist()
