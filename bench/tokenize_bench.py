"""The tokenize endpoint against calling the library directly, on the same texts, in one run.

    .venv/bin/python -m bench.tokenize_bench [--quick]

Starts the real product (bundled Redis, a Celery worker, uvicorn, a throwaway SQLite database), then measures:
- per-request latency of ``POST /api/v1/tokenize/`` (1 kB and 100 kB: answered in the request) against
  ``tiktoken`` ``encode_ordinary`` on the same text; the difference is the product's overhead;
- a 10 MB upload as a job (202, then followed on its websocket to the end, then the result fetched) against the library's throughput on the same text.
The table is written into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from functools import partial

import requests
from websockets.sync.client import connect as ws_connect
from websockets.typing import Origin

from bench.report import table, write_section
from bench.stack import running_stack

TOKENIZER = "tiktoken:cl100k_base"
SEED_TEXT = (
    "The quick brown fox jumps over the lazy dog. Tokenizers split 1234567 numbers and naïve café text; "
    "def tokenize(text: str) -> list[int]:\n    return enc.encode(text)\n"
    "東京は日本の首都です。Привет, мир! مرحبا بالعالم 🙂👩‍💻\n"
)


def text_of(size: int) -> str:
    text = (SEED_TEXT * (size // len(SEED_TEXT.encode()) + 1)).encode()[:size].decode("utf-8", errors="ignore")
    return text


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def server_cpu_s() -> float:
    """CPU seconds used so far by this process's descendants: the web server, the worker and Redis, i.e. the product's
    side of every request. On a shared, loaded machine wall time mostly measures waiting for a core; this does not."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        parents[int(entry)] = int(fields[1])
        used[int(entry)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    mine, total = {os.getpid()}, 0.0
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                total += used[pid]
                changed = True
    return total


def cpu_ms_per_call(fn: Callable[[], object], repeats: int, server: bool = False) -> float:
    """Mean CPU ms per call of this process, or (``server``) of the product's processes."""
    clock = server_cpu_s if server else time.process_time
    start = clock()
    for _ in range(repeats):
        fn()
    return (clock() - start) * 1000 / repeats


def follow_until_finished(url: str, key: str, job_id: str) -> int:
    """Follow a job on its websocket, as the page and API clients do, until it has finished; the events received."""
    with ws_connect(
        f"{url.replace('http://', 'ws://')}/ws/jobs/{job_id}/",
        origin=Origin("http://127.0.0.1"),
        additional_headers={"Authorization": f"Token {key}"},
        max_size=None,
    ) as socket:
        for count, raw in enumerate(socket, start=1):
            event = json.loads(raw)
            if event["type"] in ("job.finished", "job.failed", "job.cancelled", "error") or (
                event["type"] == "job.snapshot" and event["job"]["status"] in ("succeeded", "failed", "cancelled")
            ):
                return count
    raise RuntimeError(f"the websocket of job {job_id} closed before the job finished")


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.local")
    # The per-user job-creation throttle still runs (its Redis round-trip is part of the product) but never refuses.
    os.environ["JOB_CREATE_RATE"] = "1000000/minute"

    from workers.text_tokenizers.catalog import load_tokenizer

    load_tokenizer(TOKENIZER)  # seeds TIKTOKEN_CACHE_DIR from the model store
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")
    from workers.pipelines import tokenize as pipeline

    load_at_start = os.getloadavg()[0]
    rows = []
    sizes: list[str] = []
    with running_stack() as (url, key):
        session = requests.Session()
        session.headers["Authorization"] = f"Token {key}"
        # The web stack's floor: an endpoint that does nothing, over the same HTTP connection.
        floor_repeats = 30 if args.quick else 300
        for _ in range(5):
            session.get(url + "/healthz")
        floor = timed(partial(session.get, url + "/healthz"), floor_repeats)
        floor_cpu = cpu_ms_per_call(partial(session.get, url + "/healthz"), floor_repeats, True)
        rows.append(
            [
                "floor: GET /healthz (does nothing)",
                "—",
                "—",
                f"{statistics.median(floor):.2f} / {p99(floor):.2f}",
                f"{statistics.median(floor):.2f} / {p99(floor):.2f}",
                "—",
                f"— / {floor_cpu:.2f}",
            ]
        )
        for label, size, repeats in [("1 kB", 1_000, 300), ("100 kB", 100_000, 40)]:
            repeats = max(5, repeats // 10) if args.quick else repeats
            text = text_of(size)
            body = {"text": text, "tokenizers": [TOKENIZER]}
            for _ in range(5):  # warm both paths
                assert session.post(url + "/api/v1/tokenize/", json=body).status_code == 201
                encoding.encode_ordinary(text)
            library = timed(partial(encoding.encode_ordinary, text), repeats)
            in_process = timed(partial(pipeline.run, {"text": text, "tokenizers": [TOKENIZER]}, None), repeats)
            endpoint = timed(partial(session.post, url + "/api/v1/tokenize/", json=body), repeats)
            library_cpu = cpu_ms_per_call(partial(encoding.encode_ordinary, text), repeats)
            server_cpu = cpu_ms_per_call(partial(session.post, url + "/api/v1/tokenize/", json=body), repeats, True)
            result = session.post(url + "/api/v1/tokenize/", json=body).json()["result"]
            as_rows = {
                **result,
                "results": [{**e, "tokens": pipeline.token_rows(e, result["text"])} for e in result["results"]],
            }
            sizes.append(
                f"{label}: the result is {len(json.dumps(result, ensure_ascii=False).encode()):,} bytes of JSON "
                f"(one object per token, as before: {len(json.dumps(as_rows, ensure_ascii=False).encode()):,})"
            )
            rows.append(
                [
                    label,
                    f"{statistics.median(library):.2f} / {p99(library):.2f}",
                    f"{statistics.median(in_process):.2f} / {p99(in_process):.2f}",
                    f"{statistics.median(endpoint):.2f} / {p99(endpoint):.2f}",
                    f"**{statistics.median(endpoint) - statistics.median(library):.2f}** / "
                    f"{p99(endpoint) - p99(library):.2f}",
                    "—",
                    f"{library_cpu:.2f} / {server_cpu:.2f} (**+{server_cpu - library_cpu:.2f}**)",
                ]
            )

        size = 10_000_000
        text = text_of(size)
        payload = text.encode()
        # Library, pipeline and product run back to back in each round, and the ratios are taken per round: this
        # machine's speed drifts by up to 1.6x between minutes, more than any one change.
        library_runs, pipeline_runs, runs, server_cpu_runs, library_cpu_runs, followed = [], [], [], [], [], 0
        for _ in range(1 if args.quick else 5):
            library_cpu_start = time.process_time()
            library_runs.extend(timed(lambda: encoding.encode_ordinary(text), 1))
            library_cpu_runs.append(time.process_time() - library_cpu_start)
            pipeline_runs.extend(timed(lambda: pipeline.run({"text": text, "tokenizers": [TOKENIZER]}, None), 1))
            start, cpu_start = time.perf_counter(), server_cpu_s()
            response = session.post(
                url + "/api/v1/tokenize/",
                data={"tokenizers": TOKENIZER},
                files={"file": ("big.txt", payload, "text/plain")},
            )
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
            followed += follow_until_finished(url, key, job_id)
            job = session.get(f"{url}/api/v1/jobs/{job_id}/").json()  # the result, as the page fetches it
            assert job["status"] == "succeeded", job["error"]
            runs.append(time.perf_counter() - start)
            server_cpu_runs.append(server_cpu_s() - cpu_start)
        library_s = statistics.median(library_runs) / 1000
        in_process_s = statistics.median(pipeline_runs) / 1000
        product_s = statistics.median(runs)
        kept = [lib / 1000 / product for lib, product in zip(library_runs, runs, strict=True)]
        pipeline_kept = [lib / pipe for lib, pipe in zip(library_runs, pipeline_runs, strict=True)]
        cpu_kept = [lib / server for lib, server in zip(library_cpu_runs, server_cpu_runs, strict=True)]
        mb = len(payload) / 1e6
        rows.append(
            [
                "10 MB upload (job)",
                f"{library_s * 1000:.0f} ms ({mb / library_s:.1f} MB/s)",
                f"{in_process_s * 1000:.0f} ms ({mb / in_process_s:.1f} MB/s)",
                f"{product_s * 1000:.0f} ms ({mb / product_s:.1f} MB/s)",
                "—",
                f"**{statistics.median(kept):.0%}** ({min(kept):.0%}–{max(kept):.0%}; pipeline alone "
                f"{statistics.median(pipeline_kept):.0%})",
                f"{statistics.median(library_cpu_runs) * 1000:.0f} / {statistics.median(server_cpu_runs) * 1000:.0f} "
                f"(**{statistics.median(cpu_kept):.0%}** kept; {followed / len(runs):.0f} websocket events a run)",
            ]
        )

    doc = table(
        [
            "input",
            "library: tiktoken encode_ordinary (median / p99 ms)",
            "pipeline in-process (median / p99 ms)",
            "product: POST /api/v1/tokenize/ over HTTP (median / p99 ms)",
            "overhead added (median / p99 ms)",
            "throughput kept vs library",
            "CPU ms per call: library / product's processes (web, worker, Redis)",
        ],
        rows,
    )
    doc += (
        f"\n\nTokenizer `{TOKENIZER}`; the product's number includes HTTP, authentication, validation, offsets, "
        "statistics, saving the result and serialising the response; the 10 MB row includes the upload, storing it, "
        "queueing, the worker, following the job on its websocket until it has finished (as the page does) and fetching "
        "the result; its times are medians of rounds that each run the library, the pipeline and the product back to "
        "back, and the throughput kept is the median (range) of the per-round ratios. Reproduce with "
        "`.venv/bin/python -m bench.tokenize_bench`. The CPU column sums the user and system time of the server's "
        "processes (read from /proc; the client's own time is not in it) over the same calls: on a loaded machine it "
        "is the figure to compare, as wall time there mostly measures waiting for a core. Payload sizes: "
        + "; ".join(sizes)
        + ". "
        f"The machine is shared: load average (1 min) {load_at_start:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores."
    )
    write_section("tokenize", doc)
    print(doc)


if __name__ == "__main__":
    main()
