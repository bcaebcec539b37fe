"""Thin Celery adapters: ids in, the job runner does the rest."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import shared_task
from celery.signals import worker_init, worker_ready

from workers.models.device import WORKER_PROCESSES_ENV

logger = logging.getLogger(__name__)


@shared_task(name="tokenscope.run_job", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(self: Any, job_id: str) -> None:
    from apps.jobs.runner import job_execute

    job_execute(job_id=job_id, worker=self.request.hostname or "worker")


@worker_init.connect
def record_worker_processes(sender: Any, **_: Any) -> None:
    """Tell the pool's processes (forked after this, so they inherit the environment) how many of them share the
    cores: ``workers.models.device.configure_threads`` gives each its share."""
    if isinstance(sender.concurrency, int):
        os.environ[WORKER_PROCESSES_ENV] = str(sender.concurrency)


@worker_ready.connect
def reap_stale_jobs(**_: Any) -> None:
    """A worker that starts fails jobs left 'running' by a worker that died without a trace."""
    from apps.jobs.services import job_reap_stale

    reaped = job_reap_stale()
    if reaped:
        logger.warning("Marked %d abandoned job(s) as failed", reaped)
