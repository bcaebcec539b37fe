"""Every score against a value computed by hand on the bigram model of ``bigram.py`` (known probabilities).

The text "a b c d d" is <bos> a b c d d; its five scored tokens are predicted from <bos>, a, b, c, d, i.e. with the
rows P0, P0, P1, P2, P2 of the table. In units of ln 2: log p = -1, -2, -2, -1, -1 (a|<bos> 1/2, b|a 1/4,
c|b 1/4, d|c 1/2, d|d 1/2); ranks 1, 2, 1 (a four-way tie counts as rank 1), 1, 1; entropies 1.75, 1.75, 2, 1.75, 1.75;
the variance of log p under P0 (and P2) is 3.75 - 1.75^2 = 0.6875, under P1 0.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from tests.workers.detection.bigram import TABLE, UNIFORM, BigramLM, bigram_tokenizer
from workers.detection import (
    DetectionInputError,
    DetectionModel,
    FrequencyTable,
    ScoreContext,
    ScoreParams,
    TokenQuantities,
    compute_pair_quantities,
    compute_quantities,
    score_text,
    score_texts,
)
from workers.detection.lastde import diversity_entropy, lastde_score, multiscale_des

LN2 = math.log(2)
TEXT = "a b c d d"
SIGMA = math.sqrt(0.6875)


@pytest.fixture(scope="module")
def tokenizer():
    return bigram_tokenizer()


@pytest.fixture(scope="module")
def model() -> DetectionModel:
    return DetectionModel(BigramLM(TABLE), bigram_tokenizer(), "bigram")


def scores_of(model: DetectionModel, names: list[str], **kwargs) -> dict:
    return score_texts([TEXT], model=model, scores=names, **kwargs)[0]


def test_per_token_quantities_equal_the_table(model: DetectionModel) -> None:
    """Catches an off-by-one between logits and labels (scoring x_i with the distribution after x_i) or a wrong rank
    rule (ties must not push a token down)."""
    q = compute_quantities(model.model, model.tokenizer, [TEXT])[0]
    assert q.tokens == ["a", "b", "c", "d", "d"]
    assert q.offsets == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    np.testing.assert_allclose(q.logp, np.array([-1, -2, -2, -1, -1]) * LN2, atol=1e-6)
    assert q.rank.tolist() == [1, 2, 1, 1, 1]
    np.testing.assert_allclose(q.entropy, np.array([1.75, 1.75, 2, 1.75, 1.75]) * LN2, atol=1e-6)
    np.testing.assert_allclose(q.sigma2, np.array([0.6875, 0.6875, 0, 0.6875, 0.6875]) * LN2**2, atol=1e-6)
    np.testing.assert_allclose(q.max_logp, np.array([-1, -1, -2, -1, -1]) * LN2, atol=1e-6)
    assert not q.truncated


def test_single_model_scores_by_hand(model: DetectionModel) -> None:
    """Catches a wrong formula or sign in any single-model score (loss, perplexity, zlib, Min-K%, Min-K%++,
    log-likelihood, log-rank, entropy, LRR, GLTR, Fast-DetectGPT with one model)."""
    names = [
        "loss",
        "perplexity",
        "zlib",
        "min_k",
        "min_k_plus_plus",
        "log_likelihood",
        "log_rank",
        "entropy",
        "lrr",
        "gltr",
        "fast_detectgpt",
    ]
    got = scores_of(model, names)["scores"]
    loss = 1.4 * LN2  # (1 + 2 + 2 + 1 + 1) / 5
    expected = {
        "loss": loss,
        "perplexity": 2**1.4,
        "zlib": loss / len(zlib.compress(TEXT.encode())),
        "min_k": -2 * LN2,  # max(1, int(5 * 0.2)) = 1 lowest log p
        "min_k_plus_plus": (-2 + 1.75) / SIGMA,  # z = .75/s, -.25/s, 0 (P1 has no spread), .75/s, .75/s
        "log_likelihood": -loss,
        "log_rank": -LN2 / 5,
        "entropy": 1.8 * LN2,
        "lrr": 7.0,  # 7 ln2 / ln 2
        "gltr": 1.0,
        "fast_detectgpt": 2 / math.sqrt(2.75),  # (-7 + 9) ln2 / sqrt(4 * 0.6875) ln2
    }
    assert got == pytest.approx(expected, abs=1e-6)


def test_min_k_uses_the_k_lowest_tokens(model: DetectionModel) -> None:
    """Catches a k that is ignored or a mean over the highest instead of the lowest values."""
    got = scores_of(model, ["min_k", "min_k_plus_plus"], params=ScoreParams(k=0.4))
    assert got["scores"]["min_k"] == pytest.approx(-2 * LN2, abs=1e-6)  # -2, -2
    assert got["scores"]["min_k_plus_plus"] == pytest.approx((-0.25 / SIGMA + 0) / 2, abs=1e-6)
    assert got["marks"]["min_k"] == [1, 2]


def test_dcpdd_by_hand_first_occurrences_smoothed_and_clipped(model: DetectionModel) -> None:
    """Catches counting repeated tokens (the second d), the raw instead of the Laplace-smoothed frequency (c and d
    never occur in the corpus: raw f = 0), and a missing or misplaced clip at a."""
    table = FrequencyTable.build(model.tokenizer, ["a a a b"], corpus_name="hand")
    assert table.counts.tolist() == [3, 1, 0, 0, 1, 0]  # <bos> counted, as the scorer tokenizes
    # f = (count + 1) / (5 + 6): a 4/11, b 2/11, c 1/11, d 1/11
    contributions = [0.5 * math.log(11 / 4), 0.25 * math.log(11 / 2), 0.25 * math.log(11), min(0.5 * math.log(11), 1.0)]
    got = scores_of(model, ["dcpdd"], frequency=table, params=ScoreParams(dcpdd_a=1.0))
    assert got["scores"]["dcpdd"] == pytest.approx(np.mean(contributions), abs=1e-6)
    assert got["marks"]["dcpdd_repeated"] == [4]
    assert got["marks"]["dcpdd_clipped"] == [3, 4]
    assert scores_of(model, ["dcpdd"], frequency=table)["scores"]["dcpdd"] == pytest.approx(0.01)


def test_ratio_scores_by_hand(model: DetectionModel, tokenizer) -> None:
    """Catches an inverted ratio (reference over target) or a ratio of perplexities instead of log perplexities."""
    uniform = DetectionModel(BigramLM(UNIFORM, "uniform"), tokenizer, "uniform")
    got = scores_of(model, ["reference"], reference=uniform)["scores"]
    assert got["reference"] == pytest.approx(1.4 / 2.0, abs=1e-6)  # 1.4 ln2 / 2 ln2
    other = compute_quantities(model.model, model.tokenizer, ["a a"])[0]  # log p = -1, -1: loss ln 2
    q = compute_quantities(model.model, model.tokenizer, [TEXT])[0]
    result = score_text(q, scores=["lowercase"], params=ScoreParams(), extra=ScoreContext(lowercase=other))
    assert result["scores"]["lowercase"] == pytest.approx(1.4, abs=1e-6)


def test_binoculars_roles_by_hand(model: DetectionModel, tokenizer) -> None:
    """Catches swapped observer/performer roles: PPL comes from the performer's log-probabilities and the
    cross-entropy weights the performer's log-probabilities with the observer's probabilities (official code)."""
    observer = DetectionModel(BigramLM(UNIFORM, "uniform"), tokenizer, "uniform")
    got = score_texts([TEXT], model=observer, scores=["binoculars"], second=model)[0]
    # performer = table: log PPL 1.4 ln2; cross-entropy -sum_v 1/4 log P(v): 2.25 (P0, P2) or 2 (P1) ln2 -> mean 2.2
    assert got["scores"]["binoculars"] == pytest.approx(1.4 / 2.2, abs=1e-6)
    swapped = score_texts([TEXT], model=model, scores=["binoculars"], second=observer)[0]
    assert swapped["scores"]["binoculars"] == pytest.approx(1.0, abs=1e-6)  # 2 ln2 / 2 ln2


def test_fast_detectgpt_with_a_sampling_model_by_hand(model: DetectionModel, tokenizer) -> None:
    """Catches using the scoring model's own mean and variance when a separate sampling model is given."""
    sampler = DetectionModel(BigramLM(UNIFORM, "uniform"), tokenizer, "uniform")
    got = score_texts([TEXT], model=model, scores=["fast_detectgpt"], second=sampler)[0]
    # mu~ = E_uniform[log P] = -2.25, -2.25, -2, -2.25, -2.25 (sum -11); var~ = 0.6875 x 4 (P1: 0)
    assert got["scores"]["fast_detectgpt"] == pytest.approx((-7 + 11) / math.sqrt(2.75), abs=1e-6)
    np.testing.assert_allclose(
        got["per_token"]["fast_detectgpt"], np.array([1.25, 0.25, 0, 1.25, 1.25]) * LN2, atol=1e-6
    )


def test_gltr_bucket_edges() -> None:
    """Catches an off-by-one at the bucket edges (rank 10 is top-10, 11 is top-100, 1001 is 'rest')."""
    ranks = np.array([1, 10, 11, 100, 101, 1000, 1001])
    q = TokenQuantities(
        model_name="m",
        tokenizer_hash="h",
        text="x",
        token_ids=np.zeros(8, dtype=np.int64),
        tokens=["t"] * 7,
        offsets=None,
        logp=np.full(7, -1.0),
        rank=ranks,
        entropy=np.ones(7),
        mu=-np.ones(7),
        sigma2=np.ones(7),
        max_logp=np.zeros(7),
        truncated=False,
        n_text_tokens=8,
    )
    result = score_text(q, scores=["gltr"], params=ScoreParams())
    assert result["details"]["gltr"] == {"top10": 2, "top100": 2, "top1000": 2, "rest": 1}
    assert result["per_token"]["gltr_bucket"] == [0, 0, 1, 1, 2, 2, 3]
    assert result["scores"]["gltr"] == pytest.approx(2 / 7)


def test_lastde_diversity_entropy_matches_the_official_worked_example() -> None:
    """Catches a wrong orbit/cosine/histogram/entropy step: the official fastMDE docstring works [1, 2, 13, 7, 9, 5,
    4] with m = 3 and 10 bins to DE = 0.30103 at scale 1 and 0 at scales 2 and 3 (similarities 0.605, 0.699, 0.924,
    0.931 fall in two bins equally: DE = ln 2 / ln 10)."""
    series = np.array([1, 2, 13, 7, 9, 5, 4], dtype=np.float64)
    assert diversity_entropy(series, 3, 10) == pytest.approx(math.log10(2), abs=1e-12)
    assert multiscale_des(series, 3, 10, 3) == pytest.approx([math.log10(2), 0.0, 0.0], abs=1e-12)
    # Lastde = mean(s) / std(DE_1..DE_T) with torch.std's default ddof = 1, and eps = factor x n bins (here 70)
    expected = series.mean() / np.std(multiscale_des(series, 3, 70, 3), ddof=1)
    assert lastde_score(series, embed=3, epsilon_factor=10, scales=3) == pytest.approx(expected, abs=1e-12)


def test_lastde_is_undefined_for_short_texts(model: DetectionModel) -> None:
    """Catches a NaN or crash instead of a stated 'undefined' for texts shorter than scales + embed tokens."""
    got = scores_of(model, ["lastde"])
    assert got["scores"]["lastde"] is None
    assert any("lastde" in note for note in got["notes"])


def test_truncation_keeps_the_first_tokens_and_says_so(model: DetectionModel) -> None:
    """Catches a silent truncation or one that keeps the wrong end of the text."""
    q = compute_quantities(model.model, model.tokenizer, [TEXT], max_tokens=3)[0]
    assert q.truncated and q.n == 2 and q.n_text_tokens == 6
    assert q.text == "a b"
    np.testing.assert_allclose(q.logp, [-LN2, -2 * LN2], atol=1e-6)


def test_empty_and_one_token_texts_are_user_errors(model: DetectionModel) -> None:
    """Catches an empty or one-token text reaching the model (an IndexError / NaN instead of a 400)."""
    from transformers import AutoTokenizer

    with pytest.raises(DetectionInputError, match="text 1 is empty"):
        compute_quantities(model.model, model.tokenizer, ["a b", ""])
    smol = AutoTokenizer.from_pretrained("var/models/models/smollm2-135m-instruct")  # adds no BOS: "Hello" is 1 token
    with pytest.raises(DetectionInputError, match="1 token"):
        compute_quantities(model.model, smol, ["Hello"])


def test_missing_inputs_are_user_errors(model: DetectionModel) -> None:
    """Catches a score that silently returns nothing when its frequency table / second model is missing, an unknown
    score name, or a k outside (0, 1]."""
    with pytest.raises(DetectionInputError, match="frequency table"):
        scores_of(model, ["dcpdd"])
    with pytest.raises(DetectionInputError, match="second model"):
        scores_of(model, ["binoculars"])
    with pytest.raises(DetectionInputError, match="reference model"):
        scores_of(model, ["reference"])
    with pytest.raises(DetectionInputError, match="unknown scores"):
        scores_of(model, ["nope"])
    with pytest.raises(DetectionInputError, match="k must be"):
        scores_of(model, ["min_k"], params=ScoreParams(k=0))


def test_a_frequency_table_for_another_tokenizer_is_refused(model: DetectionModel) -> None:
    """Catches DC-PDD silently indexing another tokenizer's counts."""
    from transformers import AutoTokenizer

    other = AutoTokenizer.from_pretrained("var/models/models/smollm2-135m-instruct")
    table = FrequencyTable.build(other, ["a b"], corpus_name="x")
    with pytest.raises(DetectionInputError, match="another tokenizer"):
        scores_of(model, ["dcpdd"], frequency=table)


def test_a_pair_with_different_tokenizers_is_refused(model: DetectionModel) -> None:
    """Catches Binoculars run across two vocabularies (the cross-entropy would pair unrelated token ids)."""
    from transformers import AutoTokenizer

    other = AutoTokenizer.from_pretrained("var/models/models/smollm2-135m-instruct")
    with pytest.raises(DetectionInputError, match="different tokenizers"):
        compute_pair_quantities(model.model, BigramLM(UNIFORM), model.tokenizer, [TEXT], second_tokenizer=other)
