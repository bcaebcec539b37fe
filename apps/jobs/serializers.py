from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.jobs.models import Job


class JobSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", allow_null=True, read_only=True)
    team = serializers.CharField(source="team.slug", read_only=True)
    permalink = serializers.SerializerMethodField()
    result = serializers.JSONField(read_only=True, allow_null=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "title",
            "status",
            "progress",
            "message",
            "params",
            "result",
            "error",
            "versions",
            "owner",
            "team",
            "created_at",
            "started_at",
            "finished_at",
            "permalink",
        ]
        read_only_fields = fields

    def get_permalink(self, job: Job) -> str:
        return f"/results/{job.id}"


class JobSummarySerializer(JobSerializer):
    """History rows: everything but the (possibly large) result."""

    class Meta(JobSerializer.Meta):
        fields = [f for f in JobSerializer.Meta.fields if f != "result"]
        read_only_fields = fields


def job_snapshot(job: Job) -> dict[str, Any]:
    """The job as pushed over the websocket: everything but the result, which can be megabytes.

    ``result_available`` tells the client to fetch ``GET /api/v1/jobs/<id>/`` for it.
    """
    return dict(JobSummarySerializer(job).data, result_available=job.result is not None)
