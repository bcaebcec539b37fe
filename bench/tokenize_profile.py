"""Where the time of one ``POST /api/v1/tokenize/`` goes, in-process (no HTTP server, no network).

    .venv/bin/python -m bench.tokenize_profile [--size 1000] [--repeats 200] [--top 25]

Runs the real Django stack (authentication, team resolution, validation, the pipeline, saving the Job row, rendering
the JSON) through Django's test client against a throwaway SQLite database with the production settings' pragmas, and
prints (1) a split of the median request into its stages, measured by timing each stage separately, and (2) cProfile's
top functions by own time. Compare with bench/tokenize_bench.py, which adds the HTTP server and the client.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from bench.tokenize_bench import TOKENIZER, text_of


def median_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median wall ms, mean CPU ms of this process) per call. On a shared, loaded machine the wall time mostly
    measures waiting for a core; the CPU time is what the code costs."""
    samples = []
    cpu = time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), (time.process_time() - cpu) * 1000 / repeats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1000, help="text size in bytes")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime", help="cProfile sort key (tottime, cumulative)")
    parser.add_argument("--upload", action="store_true", help="a file upload run as a job: web part, then worker part")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tokenscope-profile-"))
    from webapp.embedded_redis import EmbeddedRedis, free_port

    redis = EmbeddedRedis(tmp / "redis", free_port(), persist=False).start()  # the throttle's cache lives there
    try:
        profile(args, tmp, redis.url)
    finally:
        redis.stop()


def profile(args: argparse.Namespace, tmp: Path, redis_url: str) -> None:
    os.environ.update(
        REDIS_URL=redis_url,
        JOB_CREATE_RATE="1000000/minute",  # the throttle still runs (one Redis round-trip) but never refuses
        DJANGO_SETTINGS_MODULE="webapp.settings.local",
        TOKENSCOPE_LOCAL_AUTOLOGIN="0",
        DATABASE_URL=f"sqlite:///{tmp}/profile.sqlite3",
        MEDIA_ROOT=str(tmp / "media"),
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1,testserver",  # the test client's and the ASGI test client's host names
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from apps.accounts.services import api_token_create, team_create
    from apps.core.fast_json import dumps
    from apps.jobs.models import Job
    from apps.jobs.serializers import JobSerializer
    from workers.pipelines import tokenize as pipeline
    from workers.text_tokenizers.catalog import load_tokenizer

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("profile", password="profile-password-123")
    team = team_create(name="Profile", owner=user)
    key = api_token_create(user=user, name="profile")[1]
    client = Client(HTTP_AUTHORIZATION=f"Token {key}", HTTP_HOST="127.0.0.1")
    text = text_of(args.size)
    body = {"text": text, "tokenizers": [TOKENIZER]}
    tokenizer = load_tokenizer(TOKENIZER)
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")

    def post() -> None:
        response = client.post("/api/v1/tokenize/", body, content_type="application/json")
        assert response.status_code == 201, response.content[:300]

    # Through the ASGI application the server runs (webapp.asgi: the body read in the event loop, then Django's
    # handler on the kept threads), on one event loop kept across requests as the server keeps it.
    from webapp.asgi import application

    loop = asyncio.new_event_loop()
    request_body = orjson.dumps(body)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/tokenize/",
        "raw_path": b"/api/v1/tokenize/",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(request_body)).encode()),
            (b"authorization", f"Token {key}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    def post_asgi() -> None:
        sent: list[dict[str, object]] = []
        messages = iter([{"type": "http.request", "body": request_body, "more_body": False}])

        async def receive() -> dict[str, object]:
            return next(messages, {"type": "http.disconnect"})

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        loop.run_until_complete(application(dict(scope), receive, send))
        assert sent[0]["status"] == 201, sent

    if args.upload:
        profile_upload(client, text, args)
        return
    for _ in range(10):
        post()
    result = pipeline.run({"text": text, "tokenizers": [TOKENIZER]}, None)
    job = Job.objects.filter(team=team).first()
    assert job is not None
    stages = {
        "library: tiktoken encode_ordinary": lambda: encoding.encode_ordinary(text),
        "adapter encode (ids, offsets, kinds)": lambda: tokenizer.encode(text),
        "pipeline run (+ stats, columns, manifest)": lambda: pipeline.run(
            {"text": text, "tokenizers": [TOKENIZER]}, None
        ),
        "orjson of the result": lambda: dumps(result),
        "Job row INSERT (ORM, WAL)": lambda: Job.objects.create(
            team=team, owner=user, kind="tokenize", params={}, status="succeeded", result=result
        ),
        "JobSerializer(job).data": lambda: JobSerializer(job).data,
        "whole request (test client, no HTTP)": post,
        "whole request (served ASGI app, no HTTP)": post_asgi,
    }
    print(f"{args.size} bytes, {len(result['results'][0]['tokens']['ids'])} tokens, result {len(dumps(result))} B")
    print(
        f"  load average (1 min) {os.getloadavg()[0]:.1f}; per call: median wall ms, mean CPU ms ({args.repeats} calls)"
    )
    for name, fn in stages.items():
        wall, cpu = median_ms(fn, args.repeats)
        print(f"  {name:45s} {wall:8.3f} ms wall {cpu:8.3f} ms CPU")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.repeats):
        post()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats(args.sort).print_stats(args.top)


def profile_upload(client: object, text: str, args: argparse.Namespace) -> None:
    """The upload path: the web request that stores the file and queues the job, then the worker's job in-process."""
    import tiktoken
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.jobs.kinds import job_kind
    from apps.jobs.models import Job
    from apps.jobs.runner import Reporter
    from apps.jobs.services import job_mark_running, job_succeed
    from workers.text_tokenizers.catalog import load_tokenizer

    load_tokenizer(TOKENIZER)
    encoding = tiktoken.get_encoding("cl100k_base")
    payload = text.encode()
    started = time.perf_counter()
    encoding.encode_ordinary(text)
    library_s = time.perf_counter() - started
    client.post(  # type: ignore[attr-defined]
        "/api/v1/tokenize/", {"file": SimpleUploadedFile("warm.txt", payload[:1000]), "tokenizers": [TOKENIZER]}
    )  # the first request imports the upload path's modules: not what a running server pays
    web_profiler = cProfile.Profile()
    started = time.perf_counter()
    web_profiler.enable()
    response = client.post(  # type: ignore[attr-defined]
        "/api/v1/tokenize/", {"file": SimpleUploadedFile("big.txt", payload), "tokenizers": [TOKENIZER]}
    )
    web_profiler.disable()
    web_s = time.perf_counter() - started
    assert response.status_code == 202, response.content[:300]
    job = Job.objects.get(pk=response.json()["id"])
    kind = job_kind(job.kind)
    running = job_mark_running(job_id=str(job.id), worker="profile")
    assert running is not None
    job = running
    started = time.perf_counter()
    inputs = kind.load_input_builder()(job)
    read_s = time.perf_counter() - started
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    result = kind.load_pipeline()(inputs, Reporter(job.id))
    profiler.disable()
    pipeline_s = time.perf_counter() - started
    started = time.perf_counter()
    job_succeed(job_id=job.id, result=result, versions=result.pop("versions", {}))
    save_s = time.perf_counter() - started
    total = web_s + read_s + pipeline_s + save_s
    print(f"{len(payload)} bytes uploaded; library encode_ordinary {library_s * 1000:.0f} ms")
    for name, seconds in [
        ("web: multipart, decode, validate, store file, queue", web_s),
        ("worker: read the stored text", read_s),
        ("worker: pipeline", pipeline_s),
        ("worker: save the result", save_s),
        ("sum (no queue latency, no polling)", total),
    ]:
        print(f"  {name:52s} {seconds * 1000:8.0f} ms")
    print(f"  throughput kept vs library (sum): {library_s / total:.0%}")
    print("web request:")
    pstats.Stats(web_profiler, stream=sys.stdout).sort_stats(args.sort).print_stats(args.top)
    print("worker pipeline:")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
