"""Benchmark the decoding engine on a real model: our autoregressive loop vs HF ``generate``, and speculative
methods vs our own autoregressive baseline, greedy, same prompt, same machine.

    .venv/bin/python -m bench.speculative_bench --model smollm2-135m-instruct --new-tokens 64 --repeats 3

Runs are interleaved (A, B, A, B, …) and the median is reported, because on a shared machine the load drifts during
a run. Every speculative output is checked token-for-token against the baseline. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. It was a sunny afternoon in the small village, and the children "
    "were playing in the park near the old church while their parents chatted on the benches. A baker walked past "
    "with a basket of fresh bread, and the smell drifted across the square."
)
STORY = "Write a short story about a lighthouse keeper who finds a message in a bottle."
EDIT = "Repeat the following paragraph exactly, but change 'fox' to 'cat' and 'baker' to 'farmer':\n\n" + PARAGRAPH


def chat(tokenizer: Any, text: str) -> list[int]:
    encoded = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True)
    ids = encoded["input_ids"] if hasattr(encoded, "keys") else encoded
    return [int(t) for t in ids]


def timed(fn: Callable[[], list[int]]) -> tuple[float, list[int]]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch's default)")
    parser.add_argument("--early-exit-layers", type=int, default=0, help="also bench early exit with N layers")
    args = parser.parse_args()

    import torch
    import transformers

    from workers.decoding.drafters import EarlyExitDrafter, PromptLookupDrafter
    from workers.decoding.engine import MethodConfig, generate
    from workers.models.registry import get_model

    loaded = get_model(args.model)
    if args.threads:  # after loading: the registry sets the process's thread count when it loads a model
        torch.set_num_threads(args.threads)
    model, tokenizer = loaded.model, loaded.tokenizer
    eos = tuple(sorted({int(tokenizer.eos_token_id)} | {int(model.generation_config.eos_token_id or 0)}))
    n = args.new_tokens
    greedy = MethodConfig(eos_token_ids=eos)

    def ours(prompt: list[int], drafter: Any = None, config: MethodConfig = greedy) -> Callable[[], list[int]]:
        def run() -> list[int]:
            output, trace = generate(model, drafter, prompt, n, config)
            traces.append(trace)
            return output

        return run

    def hf(prompt: list[int]) -> Callable[[], list[int]]:
        def run() -> list[int]:
            with torch.inference_mode():
                out = model.generate(torch.tensor([prompt], device=model.device), max_new_tokens=n, do_sample=False)
            return [int(t) for t in out[0, len(prompt) :].tolist()]

        return run

    traces: list[Any] = []
    story, edit = chat(tokenizer, STORY), chat(tokenizer, EDIT)
    ours(story)()  # warm-up
    hf(story)()
    spec = MethodConfig(method="speculative", gamma=10, eos_token_ids=eos)
    contenders: dict[str, tuple[Callable[[], list[int]], str]] = {
        "ours_ar_story": (ours(story), "story"),
        "hf_generate_story": (hf(story), "story"),
        "ours_ar_edit": (ours(edit), "edit"),
        "prompt_lookup_edit": (ours(edit, PromptLookupDrafter(2, 10), spec), "edit"),
    }
    if args.early_exit_layers:
        from workers.models.early_exit import build_early_exit_drafter

        drafter = EarlyExitDrafter(build_early_exit_drafter(model, args.early_exit_layers))
        contenders["early_exit_story"] = (
            ours(story, drafter, MethodConfig(method="speculative", gamma=3, eos_token_ids=eos)),
            "story",
        )
    times: dict[str, list[float]] = {name: [] for name in contenders}
    outputs: dict[str, list[int]] = {}
    summaries: dict[str, Any] = {}
    for _ in range(args.repeats):
        for name, (fn, _prompt) in contenders.items():
            traces.clear()
            seconds, out = timed(fn)
            times[name].append(seconds)
            outputs[name] = out
            if traces and traces[0].summary is not None:
                summaries[name] = traces[0].summary
    median = {name: statistics.median(values) for name, values in times.items()}
    tps = {name: len(outputs[name]) / median[name] for name in contenders}
    result: dict[str, Any] = {
        "model": args.model,
        "new_tokens": n,
        "repeats": args.repeats,
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "tokens": {name: len(out) for name, out in outputs.items()},
        "median_seconds": median,
        "all_seconds": times,
        "tokens_per_s": tps,
        "ratios": {
            "ours_ar_vs_hf_generate_speed": tps["ours_ar_story"] / tps["hf_generate_story"],
            "prompt_lookup_vs_ours_ar_speed": tps["prompt_lookup_edit"] / tps["ours_ar_edit"],
        },
        "identical_outputs": {
            "ours_ar_vs_hf_generate": outputs["ours_ar_story"] == outputs["hf_generate_story"],
            "prompt_lookup_vs_ours_ar": outputs["prompt_lookup_edit"] == outputs["ours_ar_edit"],
        },
        "speculative": {
            name: {
                "alpha": s.alpha,
                "acceptance_rate": s.acceptance_rate,
                "tokens_per_target_call": s.tokens_per_target_call,
                "theoretical_tokens_per_call": s.theoretical_tokens_per_call,
                "target_calls": s.target_calls,
                "cost_ratio": s.cost_ratio,
                "theoretical_speedup": s.theoretical_speedup,
                "target_ms_per_call": s.target_ms_per_call,
            }
            for name, s in summaries.items()
            if s.drafted
        },
    }
    if "early_exit_story" in contenders:
        result["ratios"]["early_exit_vs_ours_ar_speed"] = tps["early_exit_story"] / tps["ours_ar_story"]
        result["identical_outputs"]["early_exit_vs_ours_ar"] = outputs["early_exit_story"] == outputs["ours_ar_story"]
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
