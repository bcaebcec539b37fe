"""Speculative decoding on this CPU: our engine against Hugging Face ``generate``, greedy, same prompt, same tokens.

    .venv/bin/python -m bench.speculative_bench [--quick] [--threads N] [--cases edit,code,...]

For every prompt of ``bench.speculative_cases`` it times, with the same number of new tokens:

* HF ``generate`` (greedy) and our autoregressive loop;
* HF ``prompt_lookup_num_tokens=10`` and our prompt lookup (fixed γ = 10, adaptive γ, and fixed γ = 10 drafting
  only on 2- or 3-gram matches);
* HF ``assistant_early_exit=K`` with γ set like ours (and, with ``--hf-ee-defaults``, with HF's default schedule)
  and our early-exit drafter with the same K and γ (SmolLM2 only);
* our DySpec tree drafted by the same early-exit model, and Token Recycling (starting from an empty matrix, and from
  the matrix an unrelated earlier request left);
* the newest distilled draft under ``var/models/drafts/`` when one exists (HF ``assistant_model=`` and ours);
* on Gemma, SmolLM2 as a draft with another tokenizer: HF's universal assisted generation (``assistant_model=`` with
  both tokenizers) and our cross-tokenizer drafter.

Every method is warmed up once, then the methods run interleaved (A, B, C, …, then in reverse order, …) and the
median wall time is reported, because on a shared machine the load drifts during a run. Every output is compared
token for token with HF's greedy output. Timed from the call to the returned tokens, prefill included, for both.

Results are kept per prompt in ``var/bench/speculative.json`` (for the same settings), so a full run can be split
into several invocations of under ten minutes each (``--cases``; ``--cases ""`` only re-renders); each invocation
rewrites the "speculative" section of docs/benchmarks.md from everything measured under those settings, and prints
it. ``--quick`` prints only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.speculative_cases import CASE_NAMES, CASES, GEMMA, RECYCLING_DONOR, Case, case_by_name

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "var" / "bench" / "speculative.json"
DEFAULT_DRAFTS = ROOT / "var" / "models" / "drafts"
SECTION = "speculative"
CROSS_DRAFT = "smollm2-135m-instruct"
"""The draft model of the cross-tokenizer rows (Gemma target)."""

Side = Literal["hf", "ours"]
RunResult = tuple[list[int], Any]
"""(new token ids, our trace summary or None for HF)."""
Runner = Callable[[int], RunResult]


@dataclass(frozen=True)
class Settings:
    new_tokens: int
    repeats: int
    warmup_tokens: int
    threads: int
    exit_layer: int
    ee_gamma: int
    pld_tokens: int
    tree_budget: int
    tree_depth: int
    recycling_budget: int
    trace_top_k: int
    drafts_dir: str
    hf_ee_defaults: bool


@dataclass
class Method:
    key: str
    label: str
    side: Side
    run: Runner
    counterpart: str | None = None
    """The HF row this method is the counterpart of (prompt lookup ↔ prompt lookup, early exit ↔ early exit)."""
    speculative: bool = True


@dataclass
class Row:
    """One method's measurements on one prompt (JSON-serialisable)."""

    key: str
    label: str
    side: str
    counterpart: str | None
    speculative: bool
    seconds: list[float] = field(default_factory=list)
    tokens: int = 0
    matches_hf: bool | None = None
    first_mismatch: int | None = None
    alpha: float | None = None
    acceptance_rate: float | None = None
    tokens_per_target_call: float | None = None
    theoretical_tokens_per_call: float | None = None
    mean_gamma: float | None = None
    theoretical_speedups: list[float] = field(default_factory=list)
    cost_ratios: list[float] = field(default_factory=list)
    target_ms_per_call: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def theoretical(self) -> float | None:
        return statistics.median(self.theoretical_speedups) if self.theoretical_speedups else None

    @property
    def call_ms(self) -> float | None:
        return statistics.median(self.target_ms_per_call) if self.target_ms_per_call else None


# ----------------------------------------------------------------------------------------------------------------
# methods


def encode(text: str, template: str, tokenizer: Any) -> list[int]:
    if template == "chat":
        encoded = tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=True
        )
        ids = encoded["input_ids"] if hasattr(encoded, "keys") else encoded
    else:
        ids = tokenizer(text)["input_ids"]
    return [int(t) for t in ids]


def constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def eos_ids(model: Any, tokenizer: Any) -> tuple[int, ...]:
    """The stop tokens HF ``generate`` uses (the generation config's), plus the tokenizer's EOS."""
    ids: set[int] = set()
    configured = model.generation_config.eos_token_id
    for value in (configured if isinstance(configured, list) else [configured], [tokenizer.eos_token_id]):
        ids.update(int(v) for v in value if v is not None)
    return tuple(sorted(ids))


def draft_folders(root: Path, vocab_size: int) -> list[tuple[str, Path]]:
    """The newest complete distilled draft under ``root`` (or ``root`` itself when it is a model folder) whose
    vocabulary matches the target's; at most one, so a folder of training checkpoints cannot multiply the run."""

    def complete(folder: Path) -> bool:
        return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))

    if complete(root):
        candidates = [root]
    elif root.is_dir():
        candidates = sorted((f for f in root.iterdir() if f.is_dir() and complete(f)), key=lambda f: f.stat().st_mtime)
    else:
        return []
    for folder in reversed(candidates):
        if json.loads((folder / "config.json").read_text()).get("vocab_size") == vocab_size:
            return [(folder.name, folder)]
        print(f"skipping draft {folder}: its vocabulary differs from the target's")
    return []


def build_methods(case: Case, loaded: Any, settings: Settings) -> list[Method]:
    import torch
    from transformers import AutoModelForCausalLM

    from workers.decoding.drafters import EarlyExitDrafter, ModelDrafter, PromptLookupDrafter
    from workers.decoding.engine import MethodConfig, generate
    from workers.decoding.token_recycling import TokenRecyclingDrafter
    from workers.decoding.tree import greedy_template
    from workers.decoding.tree_engine import TreeMethodConfig, generate_tree
    from workers.models.early_exit import build_early_exit_drafter

    model, tokenizer = loaded.model, loaded.tokenizer
    prompt = encode(case.text, case.template, tokenizer)
    eos = eos_ids(model, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    input_ids = torch.tensor([prompt], device=model.device)
    attention = torch.ones_like(input_ids)
    vocab = int(model.config.get_text_config().vocab_size)
    top_k = settings.trace_top_k

    def hf(assistant_config: dict[str, Any] | None = None, **extra: Any) -> Runner:
        """HF ``generate``; ``assistant_config`` is set on the model's generation config for the call only (with
        ``assistant_early_exit`` the assistant is the model itself, and HF reads γ from the assistant's config)."""

        def run(n: int) -> RunResult:
            saved = {key: getattr(model.generation_config, key) for key in assistant_config or {}}
            for key, value in (assistant_config or {}).items():
                setattr(model.generation_config, key, value)
            try:
                with torch.inference_mode():
                    out = model.generate(
                        input_ids,
                        attention_mask=attention,
                        max_new_tokens=n,
                        do_sample=False,
                        eos_token_id=list(eos),
                        pad_token_id=pad,
                        **extra,
                    )
            finally:
                for key, value in saved.items():
                    setattr(model.generation_config, key, value)
            return [int(t) for t in out[0, len(prompt) :].tolist()], None

        return run

    def ours(make_drafter: Callable[[], Any] | None, config: MethodConfig) -> Runner:
        def run(n: int) -> RunResult:
            output, trace = generate(model, make_drafter() if make_drafter else None, prompt, n, config)
            return output, trace.summary

        return run

    def ours_tree(
        config: TreeMethodConfig, draft_model: Any = None, make_drafter: Callable[[], Any] | None = None
    ) -> Runner:
        def run(n: int) -> RunResult:
            drafter = make_drafter() if make_drafter else None
            output, trace = generate_tree(model, prompt, n, config, draft_model=draft_model, drafter=drafter)
            return output, trace.summary

        return run

    def spec(gamma: int, *, adaptive: bool = False, max_gamma: int = 64) -> MethodConfig:
        return MethodConfig(
            method="speculative",
            gamma=gamma,
            adaptive_gamma=adaptive,
            max_gamma=max_gamma,
            eos_token_ids=eos,
            trace_top_k=top_k,
        )

    k, gamma = settings.exit_layer, settings.ee_gamma
    pld = settings.pld_tokens
    lookup = PromptLookupDrafter(2, pld)
    adaptive_lookup = PromptLookupDrafter(2, 32)
    strict_lookup = PromptLookupDrafter(3, pld, min_ngram_size=2)  # no 1-gram fallback
    # γ starts at HF's 10 and follows HF's "heuristic" schedule: +2 after a fully accepted draft, else −1.
    recycling_template = greedy_template(
        (0.55, 0.2, 0.1, 0.06, 0.04, 0.03, 0.02), budget=settings.recycling_budget, max_depth=6
    )
    methods = [
        Method("hf_generate", "HF generate", "hf", hf(), speculative=False),
        Method(
            "ours_ar",
            "ours autoregressive",
            "ours",
            ours(None, MethodConfig(eos_token_ids=eos, trace_top_k=top_k)),
            counterpart="hf_generate",
            speculative=False,
        ),
        Method("hf_pld", f"HF prompt_lookup_num_tokens={pld}", "hf", hf(prompt_lookup_num_tokens=pld)),
        Method(
            "ours_pld", f"ours prompt lookup γ={pld}", "ours", ours(lambda: lookup, spec(pld)), counterpart="hf_pld"
        ),
        Method(
            "ours_pld_adaptive",
            f"ours prompt lookup, adaptive γ ({pld}, +2/−1, ≤ 32)",
            "ours",
            ours(lambda: adaptive_lookup, spec(pld, adaptive=True, max_gamma=32)),
            counterpart="hf_pld",
        ),
        Method(
            "ours_pld_min2",
            f"ours prompt lookup γ={pld}, 2–3-gram matches only",
            "ours",
            ours(lambda: strict_lookup, spec(pld)),
            counterpart="hf_pld",
        ),
    ]
    if case.model != GEMMA:  # Gemma's 262k-entry LM head alone costs more than half a target step: no early exit
        same_gamma = {
            "num_assistant_tokens": gamma,
            "num_assistant_tokens_schedule": "constant",
            "assistant_confidence_threshold": 0.0,  # no early stop of a draft: exactly γ tokens, like ours
        }
        early = EarlyExitDrafter(build_early_exit_drafter(model, k), exit_layer=k)
        tree_draft = build_early_exit_drafter(model, k)
        tree_config = TreeMethodConfig(
            method="tree_dyspec",
            node_budget=settings.tree_budget,
            max_depth=settings.tree_depth,
            max_children=4,
            eos_token_ids=eos,
            trace_top_k=top_k,
        )
        if settings.hf_ee_defaults:
            methods.append(
                Method(
                    "hf_ee_default",
                    f"HF assistant_early_exit={k} (HF defaults: 20 tokens, confidence 0.4)",
                    "hf",
                    hf(assistant_early_exit=k),
                )
            )
        methods += [
            Method(
                "hf_ee",
                f"HF assistant_early_exit={k}, γ={gamma}",
                "hf",
                hf(same_gamma, assistant_early_exit=k),
            ),
            Method(
                "ours_ee",
                f"ours early exit {k} layers, γ={gamma}",
                "ours",
                ours(lambda: early, spec(gamma)),
                counterpart="hf_ee",
            ),
            Method(
                "ours_tree",
                f"ours DySpec tree, early exit {k}, ≤{settings.tree_budget} nodes",
                "ours",
                ours_tree(tree_config, draft_model=tree_draft),
                counterpart="hf_ee",
            ),
        ]
    recycling_config = TreeMethodConfig(
        method="token_recycling", template=recycling_template, eos_token_ids=eos, trace_top_k=top_k
    )
    donor = TokenRecyclingDrafter(vocab, 8, recycling_template)
    generate_tree(
        model,
        encode(RECYCLING_DONOR[case.template], case.template, tokenizer),
        settings.new_tokens,
        recycling_config,
        drafter=donor,
    )
    assert donor.matrix is not None
    donor_matrix = donor.matrix

    def warm_recycler() -> TokenRecyclingDrafter:
        drafter = TokenRecyclingDrafter(None, 8, recycling_template)
        drafter.matrix = donor_matrix.clone()  # every run starts from the same matrix
        return drafter

    methods += [
        Method(
            "ours_recycling",
            f"ours Token Recycling ({len(recycling_template)} nodes, empty matrix)",
            "ours",
            ours_tree(recycling_config, make_drafter=lambda: TokenRecyclingDrafter(vocab, 8, recycling_template)),
        ),
        Method(
            "ours_recycling_warm",
            f"ours Token Recycling ({len(recycling_template)} nodes, matrix from an earlier unrelated request)",
            "ours",
            ours_tree(recycling_config, make_drafter=warm_recycler),
        ),
    ]
    if case.model == GEMMA:  # no small model shares Gemma's tokenizer: SmolLM2 drafts through text, on both sides
        from workers.decoding.drafters import CrossTokenizerDrafter
        from workers.models.registry import get_model

        smol = get_model(CROSS_DRAFT)
        smol_eos = eos_ids(smol.model, smol.tokenizer)
        methods += [
            Method(
                "hf_uag",
                "HF assistant_model=SmolLM2 (universal assisted generation, HF defaults)",
                "hf",
                hf(assistant_model=smol.model, tokenizer=tokenizer, assistant_tokenizer=smol.tokenizer),
            ),
            Method(
                "ours_cross",
                "ours cross-tokenizer SmolLM2 draft, adaptive γ 20 → 32, confidence stop 0.4",
                "ours",
                ours(
                    lambda: CrossTokenizerDrafter(
                        smol.model,
                        tokenizer,
                        smol.tokenizer,
                        name=CROSS_DRAFT,
                        draft_eos_ids=smol_eos,
                        min_confidence=0.4,
                    ),
                    spec(20, adaptive=True, max_gamma=32),
                ),
                counterpart="hf_uag",
            ),
        ]
    for name, folder in draft_folders(Path(settings.drafts_dir), vocab):
        draft = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True).eval()
        drafter = ModelDrafter(draft, name=name)
        methods += [
            Method(f"hf_draft_{name}", f"HF assistant_model={name} (HF defaults)", "hf", hf(assistant_model=draft)),
            Method(
                f"ours_draft_{name}",
                f"ours draft model {name}, adaptive γ",
                "ours",
                ours(constant(drafter), spec(4, adaptive=True, max_gamma=16)),
                counterpart=f"hf_draft_{name}",
            ),
        ]
    return methods


# ----------------------------------------------------------------------------------------------------------------
# measuring


def record(row: Row, output: list[int], summary: Any, reference: list[int] | None) -> None:
    row.tokens = len(output)
    if reference is not None:
        same = output == reference
        mismatch = next((i for i, (a, b) in enumerate(zip(output, reference, strict=False)) if a != b), None)
        if mismatch is None and not same:
            mismatch = min(len(output), len(reference))
        row.matches_hf = same if row.matches_hf is None else row.matches_hf and same
        row.first_mismatch = row.first_mismatch if row.first_mismatch is not None else mismatch
    if summary is not None:
        row.alpha = summary.alpha
        row.acceptance_rate = summary.acceptance_rate
        row.tokens_per_target_call = summary.tokens_per_target_call
        row.theoretical_tokens_per_call = summary.theoretical_tokens_per_call
        row.mean_gamma = summary.mean_gamma
        if summary.theoretical_speedup is not None:
            row.theoretical_speedups.append(summary.theoretical_speedup)
        if summary.cost_ratio is not None:
            row.cost_ratios.append(summary.cost_ratio)
        if summary.target_ms_per_call is not None:
            row.target_ms_per_call.append(summary.target_ms_per_call)


def measure_case(case: Case, settings: Settings) -> dict[str, Any]:
    import torch

    from workers.models.registry import get_model

    loaded = get_model(case.model)
    torch.set_num_threads(settings.threads)  # after loading: the registry sets the thread count when it loads
    methods = build_methods(case, loaded, settings)
    rows = {m.key: Row(m.key, m.label, m.side, m.counterpart, m.speculative) for m in methods}
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    print(f"\n== {case.name}: {case.description} ({case.model}, {settings.new_tokens} new tokens)", flush=True)

    for method in methods:  # warm-up (not timed)
        try:
            method.run(settings.warmup_tokens)
        except Exception as exc:  # reported in the table, not hidden
            rows[method.key].error = f"{type(exc).__name__}: {exc}"[:300]
            print(f"  {method.label}: {rows[method.key].error}", flush=True)

    reference: list[int] | None = None
    for repeat in range(settings.repeats):
        order = methods if repeat % 2 == 0 else list(reversed(methods))
        if reference is None:  # HF greedy first: it is the reference output
            order = sorted(order, key=lambda m: m.key != "hf_generate")
        for method in order:
            row = rows[method.key]
            if row.error is not None:
                continue
            try:
                begin = time.perf_counter()
                output, summary = method.run(settings.new_tokens)
                seconds = time.perf_counter() - begin
            except Exception as exc:
                row.error = f"{type(exc).__name__}: {exc}"[:300]
                print(f"  {method.label}: {row.error}", flush=True)
                continue
            if method.key == "hf_generate" and reference is None:
                reference = output
            row.seconds.append(seconds)
            record(row, output, summary, reference)
            print(
                f"  [{repeat + 1}/{settings.repeats}] {method.label}: {seconds:.2f} s, {len(output)} tokens", flush=True
            )
    return {
        "case": asdict(case),
        "rows": [asdict(r) for r in rows.values()],
        "seconds": time.perf_counter() - started,
        "load_average": [load_before, os.getloadavg()[0]],
        "measured_at": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }


# ----------------------------------------------------------------------------------------------------------------
# reporting


def fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "—" if value is None else f"{value:.{digits}f}{suffix}"


def load_rows(result: dict[str, Any]) -> dict[str, Row]:
    return {r["key"]: Row(**r) for r in result["rows"]}


def case_table(result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The markdown table of one prompt and the facts the verdicts are built from."""
    from bench.report import table

    rows = load_rows(result)
    ar, hf = rows.get("ours_ar"), rows.get("hf_generate")
    t_ar = ar.median if ar else None
    t_hf = hf.median if hf else None
    ar_call = ar.call_ms if ar else None
    body = []
    for row in rows.values():
        t = row.median
        if row.error is not None:
            body.append([row.label, f"error: `{row.error[:120]}`", *["—"] * 11])
            continue
        measured = t_ar / t if t and t_ar else None
        theory = row.theoretical if row.speculative else None
        verify = row.call_ms / ar_call if row.call_ms and ar_call and row.speculative else None
        ok = "✓" if row.matches_hf else f"✗ (token {row.first_mismatch})" if row.matches_hf is False else "—"
        if row.key == "hf_generate":
            ok = "reference"
        spread = f" ({min(row.seconds):.2f}–{max(row.seconds):.2f})" if len(row.seconds) > 1 else ""
        body.append(
            [
                row.label,
                ok,
                str(row.tokens),
                fmt(t) + spread,
                fmt(row.tokens / t if t else None, 1),
                fmt(measured, 2, "×"),
                fmt(t_hf / t if t and t_hf else None, 2, "×"),
                fmt(row.alpha) if row.speculative else "—",
                fmt(row.tokens_per_target_call) if row.side == "ours" else "—",
                fmt(theory, 2, "×"),
                fmt(measured / theory if measured and theory else None),
                fmt(verify, 2, "×"),
                fmt(measured * verify / theory if measured and theory and verify else None),
            ]
        )
    headers = [
        "method",
        "= HF greedy",
        "tokens",
        "wall s: median (min–max)",
        "tokens/s",
        "× ours AR",
        "× HF generate",
        "α",
        "τ (tokens / target call)",
        "theoretical ×",
        "measured / theoretical",
        "verify forward ÷ AR forward",
        "measured / (theoretical ÷ verify)",
    ]
    ok_rows = [r for r in rows.values() if r.error is None and r.median is not None]
    ours_rows = [r for r in ok_rows if r.side == "ours"]
    hf_rows = [r for r in ok_rows if r.side == "hf"]
    spec_rows = [r for r in ours_rows if r.speculative]
    best_ours = min(ours_rows, key=lambda r: r.median or 1e9, default=None)
    best_spec = min(spec_rows, key=lambda r: r.median or 1e9, default=None)
    best_hf = min(hf_rows, key=lambda r: r.median or 1e9, default=None)
    ratios = {
        r.key: ((t_ar / r.median) / r.theoretical)
        for r in spec_rows
        if r.median and t_ar and r.theoretical and r.theoretical > 0
    }
    verify_costs = {r.key: r.call_ms / ar_call for r in spec_rows if r.call_ms and ar_call}
    cost_aware = {key: ratio * verify_costs[key] for key, ratio in ratios.items() if key in verify_costs}
    facts = {
        "name": result["case"]["name"],
        "model": result["case"]["model"],
        "rows": result["rows"],
        "speedups": {r.key: t_ar / r.median for r in ok_rows if r.median and t_ar},
        "suits": result["case"]["suits_drafting"],
        "ar_vs_hf": t_hf / t_ar if t_hf and t_ar else None,
        "best_ours": best_ours,
        "best_spec": best_spec,
        "best_hf": best_hf,
        "spec_vs_ar": t_ar / best_spec.median if best_spec and best_spec.median and t_ar else None,
        "ours_vs_hf": best_hf.median / best_ours.median
        if best_hf and best_ours and best_hf.median and best_ours.median
        else None,
        "theory_ratio_best_spec": ratios.get(best_spec.key) if best_spec else None,
        "cost_aware_best_spec": cost_aware.get(best_spec.key) if best_spec else None,
        "theory_ratios": ratios,
        "cost_aware_ratios": cost_aware,
        "all_match": all(r.matches_hf for r in ok_rows if r.key != "hf_generate"),
        "mismatches": [r.label for r in ok_rows if r.matches_hf is False],
        "errors": [r.label for r in rows.values() if r.error is not None],
        "ar_call_ms": ar_call,
        "verify": verify_costs,
    }
    return table(headers, body), facts


def case_line(facts: dict[str, Any]) -> str:
    best_ours, best_hf, best_spec = facts["best_ours"], facts["best_hf"], facts["best_spec"]
    parts = [f"ours AR is {fmt(facts['ar_vs_hf'], 2, '×')} the speed of HF generate"]
    if best_spec:
        parts.append(
            f"best speculative of ours: {best_spec.label}, {fmt(facts['spec_vs_ar'], 2, '×')} ours AR "
            f"(measured/theoretical {fmt(facts['theory_ratio_best_spec'])}, "
            f"{fmt(facts['cost_aware_best_spec'])} once its verify forward cost is counted)"
        )
    if best_ours and best_hf:
        verdict = "beats" if (facts["ours_vs_hf"] or 0) > 1 else "does not beat"
        parts.append(
            f"best of ours ({best_ours.label}, {fmt(best_ours.median)} s) {verdict} best of HF ({best_hf.label}, "
            f"{fmt(best_hf.median)} s): {fmt(facts['ours_vs_hf'], 2, '×')}"
        )
    return f"**{facts['name']}**: " + "; ".join(parts) + "."


def verdicts(all_facts: list[dict[str, Any]]) -> str:
    suited = [f for f in all_facts if f["suits"]]
    unsuited = [f for f in all_facts if not f["suits"]]

    def names(items: list[dict[str, Any]], key: str | None = None) -> str:
        """Prompt names, with the ratio under ``key`` when given (flagged when it is within 5% of 1: a tie)."""
        if key is None:
            return ", ".join(f["name"] for f in items) or "none"
        parts = []
        for f in items:
            value = f[key]
            tie = ", a tie" if value is not None and abs(value - 1) < 0.05 else ""
            parts.append(f"{f['name']} ({fmt(value, 2, '×')}{tie})")
        return ", ".join(parts) or "none"

    beat_ar = [f for f in suited if (f["spec_vs_ar"] or 0) > 1]
    beat_hf = [f for f in all_facts if (f["ours_vs_hf"] or 0) > 1]
    within = [f for f in suited if (f["theory_ratio_best_spec"] or 0) >= 0.8]
    rows_within = sum(1 for f in all_facts for v in f["theory_ratios"].values() if v >= 0.8)
    rows_total = sum(len(f["theory_ratios"]) for f in all_facts)
    within_cost = [f for f in suited if (f["cost_aware_best_spec"] or 0) >= 0.8]
    rows_cost = sum(1 for f in all_facts for v in f["cost_aware_ratios"].values() if v >= 0.8)
    mismatched = [f"{f['name']}: {', '.join(f['mismatches'])}" for f in all_facts if f["mismatches"]]
    errors = [f"{f['name']}: {', '.join(f['errors'])}" for f in all_facts if f["errors"]]
    lines = [
        f"- **Speculative beats our baseline on prompts that suit it** (best speculative method ÷ ours AR): met on "
        f"{names(beat_ar, 'spec_vs_ar')}; missed on {names([f for f in suited if f not in beat_ar], 'spec_vs_ar')}. "
        f"On the prompt(s) where drafting cannot pay ({names(unsuited)}): best speculative "
        + ", ".join(f"{fmt(f['spec_vs_ar'], 2, '×')} ours AR" for f in unsuited)
        + ".",
        f"- **Our best beats HF's best on the same prompt** (speed ratio): met on {names(beat_hf, 'ours_vs_hf')}; "
        f"missed on {names([f for f in all_facts if f not in beat_hf], 'ours_vs_hf')}.",
        f"- **Measured speedup ≥ 80% of the theoretical one** (best speculative method per suited prompt): met on "
        f"{names(within, 'theory_ratio_best_spec')}; missed on "
        f"{names([f for f in suited if f not in within], 'theory_ratio_best_spec')}. Over all our speculative "
        f"rows: {rows_within} of {rows_total}. Against the theory divided by the measured cost of a verification "
        f"forward (which the formula takes to be one autoregressive step): met on "
        f"{names(within_cost, 'cost_aware_best_spec')}; missed on "
        f"{names([f for f in suited if f not in within_cost], 'cost_aware_best_spec')}; {rows_cost} of "
        f"{rows_total} rows.",
        "- **Lossless**: "
        + ("every row reproduced HF's greedy output token for token." if not mismatched else "MISMATCH in ")
        + "; ".join(mismatched),
    ]
    if errors:
        lines.append("- **Errors** (rows that did not run): " + "; ".join(errors) + ".")
    return "\n".join(lines)


def render(store: dict[str, Any]) -> str:
    settings = store["settings"]
    results = [store["cases"][name] for name in CASE_NAMES if name in store["cases"]]
    parts: list[str] = []
    all_facts = []
    for result in results:
        case = result["case"]
        markdown, facts = case_table(result)
        all_facts.append(facts)
        load = result["load_average"]
        parts.append(
            f"#### {case['name']}: {case['description']} ({case['model']}"
            f"{', drafting can pay' if case['suits_drafting'] else ', drafting cannot pay'})\n\n"
            f"{markdown}\n\n{case_line(facts)} _(measured {result['measured_at']} UTC, load average "
            f"{load[0]:.1f} → {load[1]:.1f}, {result['seconds']:.0f} s)_"
        )
    header = (
        f"Greedy, {settings['new_tokens']} new tokens, median of {settings['repeats']} interleaved runs after one "
        f"warm-up per method, torch {settings['versions']['torch']} on {settings['threads']} thread(s), transformers "
        f"{settings['versions']['transformers']}, float32. Wall time is the whole call (prefill included) for both "
        "sides. × = speedup (higher is faster). α = accepted / verified draft tokens; τ = new tokens per target "
        "forward; theoretical × = (1 − α^(γ+1)) / ((1 − α)(γc + 1)) with the run's mean γ and measured cost ratio c "
        "(from the trace); measured / theoretical uses the × ours AR column. The formula prices a verification "
        "forward (γ + 1 or tree-size tokens) like one autoregressive forward; the next column gives its measured "
        "price (verify forward ÷ AR forward), and the last one compares the measurement with the theory divided by "
        "that price. Token Recycling either starts each request with an empty matrix or with the matrix left by one "
        "earlier, unrelated request (warming it on the benchmark prompt would teach it the very answer). For tree "
        f"methods α counts every verified tree node, so the chain formula is only indicative. Early exit uses the "
        f"first {settings['exit_layer']} of SmolLM2's 30 layers (plus its final norm and LM head) with γ = "
        f"{settings['ee_gamma']}; HF's early-exit row uses the same K and γ (`num_assistant_tokens={settings['ee_gamma']}`, "
        "constant schedule, no confidence cut-off; with HF's defaults, 20 tokens and a 0.4 confidence cut-off, it "
        "is slower still: `--hf-ee-defaults`)."
    )
    reproduce = (
        "Reproduce: `.venv/bin/python -m bench.speculative_bench` (all prompts; add `--cases edit,code` to split "
        "the run, results under the same settings accumulate in `var/bench/speculative.json`), or `--quick` "
        "(24 tokens, 1 run, printed only) for a smoke test; `--threads N` sets torch's thread count (default 1, "
        "because the machine is shared)."
    )
    return "\n\n".join([header, *parts, "**Targets**\n\n" + verdicts(all_facts), reading(all_facts), reproduce])


def row_alpha(facts: dict[str, Any], key: str) -> float | None:
    return next((row["alpha"] for row in facts["rows"] if row["key"] == key), None)


def draft_pairs(facts: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(our row, HF's row, label) for the draft-model rows of one prompt: distilled drafts and the cross-tokenizer one."""
    pairs = [
        (key, "hf_draft_" + key.removeprefix("ours_draft_"), f"distilled {key.removeprefix('ours_draft_')}")
        for key in facts["speedups"]
        if key.startswith("ours_draft_")
    ]
    if "ours_cross" in facts["speedups"]:
        pairs.append(("ours_cross", "hf_uag", "SmolLM2 through text (universal assisted generation)"))
    return pairs


def reading(all_facts: list[dict[str, Any]]) -> str:
    """The explanation of the numbers, with the measured quantities it rests on."""

    def med(values: list[float]) -> float | None:
        return statistics.median(values) if values else None

    def speedup(key: str, name: str) -> str:
        found = [f["speedups"].get(key) for f in all_facts if f["name"] == name]
        return fmt(found[0] if found and found[0] else None, 2, "×")

    smol = [f for f in all_facts if f["model"] != GEMMA]
    gemma = [f for f in all_facts if f["model"] == GEMMA]
    ar_vs_hf = [f["ar_vs_hf"] for f in all_facts if f["ar_vs_hf"]]
    pld_ratios = {
        f["name"]: f["speedups"]["ours_pld"] / f["speedups"]["hf_pld"]
        for f in all_facts
        if f["speedups"].get("ours_pld") and f["speedups"].get("hf_pld")
    }
    pld_vs_hf = [f"{name} {ratio:.2f}×" for name, ratio in pld_ratios.items()]
    pld_tie = all(0.95 <= r <= 1.05 for r in pld_ratios.values())
    hf_pld_faster = [name for name, r in pld_ratios.items() if r < 0.95]
    recycling_rows = [
        (f["speedups"]["ours_recycling"], f["verify"].get("ours_recycling"))
        for f in all_facts
        if f["speedups"].get("ours_recycling")
    ]
    recycling_verify = [v for _, v in recycling_rows if v]
    spreads = [
        max(r["seconds"]) / min(r["seconds"])
        for f in all_facts
        for r in f["rows"]
        if len(r["seconds"]) > 1 and min(r["seconds"]) > 0
    ]
    warm_better = [
        f["name"]
        for f in all_facts
        if (f["speedups"].get("ours_recycling_warm") or 0) > 1.1 * (f["speedups"].get("ours_recycling") or 0)
    ]
    ee_vs_hf = [
        f"{f['name']} {f['speedups']['ours_ee'] / f['speedups']['hf_ee']:.2f}×"
        for f in smol
        if f["speedups"].get("ours_ee") and f["speedups"].get("hf_ee")
    ]
    verify_smol = med([f["verify"]["ours_pld"] for f in smol if "ours_pld" in f["verify"]])
    verify_gemma = med([f["verify"]["ours_pld"] for f in gemma if "ours_pld" in f["verify"]])
    rows_total = sum(len(f["theory_ratios"]) for f in all_facts)
    rows_cost = sum(1 for f in all_facts for v in f["cost_aware_ratios"].values() if v >= 0.8)
    recycling = [
        f"{f['name']} {f['speedups']['ours_recycling']:.2f}×" for f in all_facts if f["speedups"].get("ours_recycling")
    ]
    strict = [
        f"{f['name']} {f['speedups']['ours_pld_min2']:.2f}×" for f in all_facts if f["speedups"].get("ours_pld_min2")
    ]
    bullets = [
        f"- *Baseline.* Our autoregressive loop runs at {fmt(min(ar_vs_hf, default=None))}–"
        f"{fmt(max(ar_vs_hf, default=None))}× the speed of HF `generate`: one forward per token on both sides (a "
        f"SmolLM2 forward takes {fmt(med([f['ar_call_ms'] for f in smol if f['ar_call_ms']]), 0)} ms here), "
        + (
            "plus, on ours, the trace (a softmax, top-k and entropy per position): a small but consistent overhead."
            if max(ar_vs_hf, default=1.0) < 1.0
            else "so parity within the noise."
        ),
        "- *Prompt lookup* is what pays on this machine, where the answer copies the prompt: "
        f"{speedup('ours_pld_adaptive', 'edit')} ours AR on the edit, {speedup('ours_pld', 'gemma-copy')} on "
        "Gemma's copy. Ours and HF's run the same rule (2-gram match, up to 10 tokens) "
        + (
            "and land within 5% of each other"
            if pld_tie
            else f"and accept the same tokens, but HF's is more than 5% faster on {', '.join(hf_pld_faster)}"
            if hf_pld_faster
            else "but their times differ by more than 5% on some prompts"
        )
        + f" (ours γ = 10 ÷ HF: {', '.join(pld_vs_hf)}); both verify the first draft inside the prefill's "
        "forward, and ours also computes the trace (softmax, top-k and entropy per drafted position), which costs "
        "most on Gemma's 262k-entry vocabulary. Where matches are spurious (the story) the HF-style variants are "
        f"slower than plain decoding (ours γ = 10 {speedup('ours_pld', 'story')}, adaptive "
        f"{speedup('ours_pld_adaptive', 'story')}, HF {speedup('hf_pld', 'story')}): a rejected draft token is not "
        "free here (next point), and HF falls back to single-token matches, which are mostly spurious. Drafting "
        "only on 2- or 3-gram matches (`min_ngram_size=2`) avoids most of those verifications: "
        f"{', '.join(strict) or '—'} ours AR.",
        "- *Why the 80% target is missed.* The formula prices a verification forward of γ + 1 tokens like one "
        "autoregressive step, which holds on a memory-bound GPU but not on this CPU with one thread: a "
        f"prompt-lookup verification forward costs {fmt(verify_smol, 1)}× a SmolLM2 step (median over prompts) "
        f"and {fmt(verify_gemma, 1)}× a Gemma step (its 262k-entry LM head is computed at every drafted position). "
        f"Divided by that measured price the theory holds within 80% on {rows_cost} of {rows_total} rows. The rest "
        "of the gap is the prefill, which drafting does not shorten (it is in both wall times, and the formula "
        "describes the decoding loop only), and acceptance that comes in bursts (whole copied runs, then misses) rather than independently, so τ falls below "
        "(1 − α^(γ+1)) / (1 − α).",
        "- *Early exit* cannot pay on SmolLM2, which was not trained for it: in a sweep on the edit prompt (32 "
        "tokens, γ = 3) α was 0.00 / 0.03 / 0.16 / 0.43 / 0.57 after 8 / 16 / 20 / 24 / 27 of its 30 layers, while "
        "a draft step cost 0.23–0.55 of a verification forward (the 49k-entry LM head is paid at every depth), so "
        "the theoretical speed-up is below 1 for every K. K = 24 is benched because it is the shallowest exit "
        f"whose drafts are accepted often enough to compare the implementations: ours ÷ HF's, same K and γ: "
        f"{', '.join(ee_vs_hf) or '—'}. The DySpec tree on that draft adds a draft forward per level and loses "
        "more. Gemma gets no early-exit rows: its LM head alone is over half of a forward.",
        "- *Draft models* (HF's `assistant_model=` against ours, same draft): "
        + (
            "; ".join(
                f"{f['name']}: {label} ours {f['speedups'][ours_key]:.2f}× ours AR at α {fmt(row_alpha(f, ours_key))}, "
                f"HF {fmt(f['speedups'].get(hf_key), 2, '×')} (ours ÷ HF "
                f"{fmt(f['speedups'][ours_key] / f['speedups'][hf_key] if f['speedups'].get(hf_key) else None)}×)"
                for f in all_facts
                for ours_key, hf_key, label in draft_pairs(f)
            )
            or "no draft model was benched"
        )
        + ". A draft model pays only when a draft token costs a small fraction of a target step and is usually "
        f"accepted; here a SmolLM2 step ({fmt(med([f['ar_call_ms'] for f in smol if f['ar_call_ms']]), 0)} ms) is "
        f"not small next to a Gemma step ({fmt(med([f['ar_call_ms'] for f in gemma if f['ar_call_ms']]), 0)} ms).",
        "- *Token Recycling* learns its matrix from the target's own top-k as it goes; starting empty it reached "
        f"{', '.join(recycling) or '—'} ours AR. Its verification forward (up to 8 nodes) costs "
        f"{fmt(min(recycling_verify, default=None))}–{fmt(max(recycling_verify, default=None))}× a step while "
        "its acceptance stays low (α ≈ 0.05–0.3, τ ≈ 1.05–1.3), which does not pay that back; a matrix left by an "
        "unrelated earlier request was "
        + (
            f"more than 10% faster only on {', '.join(warm_better)}." if warm_better else "not faster by more than 10%."
        ),
        "- *Noise.* The machine has 2 cores shared with other sessions' work (tests ran during part of these "
        "measurements; the load average is given per prompt, and noisy prompts were measured again). Runs of the "
        f"same method varied by up to {fmt((max(spreads, default=1.0) - 1) * 100, 0)}% (the min–max in the "
        "tables); ratios within about 5% are ties.",
    ]
    return "**Reading.**\n\n" + "\n".join(bullets)


# ----------------------------------------------------------------------------------------------------------------
# main


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="24 new tokens, 1 timed run, printed only (a smoke test)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1: shared machine)")
    parser.add_argument("--cases", default=",".join(CASE_NAMES), help=f"comma-separated, from {', '.join(CASE_NAMES)}")
    parser.add_argument("--new-tokens", type=int, default=None, help="default 64 (24 with --quick)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per method (default 3; 1 with --quick)")
    parser.add_argument("--exit-layer", type=int, default=24, help="early-exit layers K (of SmolLM2's 30)")
    parser.add_argument("--ee-gamma", type=int, default=2, help="draft length of the early-exit methods")
    parser.add_argument("--tree-budget", type=int, default=6, help="DySpec node budget")
    parser.add_argument("--tree-depth", type=int, default=4, help="DySpec maximum depth")
    parser.add_argument("--recycling-budget", type=int, default=8, help="Token Recycling template size")
    parser.add_argument("--trace-top-k", type=int, default=5, help="top-k kept per position in our traces")
    parser.add_argument(
        "--drafts-dir",
        default=str(DEFAULT_DRAFTS),
        help="a distilled draft model folder, or a folder of them (the newest is used)",
    )
    parser.add_argument(
        "--hf-ee-defaults",
        action="store_true",
        help="also time HF's early exit with its default γ schedule (20 tokens, confidence 0.4): slow",
    )
    parser.add_argument("--no-doc", action="store_true", help="print only; do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)

    import torch
    import transformers

    logging.getLogger("transformers").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    new_tokens = args.new_tokens or (24 if args.quick else 64)
    settings = Settings(
        new_tokens=new_tokens,
        repeats=args.repeats or (1 if args.quick else 3),
        warmup_tokens=min(new_tokens, 16),
        threads=args.threads,
        exit_layer=args.exit_layer,
        ee_gamma=args.ee_gamma,
        pld_tokens=10,
        tree_budget=args.tree_budget,
        tree_depth=args.tree_depth,
        recycling_budget=args.recycling_budget,
        trace_top_k=args.trace_top_k,
        drafts_dir=args.drafts_dir,
        hf_ee_defaults=args.hf_ee_defaults,
    )
    wanted = [case_by_name(name.strip()) for name in args.cases.split(",") if name.strip()]
    meta = {**asdict(settings), "versions": {"torch": torch.__version__, "transformers": transformers.__version__}}

    # A smoke test keeps its own file and never replaces the full run's numbers in the doc.
    results = RESULTS.with_name("speculative_quick.json") if args.quick else RESULTS
    store: dict[str, Any] = {"settings": meta, "cases": {}}
    if results.exists():
        previous = json.loads(results.read_text())
        if previous.get("settings") == meta:
            store = previous
    for case in wanted:
        store["cases"][case.name] = measure_case(case, settings)
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(store, indent=1))

    markdown = render(store)
    print("\n" + markdown)
    missing = [c.name for c in CASES if c.name not in store["cases"]]
    if missing:
        print(f"\n(not measured yet under these settings: {', '.join(missing)})")
    if not args.no_doc and not args.quick:
        from bench.report import write_section

        write_section(SECTION, markdown)
        print(f"\nwrote the '{SECTION}' section of docs/benchmarks.md")


if __name__ == "__main__":
    main()
