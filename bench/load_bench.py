"""Load on the real product, loopback only and bounded, with the server configuration of ``webapp.devstack``.

    .venv/bin/python -m bench.load_bench [--quick]

Starts the product (bundled Redis, one Celery worker with the embedded default's two processes, the web server from
``web_command`` with its default number of processes, a throwaway SQLite database), then measures:
1. ``POST /api/v1/tokenize/`` (1 kB, answered in the request) at 1, 10 and 50 concurrent clients, each a keep-alive
   connection sending its next request when the last one is answered: requests/s, p50 and p99 latency, failures;
2. 200 websocket subscribers (browsers signed in by session cookie) to 4 running jobs: the jobs' progress is reported
   through ``apps.jobs.services.job_report_progress`` (what a worker's report calls: row, then channel layer), each
   event stamped with its send time; every subscriber must receive every event of its job; delivery latency;
3. 1,000 small tokenize jobs (3 kB each, above the in-request limit set for the run) submitted at once by 10 clients:
   all must succeed, none lost; the time until the last one finished.
The per-user job rate limit is switched off for the run (``JOB_CREATE_RATE=""``): this measures the server, not the
limiter. The table is written into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import threading
import time
from dataclasses import dataclass, field

import requests

from bench.report import table, write_section
from bench.stack import Stack, started_stack

SYNC_LIMIT = 2000  # bytes answered in the request during the run; the drain phase's texts are larger
TEXT_1K = ("Tokenizers split text into pieces; 12345 apples cost $6.78 — naïve café 東京 🙂.\n" * 13)[:1000]
TEXT_3K = ("Small queued job: tokenizers split text; 12345 apples cost $6.78 — naïve café 東京 🙂.\n" * 40)[:3000]
TOKENIZERS = ["tiktoken:cl100k_base"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] if ordered else float("nan")


# 1. tokenize requests ------------------------------------------------------------------------------------------------


@dataclass
class LevelResult:
    clients: int
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0


def tokenize_level(stack: Stack, clients: int, per_client: int) -> LevelResult:
    result = LevelResult(clients)
    body = json.dumps({"text": TEXT_1K, "tokenizers": TOKENIZERS})
    headers = {"Authorization": f"Token {stack.key}", "Content-Type": "application/json"}
    start = threading.Barrier(clients + 1)
    lock = threading.Lock()

    def client() -> None:
        with requests.Session() as session:
            start.wait()
            for _ in range(per_client):
                began = time.perf_counter()
                try:
                    response = session.post(f"{stack.url}/api/v1/tokenize/", data=body, headers=headers, timeout=120)
                    outcome = None if response.status_code == 201 else f"HTTP {response.status_code}"
                except requests.RequestException as exc:
                    outcome = type(exc).__name__
                elapsed = time.perf_counter() - began
                with lock:
                    (result.failures.append(outcome) if outcome else result.latencies.append(elapsed))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
    result.wall_s = time.perf_counter() - began
    return result


# 2. websocket fan-out ------------------------------------------------------------------------------------------------


@dataclass
class FanoutResult:
    subscribers: int
    jobs: int
    events: int
    received: int = 0
    incomplete: int = 0  # subscribers that missed an event, got one twice or out of order, or never saw the end
    latencies: list[float] = field(default_factory=list)
    connect_failures: list[str] = field(default_factory=list)


def websocket_fanout(stack: Stack, subscribers: int, jobs: int, events: int, interval_s: float) -> FanoutResult:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from apps.accounts.models import Team
    from apps.jobs import services

    user = get_user_model().objects.get(username="bench")
    team = Team.objects.get(memberships__user=user)
    running = []
    for index in range(jobs):
        job = services.job_create(
            team=team, owner=user, kind="tokenize", params={}, title=f"fanout {index}", dispatch=False
        )
        services.job_mark_running(job_id=str(job.id), worker="bench")
        running.append(str(job.id))
    browser = Client()
    browser.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    result = FanoutResult(subscribers, jobs, events)
    all_connected = threading.Event()

    def publish() -> None:  # what the worker's reporter does, from another process than the web server
        if not all_connected.wait(timeout=300):
            return
        for step in range(events):
            for job_id in running:
                services.job_report_progress(
                    job_id=job_id, progress=step / events, message=f"bench {step} {time.time()}"
                )
            time.sleep(interval_s)
        for job_id in running:
            services.job_succeed(job_id=job_id, result={"bench": True})

    async def subscribe(job_id: str, connected: asyncio.Queue[bool]) -> None:
        from websockets.asyncio.client import connect
        from websockets.typing import Origin

        url = f"{stack.url.replace('http://', 'ws://')}/ws/jobs/{job_id}/"
        steps: list[int] = []
        try:
            async with connect(
                url, origin=Origin(stack.url), additional_headers={"Cookie": cookie}, open_timeout=120, max_size=None
            ) as socket:
                snapshot = json.loads(await socket.recv())
                await connected.put(snapshot.get("type") == "job.snapshot")
                while True:
                    message = json.loads(await asyncio.wait_for(socket.recv(), timeout=120))
                    if message["type"] == "job.progress" and message["message"].startswith("bench "):
                        _, step, sent = message["message"].split(" ")
                        result.latencies.append(time.time() - float(sent))
                        steps.append(int(step))
                    elif message["type"] in ("job.finished", "job.failed"):
                        break
        except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
            result.connect_failures.append(f"{type(exc).__name__}: {exc}"[:120])
            if connected.empty():
                await connected.put(False)
        result.received += len(steps)
        if steps != list(range(events)):
            result.incomplete += 1

    async def run_all() -> None:
        connected: asyncio.Queue[bool] = asyncio.Queue()
        tasks = []
        for index in range(subscribers):
            tasks.append(asyncio.create_task(subscribe(running[index % jobs], connected)))
            if index % 20 == 19:
                await asyncio.sleep(0.2)  # connect in waves, as page loads arrive
        for _ in range(subscribers):
            await asyncio.wait_for(connected.get(), timeout=300)
        all_connected.set()
        await asyncio.gather(*tasks)

    publisher = threading.Thread(target=publish)
    publisher.start()
    asyncio.run(run_all())
    publisher.join(timeout=300)
    return result


# 3. a thousand small jobs --------------------------------------------------------------------------------------------


@dataclass
class DrainResult:
    jobs: int
    submit_failures: list[str] = field(default_factory=list)
    submit_s: float = 0.0
    drain_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)


def job_drain(stack: Stack, jobs: int, clients: int = 10, timeout_s: float = 1200) -> DrainResult:
    from django.db.models import Count

    from apps.jobs.models import Job

    result = DrainResult(jobs)
    body = json.dumps({"text": TEXT_3K, "tokenizers": TOKENIZERS})
    headers = {"Authorization": f"Token {stack.key}", "Content-Type": "application/json"}
    ids: list[str] = []
    lock = threading.Lock()
    counter = iter(range(jobs))

    def client() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                try:
                    response = session.post(f"{stack.url}/api/v1/tokenize/", data=body, headers=headers, timeout=120)
                    with lock:
                        if response.status_code == 202:
                            ids.append(response.json()["id"])
                        else:
                            result.submit_failures.append(f"HTTP {response.status_code}")
                except requests.RequestException as exc:
                    with lock:
                        result.submit_failures.append(type(exc).__name__)

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    result.submit_s = time.perf_counter() - began
    deadline = time.monotonic() + timeout_s
    while True:
        counts = {
            row["status"]: row["n"] for row in Job.objects.filter(pk__in=ids).values("status").annotate(n=Count("id"))
        }
        finished = sum(n for status, n in counts.items() if status in ("succeeded", "failed", "cancelled"))
        if finished == len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    result.drain_s = time.perf_counter() - began
    result.statuses = counts
    return result


# report --------------------------------------------------------------------------------------------------------------


def throughput(level: LevelResult) -> float:
    return len(level.latencies) / level.wall_s if level.wall_s else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def report(
    levels: list[LevelResult], fanout: FanoutResult, drain: DrainResult, web_processes: int, load: tuple[float, float]
) -> str:
    rows = []
    for level in levels:
        done = len(level.latencies)
        rows.append(
            [
                str(level.clients),
                str(done + len(level.failures)),
                str(len(level.failures)),
                f"{throughput(level):.1f}",
                ms(statistics.median(level.latencies)),
                ms(percentile(level.latencies, 99)),
            ]
        )
    by_clients = {level.clients: level for level in levels}
    ratio = percentile(by_clients[10].latencies, 99) / percentile(by_clients[1].latencies, 99)
    failures = sum(len(level.failures) for level in levels)
    scaling = throughput(by_clients[10]) / throughput(by_clients[1])
    expected = fanout.subscribers * fanout.events
    succeeded = drain.statuses.get("succeeded", 0)
    lost = drain.jobs - succeeded
    parts = [
        f"Server: `web_command` with {web_processes} web processes (uvicorn), one Celery worker with 2 processes, "
        "SQLite, the bundled Redis; clients in one more process on the same machine. **The machine is a shared 2-core "
        f"box under load from other work running at the same time** (1-minute load average {load[0]:.1f} when the "
        f"run started, {load[1]:.1f} when it ended): absolute numbers are low and noisy.",
        "",
        "**Tokenize requests** (1 kB, `tiktoken:cl100k_base`, answered in the request; keep-alive clients):",
        "",
        table(["clients", "requests", "failed", "requests/s", "p50 ms", "p99 ms"], rows),
        "",
        f"p99 at 10 clients / p99 at 1 client = **{ratio:.1f}x** (target ≤ 3x: "
        f"{'met' if ratio <= 3 else 'not met'}); requests/s at 10 clients / at 1 client = {scaling:.1f}x; "
        f"failed requests: **{failures}** (target 0).",
        "",
        f"**Websocket fan-out**: {fanout.subscribers} subscribers (session cookie) to {fanout.jobs} running jobs, "
        f"{fanout.events} progress events per job reported through `job_report_progress`:",
        "",
        table(
            [
                "events expected",
                "delivered",
                "subscribers incomplete",
                "connect failures",
                "p50 ms",
                "p99 ms",
                "max ms",
            ],
            [
                [
                    str(expected),
                    str(fanout.received),
                    str(fanout.incomplete),
                    str(len(fanout.connect_failures)),
                    ms(statistics.median(fanout.latencies)) if fanout.latencies else "-",
                    ms(percentile(fanout.latencies, 99)) if fanout.latencies else "-",
                    ms(max(fanout.latencies)) if fanout.latencies else "-",
                ]
            ],
        ),
        "",
        f"**{drain.jobs} small jobs queued at once** (3 kB tokenize jobs, 10 submitting clients):",
        "",
        table(
            ["submitted", "submit failures", "succeeded", "failed or lost", "submit s", "drain s", "jobs/s"],
            [
                [
                    str(drain.jobs - len(drain.submit_failures)),
                    str(len(drain.submit_failures)),
                    str(succeeded),
                    str(lost),
                    f"{drain.submit_s:.1f}",
                    f"{drain.drain_s:.1f}",
                    f"{succeeded / drain.drain_s:.1f}",
                ]
            ],
        ),
    ]
    return "\n".join(parts)


def django_in_this_process(stack: Stack) -> None:
    """Read and write the stack's database and Redis from here, as a worker process does."""
    import django

    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "TOKENSCOPE_LOCAL_AUTOLOGIN"):
        os.environ[name] = stack.env[name]
    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer requests, events and jobs")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    per_client = {1: 20, 10: 4, 50: 2} if args.quick else {1: 100, 10: 30, 50: 10}
    env = {"JOB_CREATE_RATE": "", "TOKENIZE_SYNC_MAX_BYTES": str(SYNC_LIMIT)}
    load_before = os.getloadavg()[0]
    with started_stack(extra_env=env, worker_concurrency=2) as stack:
        django_in_this_process(stack)
        from webapp.devstack import web_processes

        for _ in range(2):  # every web process loads the tokenizer once before anything is timed
            tokenize_level(stack, 10, 1)
        levels = []
        for clients, count in per_client.items():
            levels.append(tokenize_level(stack, clients, count))
            print(f"tokenize: {clients} clients done", flush=True)
        fanout = websocket_fanout(stack, 200, 4, 10 if args.quick else 50, 0.1)
        print("websockets done", flush=True)
        drain = job_drain(stack, 100 if args.quick else 1000)
        print("drain done", flush=True)
        body = report(levels, fanout, drain, web_processes(), (load_before, os.getloadavg()[0]))
        print(body, flush=True)
        if not args.no_write:
            write_section("load", body)


if __name__ == "__main__":
    main()
