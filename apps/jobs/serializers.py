"""How jobs look in the API. Plain serializers (not ModelSerializer): they are on every request's hot path, and
ModelSerializer rebuilds its field mapping from the model on every instantiation."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.jobs.models import Job, JobStatus


class JobSummarySerializer(serializers.Serializer):
    """History rows and websocket snapshots: everything but the (possibly large) result."""

    id = serializers.UUIDField(read_only=True)
    kind = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=JobStatus.choices, read_only=True)
    progress = serializers.FloatField(read_only=True)
    message = serializers.CharField(read_only=True)
    params = serializers.JSONField(read_only=True)
    error = serializers.CharField(read_only=True)
    versions = serializers.JSONField(read_only=True)
    owner = serializers.CharField(source="owner.username", allow_null=True, read_only=True)
    team = serializers.CharField(source="team.slug", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    permalink = serializers.SerializerMethodField()

    def get_permalink(self, job: Job) -> str:
        return f"/results/{job.id}"


class JobSerializer(JobSummarySerializer):
    """A job with its stored result."""

    result = serializers.JSONField(read_only=True, allow_null=True)


def job_snapshot(job: Job) -> dict[str, Any]:
    """The job as pushed over the websocket: everything but the result, which can be megabytes.

    ``result_available`` tells the client to fetch ``GET /api/v1/jobs/<id>/`` for it.
    """
    return dict(JobSummarySerializer(job).data, result_available=job.result is not None)
