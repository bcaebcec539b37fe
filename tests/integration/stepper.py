"""A test-only job kind that the real worker runs through the real runner: timed steps, optionally one long silent one.

The product's kinds take as long as the machine makes them; fault tests need a job that is surely still running when
the fault is injected, that reports on a known schedule (a progress event and a ``job.partial`` per step), and that
can stay silent for longer than the heartbeat timeout, as a model load does. The kinds are registered in the test
process by a fixture and in the worker by starting it as ``python -m tests.integration.stepper <celery arguments>``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

from apps.jobs.kinds import JOB_KINDS, JobKind

STEPS_KIND = "test_steps"  # routed to the cpu queue
STEPS_GPU_KIND = "test_steps_gpu"  # routed to the gpu queue

KINDS = {
    name: JobKind(name, queue, 120, "tests.integration.stepper:run", "tests.integration.stepper:build_inputs")
    for name, queue in ((STEPS_KIND, "cpu"), (STEPS_GPU_KIND, "gpu"))
}


def register() -> None:
    JOB_KINDS.update(KINDS)


def build_inputs(job: Any) -> dict[str, Any]:
    return dict(job.params)


def run(inputs: dict[str, Any], report: Callable[..., None]) -> dict[str, Any]:
    """``steps`` steps of ``step_s`` seconds, each reported with a partial ``{"step": n}``; before step ``silent_at``
    (0-based) the pipeline sleeps ``silent_s`` seconds without reporting anything."""
    steps = int(inputs.get("steps", 5))
    step_s = float(inputs.get("step_s", 0.1))
    silent_at, silent_s = inputs.get("silent_at"), float(inputs.get("silent_s", 0.0))
    for index in range(steps):
        if index == silent_at:
            time.sleep(silent_s)
        time.sleep(step_s)
        report((index + 1) / steps, f"step {index + 1}/{steps}", {"step": index + 1})
    return {"steps": steps, "worker_pid": os.getpid()}


if __name__ == "__main__":  # a real Celery worker that also knows the test kinds (argv: the celery command's arguments)
    register()
    from celery.bin.celery import main

    sys.argv = ["celery", *sys.argv[1:]]
    sys.exit(main())
