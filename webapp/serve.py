"""``python -m webapp.serve web|worker``: the hosted instance's processes (the image's CMD, the compose services).

Each execs the command line that ``webapp.devstack`` defines, so the embedded default and the hosted instance run the
same server configuration (web processes from the cores, frame cap, torch threads per worker process).
"""

from __future__ import annotations

import argparse
import os
import sys

from webapp.devstack import autologin_refusal, web_command, worker_command


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m webapp.serve")
    commands = parser.add_subparsers(dest="command", required=True)
    web = commands.add_parser("web", help="the ASGI server (HTTP and websockets)")
    web.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    web.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    worker = commands.add_parser("worker", help="a Celery worker")
    worker.add_argument("--queues", "-Q", default="cpu,gpu")
    worker.add_argument("--concurrency", "-c", type=int, default=2)
    worker.add_argument("--name", "-n", default=None, help="node name, e.g. gpu@%%h")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.local")
    if args.command == "web":
        refusal = autologin_refusal(args.host)
        if refusal:
            print(f"refusing to start: {refusal}", file=sys.stderr, flush=True)
            return 2
        command = web_command(args.host, args.port)
    else:
        command = worker_command(args.queues, args.concurrency, args.name)
    os.execv(command[0], command)
    return 0  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
