"""Run one job: claim it, build its inputs, call its framework-free pipeline, report, store the outcome.

Used by the Celery task (``workers.tasks.run_job``). Progress is throttled, written to the row, then pushed; a
cancelled job stops at its next progress report; a heartbeat thread proves the worker is alive during long silent
steps such as loading a model.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import close_old_connections, connection

from apps.jobs import services
from apps.jobs.kinds import job_kind

logger = logging.getLogger(__name__)
MAX_HEARTBEAT_INTERVAL_S = 10.0


def heartbeat_interval_s() -> float:
    """Several beats per ``JOB_HEARTBEAT_TIMEOUT_S``: a fixed 10 s let the reaper fail live jobs in a long silent
    step (a model load) wherever an operator set the timeout below 10 s."""
    return min(MAX_HEARTBEAT_INTERVAL_S, max(0.1, settings.JOB_HEARTBEAT_TIMEOUT_S / 4))


class JobCancelled(Exception):
    """Raised inside a pipeline (from its report callback) when the user cancelled the job."""


class Reporter:
    """The ``report(progress, message, partial)`` callback handed to pipelines."""

    def __init__(self, job_id: Any, min_interval_s: float | None = None) -> None:
        self.job_id = job_id
        self.min_interval_s = settings.JOB_PROGRESS_MIN_INTERVAL_S if min_interval_s is None else min_interval_s
        self._last_write = 0.0

    def __call__(self, progress: float, message: str = "", partial: Any = None) -> None:
        now = time.monotonic()
        if partial is None and progress < 1.0 and now - self._last_write < self.min_interval_s:
            return
        self._last_write = now
        if not services.job_report_progress(job_id=self.job_id, progress=progress, message=message, partial=partial):
            raise JobCancelled()


class Heartbeat:
    """Touch the job's heartbeat from a side thread while the pipeline works."""

    def __init__(self, job_id: Any) -> None:
        self.job_id = job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def _beat(self) -> None:
        interval = heartbeat_interval_s()
        try:
            while not self._stop.wait(interval):
                try:
                    services.job_heartbeat(job_id=self.job_id)
                except Exception:  # noqa: BLE001 - a busy database must not end the beats for the rest of the job
                    logger.warning("Could not record the heartbeat of job %s", self.job_id, exc_info=True)
        finally:
            connection.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def job_execute(*, job_id: str, worker: str) -> None:
    close_old_connections()
    job = services.job_mark_running(job_id=job_id, worker=worker)
    if job is None:
        return
    kind = job_kind(job.kind)
    started = time.monotonic()
    try:
        with Heartbeat(job.id):  # reading the inputs (a large upload) is silent too
            inputs = kind.load_input_builder()(job)
            result = kind.load_pipeline()(inputs, Reporter(job.id))
        if time.monotonic() - started > kind.time_limit_s:
            # The time-limit signal is an exception raised wherever the pipeline happens to be; code that catches
            # broad exceptions there (a library, a best-effort step) can swallow it. The limit holds regardless.
            raise SoftTimeLimitExceeded()
        versions = result.pop("versions", {}) if isinstance(result, dict) else {}
        services.job_succeed(job_id=job.id, result=result, versions=versions)
    except Exception as exc:  # libraries may wrap our signals, so look through the exception chain
        if _caused_by(exc, JobCancelled):
            logger.info("Job %s was cancelled", job.id)
        elif _caused_by(exc, SoftTimeLimitExceeded):
            services.job_fail(
                job_id=job.id,
                error=f"The job exceeded its time limit of {kind.time_limit_s} s and was stopped. "
                "Try a shorter input or fewer tokenizers.",
            )
        else:
            logger.exception("Job %s failed", job.id)
            services.job_fail(job_id=job.id, error=user_facing_error(exc))
    finally:
        close_old_connections()


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """True when ``kind`` is anywhere in the exception's chain (libraries may wrap the time-limit signal)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def user_facing_error(exc: Exception) -> str:
    """Input errors raised by pipelines carry messages meant for users; anything else is labelled internal."""
    if getattr(exc, "user_facing", False):
        return str(exc)
    return f"Internal error while running the job ({type(exc).__name__}: {exc}). It has been logged."
