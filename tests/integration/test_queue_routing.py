"""Scaling out, as docs/deployment.md describes it: workers that serve only the cpu queue or only the gpu queue, each
a separate process pointed at the same Redis and database (here one machine stands in for several)."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import pytest

from apps.jobs.models import Job, JobStatus
from tests.conftest import ManagedProcess, start_worker, wait_for
from tests.factories import make_team, make_user
from tests.integration.conftest import step_job
from tests.integration.stepper import STEPS_GPU_KIND, STEPS_KIND

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _succeeded(job: Job) -> bool:
    return Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED


@pytest.mark.usefixtures("step_kinds")
def test_jobs_reach_only_the_workers_of_their_queue_and_gpu_workers_scale_out(
    embedded_redis: str, tmp_path: Path
) -> None:
    """Catches a job sent to the wrong queue (a model job on a CPU-only worker, or a cheap one held by the GPU) and
    GPU workers that cannot be added beside the first: a gpu job waits until a gpu worker exists, each job runs on a
    worker of its queue, and two gpu workers share the gpu queue."""
    user = make_user("router")
    team = make_team("Routing team", user)
    workers: list[ManagedProcess] = []

    def add_worker(queue: str, name: str) -> ManagedProcess:
        worker = start_worker(
            embedded_redis, tmp_path / f"{name}.log", queues=queue, name=f"{name}@%h", with_test_kinds=True
        )
        workers.append(worker)
        return worker

    try:
        cpu = add_worker("cpu", "cpu")
        cheap = step_job(user, team, kind=STEPS_KIND, steps=2, step_s=0.05)
        model = step_job(user, team, kind=STEPS_GPU_KIND, steps=2, step_s=0.05)
        assert (cheap.queue, model.queue) == ("cpu", "gpu")
        wait_for(lambda: _succeeded(cheap), 60, "cpu job done", cpu)
        time.sleep(2)  # the cpu worker had every chance to take the gpu job too
        assert Job.objects.get(pk=model.pk).status == JobStatus.QUEUED, "a cpu-only worker took a gpu job"

        gpu1 = add_worker("gpu", "gpu1")  # a GPU machine joins
        wait_for(lambda: _succeeded(model), 60, "gpu job done once a gpu worker exists", gpu1)
        assert Job.objects.get(pk=cheap.pk).worker.startswith("cpu@")
        assert Job.objects.get(pk=model.pk).worker.startswith("gpu1@")

        add_worker("gpu", "gpu2")  # a second one: `docker compose up --scale worker-gpu=2`, or another host
        batch = [step_job(user, team, kind=STEPS_GPU_KIND, steps=10, step_s=0.3) for _ in range(2)]
        for job in batch:
            wait_for(partial(_succeeded, job), 90, "gpu batch done", gpu1)
        ran_on = {Job.objects.get(pk=job.pk).worker.split("@")[0] for job in batch}
        assert ran_on == {"gpu1", "gpu2"}, ran_on  # one job each: prefetch 1, one process per GPU worker
        assert not any(str(job.pk) in cpu.log() for job in (model, *batch)), "the cpu worker saw a gpu job"
    finally:
        for worker in workers:
            worker.stop()
