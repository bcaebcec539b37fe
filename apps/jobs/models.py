"""A Job: one unit of work run by a worker (or inline, for small tokenizations), and its stored result."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from apps.core.fast_json import FastJSONField


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, db_index=True)
    title = models.CharField(max_length=200, blank=True)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="jobs")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="jobs")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict)
    input_upload = models.ForeignKey("uploads.Upload", on_delete=models.SET_NULL, null=True, blank=True)
    result = FastJSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    versions = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=16, default="cpu")
    task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "kind", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}:{self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES
