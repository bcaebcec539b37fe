"""Per-token quantities of a causal LM over texts: one forward pass per model per text, texts batched.

torch is imported inside the functions: the web process imports this package for its names (SCORES, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Report = Callable[[float, str], None]


@dataclass
class TokenQuantities:
    """One model over one text. Arrays have one entry per *scored* token: token i >= 1 of the tokenized text,
    predicted from tokens < i (the first token, often BOS, has no prediction and is not scored)."""

    model_name: str
    tokenizer_hash: str
    text: str
    """The part of the text the scored tokens cover (the whole text unless truncated)."""
    token_ids: np.ndarray
    """int64 [n + 1]: every token fed to the model (after truncation), the unscored first one included."""
    tokens: list[str]
    """The scored tokens' strings as the tokenizer spells them, [n]."""
    offsets: list[tuple[int, int]] | None
    """Character spans of the scored tokens in the text, [n] (None for tokenizers without offsets)."""
    logp: np.ndarray
    """float64 [n]: log p(x_i | x_<i)."""
    rank: np.ndarray
    """int64 [n]: 1-based rank of x_i among the vocabulary (1 + number of strictly more likely tokens)."""
    entropy: np.ndarray
    """float64 [n]: entropy of the next-token distribution (nats)."""
    mu: np.ndarray
    """float64 [n]: E_{v~p_i}[log p_i(v)] (= -entropy)."""
    sigma2: np.ndarray
    """float64 [n]: Var_{v~p_i}[log p_i(v)]."""
    max_logp: np.ndarray
    """float64 [n]: log-probability of the most likely token."""
    truncated: bool
    """True when the text had more tokens than the limit and only its first tokens were scored."""
    n_text_tokens: int
    """Tokens of the whole text before truncation (special tokens included)."""

    @property
    def n(self) -> int:
        return int(self.logp.shape[0])


@dataclass
class PairQuantities:
    """Cross quantities of the model (A) and a second model (B) sharing its tokenizer, over the same scored tokens."""

    second: TokenQuantities
    """B's own quantities over the text."""
    mu_a_under_b: np.ndarray
    """E_{v~B_i}[log A_i(v)] [n] (Fast-DetectGPT with A scoring and B sampling)."""
    var_a_under_b: np.ndarray
    mu_b_under_a: np.ndarray
    """E_{v~A_i}[log B_i(v)] [n] (Binoculars' cross-entropy with A observing and B performing)."""
    var_b_under_a: np.ndarray


def compute_quantities(
    model: Any,
    tokenizer: Any,
    texts: list[str],
    *,
    batch_size: int = 8,
    max_tokens: int = 1024,
    report: Report | None = None,
    name: str | None = None,
) -> list[TokenQuantities]:
    """Per-token quantities of ``model`` for each text (see the module docstring of ``workers.detection.forward``)."""
    from workers.detection.forward import run_quantities

    return [q for q, _ in run_quantities(model, None, tokenizer, texts, batch_size, max_tokens, report, name, None)]


def compute_pair_quantities(
    model: Any,
    second: Any,
    tokenizer: Any,
    texts: list[str],
    *,
    second_tokenizer: Any,
    batch_size: int = 8,
    max_tokens: int = 1024,
    report: Report | None = None,
    name: str | None = None,
    second_name: str | None = None,
) -> list[tuple[TokenQuantities, PairQuantities]]:
    """Both models' quantities and their cross quantities, one forward per model per text. The two tokenizers
    must be the same (same vocabulary): DetectionInputError otherwise."""
    from workers.detection.forward import run_quantities

    results = run_quantities(
        model, second, tokenizer, texts, batch_size, max_tokens, report, name, (second_tokenizer, second_name)
    )
    pairs: list[tuple[TokenQuantities, PairQuantities]] = []
    for q, pair in results:
        assert pair is not None
        pairs.append((q, pair))
    return pairs
