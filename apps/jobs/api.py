"""Jobs API: the team's history, one job, cancel, export, re-run from the manifest, tickets for the job websocket."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Role
from apps.accounts.request_team import request_user, team_for_request
from apps.accounts.ws_tickets import ws_ticket_issue
from apps.core.errors import ApplicationError
from apps.core.pagination import StandardPagination
from apps.core.schema import error_response
from apps.core.throttling import JobCreationThrottle
from apps.jobs import exporters, reruns, selectors, services
from apps.jobs.serializers import JobSerializer, JobSummarySerializer


class JobListApi(APIView):
    pagination_class = StandardPagination  # also tells the schema the answer is a page object

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, description="Only jobs of this kind (e.g. tokenize)."),
            OpenApiParameter("status", str, description="Only jobs in this status."),
            OpenApiParameter("team", str, description="Team slug (or send the X-Team header)."),
        ],
        responses=JobSummarySerializer(many=True),
        operation_id="jobs_list",
    )
    def get(self, request: Request) -> Response:
        services.job_reap_stale()
        membership = team_for_request(request)
        jobs = selectors.job_list_for_team(
            team=membership.team, kind=request.query_params.get("kind"), status=request.query_params.get("status")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(JobSummarySerializer(page, many=True).data)


class JobDetailApi(APIView):
    @extend_schema(responses=JobSerializer, operation_id="jobs_retrieve")
    def get(self, request: Request, job_id: str) -> Response:
        services.job_reap_stale()
        return Response(JobSerializer(selectors.job_get_for_user(user=request.user, job_id=job_id)).data)


class JobCancelApi(APIView):
    @extend_schema(
        request=None,
        responses={200: JobSerializer, 409: error_response("The job has already finished.")},
        operation_id="jobs_cancel",
    )
    def post(self, request: Request, job_id: str) -> Response:
        job = selectors.job_get_for_user(user=request.user, job_id=job_id, min_role=Role.MEMBER)
        return Response(JobSerializer(services.job_cancel(job=job)).data)


class JobExportApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format", str, enum=["json", "csv", "npz"], description="json (default), csv, or npz (media codes)"
            )
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            409: error_response("The job has no result yet (queued, running, failed or cancelled)."),
        },
        operation_id="jobs_export",
    )
    def get(self, request: Request, job_id: str) -> HttpResponse:
        job = selectors.job_get_for_user(user=request.user, job_id=job_id)
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "csv", "npz"):
            raise ApplicationError("Unknown export format; use format=json, format=csv or format=npz.")
        if job.result is None:
            raise ApplicationError(
                f"This job is {job.status}; only finished jobs with a result can be exported.", status=409
            )
        body, content_type = exporters.export_job(job=job, fmt=fmt)
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="tokenscope-{job.kind}-{job.id}.{fmt}"'
        return response


class JobRerunApi(APIView):
    throttle_classes = [JobCreationThrottle]

    @extend_schema(
        request=None,
        responses={
            201: JobSerializer,
            202: JobSerializer,
            409: error_response("The job has no manifest or its stored input no longer matches it."),
        },
        operation_id="jobs_rerun",
        description="Submit the run a finished job's manifest describes (same parameters, tokenizers, models and "
        "seed) as a new job of the same team. 201 with the result when it ran in the request (small tokenizations), "
        "202 with a queued job otherwise. Tokenize and speculative results can be re-run.",
    )
    def post(self, request: Request, job_id: str) -> Response:
        job = selectors.job_get_for_user(user=request.user, job_id=job_id, min_role=Role.MEMBER)
        new_job, ran_inline = reruns.job_rerun(job=job, user=request_user(request))
        code = status.HTTP_201_CREATED if ran_inline else status.HTTP_202_ACCEPTED
        return Response(JobSerializer(new_job).data, status=code)


class WsTicketCreateApi(APIView):
    class WsTicketInputSerializer(serializers.Serializer):
        job_id = serializers.UUIDField(required=False, help_text="Bind the ticket to this job (one of your teams').")

    class WsTicketSerializer(serializers.Serializer):
        ticket = serializers.CharField(help_text="Offer it as the subprotocol 'tokenscope.ticket.<ticket>'.")
        expires_at = serializers.DateTimeField()
        job_id = serializers.UUIDField(allow_null=True)

    @extend_schema(
        request=WsTicketInputSerializer,
        responses={201: WsTicketSerializer, 503: error_response("Redis cannot be reached; try again shortly.")},
        operation_id="ws_tickets_create",
        description="A single-use ticket that signs a websocket in (for clients that cannot send a header on a "
        "websocket, such as browsers): offer the subprotocols ['tokenscope', 'tokenscope.ticket.<ticket>'] on "
        "/ws/jobs/<id>/ within WS_TICKET_TTL_S seconds (60 by default). With job_id it opens only that job.",
    )
    def post(self, request: Request) -> Response:
        data = self.WsTicketInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job_id = data.validated_data.get("job_id")
        if job_id is not None:
            selectors.job_get_for_user(user=request.user, job_id=job_id)  # 404 unless the job is in one of your teams
        ticket = ws_ticket_issue(user=request_user(request), job_id=job_id)
        payload = {"ticket": ticket.ticket, "expires_at": ticket.expires_at, "job_id": job_id}
        return Response(self.WsTicketSerializer(payload).data, status=status.HTTP_201_CREATED)
