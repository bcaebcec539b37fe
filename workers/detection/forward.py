"""The batched forward behind ``compute_quantities``: one forward per model per text.

Batching and padding: texts are tokenized one by one (the tokenizer's own special tokens, as the official scripts
tokenize), sorted by length so a batch holds texts of similar lengths, and right-padded to the batch's longest text
with an attention mask. With right padding every real token keeps the position ids and the causal context it has
alone, so a padded row's logits equal the text's unbatched logits (tested to 1e-5 in float32); the padded positions
are never read. A batch is bounded by ``batch_size`` texts and by ``LOGITS_BUDGET_BYTES`` of float32 logits
(Gemma 3's 262k-token vocabulary makes logits, not weights, the memory peak), and the per-token statistics are
reduced in chunks of positions, on CPU small enough to stay in cache (``CPU_STATS_CHUNK_ELEMENTS``).

Length rule: a text longer than ``max_tokens`` (or the model's context, if smaller) keeps its first tokens; the
result says ``truncated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workers.detection.errors import DetectionInputError
from workers.detection.frequency import tokenizer_fingerprint
from workers.detection.quantities import PairQuantities, Report, TokenQuantities

LOGITS_BUDGET_BYTES = 1 << 30
"""At most this many bytes of float32 logits per model per batch."""
STATS_CHUNK_ELEMENTS = 1 << 24
"""Positions x vocabulary reduced at once on an accelerator (few large kernels)."""
CPU_STATS_CHUNK_ELEMENTS = 1 << 18
"""The same on CPU: 1 MiB of float32 per scratch buffer, so the chain of passes over a chunk (log_softmax, exp,
products, sums, comparison) stays in cache. Whole-text chunks (12 MiB each for 64 tokens of a 49k vocabulary) went to
main memory on every pass and made these statistics 4-5x slower; the values are bitwise the same (each row is reduced
on its own)."""


@dataclass
class _Encoded:
    index: int
    text: str
    ids: list[int]
    offsets: list[tuple[int, int]] | None
    n_text_tokens: int
    truncated: bool


def context_length(model: Any) -> int | None:
    config = getattr(model, "config", None)
    if config is None:
        return None
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    value = getattr(text_config, "max_position_embeddings", None)
    return value if isinstance(value, int) and value > 0 else None


def encode_texts(tokenizer: Any, texts: list[str], limit: int) -> list[_Encoded]:
    """Tokenize each text; fewer than 2 tokens (nothing to predict) is a DetectionInputError."""
    if not texts:
        raise DetectionInputError("no texts to score")
    with_offsets = bool(getattr(tokenizer, "is_fast", False))
    encoded: list[_Encoded] = []
    for index, text in enumerate(texts):
        if not isinstance(text, str) or not text:
            raise DetectionInputError(f"text {index} is empty")
        enc = tokenizer(text, add_special_tokens=True, return_offsets_mapping=with_offsets)
        ids = [int(t) for t in enc["input_ids"]]
        if len(ids) < 2:
            raise DetectionInputError(
                f"text {index} has {len(ids)} token(s); at least 2 are needed (the first token is not predicted)"
            )
        offsets = [(int(a), int(b)) for a, b in enc["offset_mapping"]] if with_offsets else None
        truncated = len(ids) > limit
        encoded.append(
            _Encoded(
                index=index,
                text=text,
                ids=ids[:limit],
                offsets=offsets[:limit] if offsets is not None else None,
                n_text_tokens=len(ids),
                truncated=truncated,
            )
        )
    return encoded


def _batches(encoded: list[_Encoded], batch_size: int, vocab: int) -> list[list[_Encoded]]:
    by_length = sorted(encoded, key=lambda e: len(e.ids), reverse=True)
    max_tokens = max(1, LOGITS_BUDGET_BYTES // (4 * vocab))
    batches: list[list[_Encoded]] = []
    current: list[_Encoded] = []
    for item in by_length:
        longest = len(current[0].ids) if current else len(item.ids)
        if current and (len(current) == batch_size or (len(current) + 1) * longest > max_tokens):
            batches.append(current)
            current = []
        current.append(item)
    if current:
        batches.append(current)
    return batches


def _logits(model: Any, batch: list[_Encoded], pad_id: int) -> Any:
    import torch

    device = next(model.parameters()).device
    width = len(batch[0].ids)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, item in enumerate(batch):
        input_ids[row, : len(item.ids)] = torch.tensor(item.ids)
        mask[row, : len(item.ids)] = 1
    with torch.inference_mode():
        out = model(input_ids=input_ids.to(device), attention_mask=mask.to(device), use_cache=False)
    return out.logits


def _chunks(logits: Any) -> list[tuple[int, int]]:
    """Row ranges of at least 2 rows each (unless there is only 1): torch reduces a single row with another
    summation order than a [rows >= 2, V] block, which would change the last bits of mu and sigma2."""
    budget = CPU_STATS_CHUNK_ELEMENTS if logits.device.type == "cpu" else STATS_CHUNK_ELEMENTS
    total = logits.shape[0]
    rows = max(2, budget // logits.shape[-1])
    starts = list(range(0, total, rows))
    if len(starts) > 1 and total - starts[-1] == 1:
        starts.pop()  # the last chunk takes the lone row: rows + 1 of them
    return list(zip(starts, [*starts[1:], total], strict=True))


def _scratch(logits: Any, chunks: list[tuple[int, int]], count: int) -> list[Any]:
    """``count`` float32 buffers as large as the largest chunk, reused by every chunk."""
    import torch

    rows = max(stop - start for start, stop in chunks)
    return [torch.empty((rows, logits.shape[-1]), dtype=torch.float32, device=logits.device) for _ in range(count)]


def _own_stats(logits: Any, labels: Any) -> dict[str, np.ndarray]:
    """Per-position statistics of one model's logits [L, V] for the tokens ``labels`` [L].

    The same float32 operations as the plain ``lp = log_softmax(x); p = lp.exp(); (p * lp).sum(-1)``, ..., written
    into scratch buffers reused across chunks (no allocation per pass)."""
    import torch

    chunks = _chunks(logits)
    lp_buffer, p_buffer, product_buffer = _scratch(logits, chunks, 3)
    above_buffer = torch.empty(lp_buffer.shape, dtype=torch.bool, device=logits.device)
    parts: dict[str, list[Any]] = {key: [] for key in ("logp", "rank", "mu", "sigma2", "max_logp")}
    for start, stop in chunks:
        chunk = logits[start:stop].float()
        target = labels[start:stop, None]
        n = stop - start
        lp, p, product = lp_buffer[:n], p_buffer[:n], product_buffer[:n]
        torch.log_softmax(chunk, dim=-1, out=lp)
        torch.exp(lp, out=p)
        mu = torch.mul(p, lp, out=product).sum(-1)
        parts["mu"].append(mu)
        parts["sigma2"].append(torch.square(lp, out=product).mul_(p).sum(-1) - mu.square())
        parts["logp"].append(lp.gather(-1, target)[:, 0])
        parts["rank"].append(torch.gt(chunk, chunk.gather(-1, target), out=above_buffer[:n]).sum(-1) + 1)
        parts["max_logp"].append(lp.amax(-1))
    result = {key: torch.cat(values).cpu().numpy() for key, values in parts.items()}
    stats = {key: value.astype(np.int64 if key == "rank" else np.float64) for key, value in result.items()}
    stats["entropy"] = -stats["mu"]
    return stats


def _cross_stats(scorer: Any, sampler: Any) -> tuple[np.ndarray, np.ndarray]:
    """E and Var over v ~ softmax(sampler) of log_softmax(scorer)[v], per position (both [L, V])."""
    import torch

    chunks = _chunks(scorer)
    lp_buffer, q_buffer, product_buffer = _scratch(scorer, chunks, 3)
    means, variances = [], []
    for start, stop in chunks:
        n = stop - start
        lp, q, product = lp_buffer[:n], q_buffer[:n], product_buffer[:n]
        torch.log_softmax(scorer[start:stop].float(), dim=-1, out=lp)
        torch.softmax(sampler[start:stop].float(), dim=-1, out=q)
        mean = torch.mul(q, lp, out=product).sum(-1)
        means.append(mean)
        variances.append(torch.square(lp, out=product).mul_(q).sum(-1) - mean.square())
    return (
        torch.cat(means).cpu().numpy().astype(np.float64),
        torch.cat(variances).cpu().numpy().astype(np.float64),
    )


def _quantities(item: _Encoded, stats: dict[str, np.ndarray], tokenizer: Any, name: str, fp: str) -> TokenQuantities:
    ids = np.asarray(item.ids, dtype=np.int64)
    covered = item.text
    if item.truncated:
        covered = item.text[: item.offsets[-1][1]] if item.offsets else tokenizer.decode(item.ids)
    return TokenQuantities(
        model_name=name,
        tokenizer_hash=fp,
        text=covered,
        token_ids=ids,
        tokens=[str(t) for t in tokenizer.convert_ids_to_tokens(item.ids[1:])],
        offsets=item.offsets[1:] if item.offsets is not None else None,
        logp=stats["logp"],
        rank=stats["rank"],
        entropy=stats["entropy"],
        mu=stats["mu"],
        sigma2=stats["sigma2"],
        max_logp=stats["max_logp"],
        truncated=item.truncated,
        n_text_tokens=item.n_text_tokens,
    )


def _name(model: Any, name: str | None) -> str:
    config = getattr(model, "config", None)
    return name or str(getattr(config, "name_or_path", "") or type(model).__name__)


def run_quantities(
    model: Any,
    second: Any | None,
    tokenizer: Any,
    texts: list[str],
    batch_size: int,
    max_tokens: int,
    report: Report | None,
    name: str | None,
    second_info: tuple[Any, str | None] | None,
) -> list[tuple[TokenQuantities, PairQuantities | None]]:
    import torch

    if batch_size < 1:
        raise DetectionInputError(f"batch_size must be at least 1, got {batch_size}")
    fingerprint = tokenizer_fingerprint(tokenizer)
    limits = [max_tokens, context_length(model) or max_tokens]
    second_name = ""
    if second is not None:
        assert second_info is not None
        second_tokenizer, second_label = second_info
        if tokenizer_fingerprint(second_tokenizer) != fingerprint:
            raise DetectionInputError(
                "the two models use different tokenizers; Binoculars and two-model Fast-DetectGPT need a pair that "
                "shares one (the same vocabulary)"
            )
        limits.append(context_length(second) or max_tokens)
        second_name = _name(second, second_label)
    limit = min(limits)
    if limit < 2:
        raise DetectionInputError(f"max_tokens must be at least 2, got {max_tokens}")
    encoded = encode_texts(tokenizer, texts, limit)
    vocab = int(getattr(getattr(model, "config", None), "vocab_size", 0) or len(tokenizer))
    if second is not None:
        vocab += int(getattr(second.config, "vocab_size", 0) or len(tokenizer))
    pad_id = next(t for t in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0) if t is not None)
    model_name = _name(model, name)
    results: dict[int, tuple[TokenQuantities, PairQuantities | None]] = {}
    batches = _batches(encoded, batch_size, vocab)
    for done, batch in enumerate(batches, start=1):
        logits = _logits(model, batch, pad_id)
        second_logits = _logits(second, batch, pad_id) if second is not None else None
        for row, item in enumerate(batch):
            length = len(item.ids)
            labels = torch.tensor(item.ids[1:], device=logits.device)
            own = _quantities(item, _own_stats(logits[row, : length - 1], labels), tokenizer, model_name, fingerprint)
            pair = None
            if second_logits is not None:
                a = logits[row, : length - 1]
                b = second_logits[row, : length - 1].to(a.device)
                width = min(a.shape[-1], b.shape[-1])  # as Fast-DetectGPT: padded vocabularies cut to the shorter
                other = _quantities(item, _own_stats(b, labels), tokenizer, second_name, fingerprint)
                mu_ab, var_ab = _cross_stats(a[:, :width], b[:, :width])
                mu_ba, var_ba = _cross_stats(b[:, :width], a[:, :width])
                pair = PairQuantities(
                    second=other, mu_a_under_b=mu_ab, var_a_under_b=var_ab, mu_b_under_a=mu_ba, var_b_under_a=var_ba
                )
            results[item.index] = (own, pair)
        del logits, second_logits
        if report is not None:
            report(done / len(batches), f"scored {sum(len(b) for b in batches[:done])} of {len(encoded)} texts")
    return [results[i] for i in range(len(encoded))]
