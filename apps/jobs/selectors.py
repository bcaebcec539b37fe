"""Reads for jobs. A job is visible to members of its team and to nobody else."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from apps.accounts.models import Role, Team
from apps.accounts.selectors import role_at_least
from apps.core.errors import NotFound, PermissionDenied
from apps.jobs.models import Job


def job_get_for_user(*, user: User | AnonymousUser, job_id: Any, min_role: Role = Role.VIEWER) -> Job:
    """The job if the user is in its team; otherwise 404 (another team's job ids are not confirmed to exist)."""
    if not isinstance(user, User):
        raise NotFound("No such job in your teams.")
    job = Job.objects.select_related("team", "owner").filter(pk=job_id).first()
    membership = job.team.memberships.filter(user=user).first() if job is not None else None
    if job is None or membership is None:
        raise NotFound("No such job in your teams.")
    if not role_at_least(membership.role, min_role):
        raise PermissionDenied(f"Your role in '{job.team.slug}' is {membership.role}; this needs {min_role}.")
    return job


def job_list_for_team(*, team: Team, kind: str | None = None, status: str | None = None) -> QuerySet[Job]:
    jobs = Job.objects.filter(team=team).select_related("team", "owner")
    if kind:
        jobs = jobs.filter(kind=kind)
    if status:
        jobs = jobs.filter(status=status)
    return jobs.order_by("-created_at")
