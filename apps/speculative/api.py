"""``POST /api/v1/speculative/``: run a target + drafter on a prompt, traced step by step, as a job."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Role
from apps.accounts.request_team import request_user, team_for_request
from apps.core.throttling import JobCreationThrottle
from apps.jobs.serializers import JobSerializer
from apps.speculative.drafts import draft_submit
from apps.speculative.services import speculative_submit


class SpeculativeInputSerializer(serializers.Serializer):
    target = serializers.CharField(help_text="Bundled model id, local folder or Hugging Face id.")
    method = serializers.ChoiceField(choices=["speculative", "autoregressive"], default="speculative")
    drafter = serializers.DictField(required=False, help_text="{kind, ...parameters}; see docs/speculative.md")
    prompt = serializers.CharField(trim_whitespace=False, max_length=100_000)
    chat_template = serializers.BooleanField(default=False)
    gamma = serializers.IntegerField(required=False)
    adaptive_gamma = serializers.BooleanField(default=False)
    max_new_tokens = serializers.IntegerField(required=False)
    temperature = serializers.FloatField(required=False)
    top_p = serializers.FloatField(required=False)
    top_k = serializers.IntegerField(required=False)
    seed = serializers.IntegerField(required=False)
    run_baseline = serializers.BooleanField(default=True)


class SpeculativeRunApi(APIView):
    throttle_classes = [JobCreationThrottle]

    @extend_schema(request=SpeculativeInputSerializer, responses={202: JobSerializer}, operation_id="speculative_run")
    def post(self, request: Request) -> Response:
        membership = team_for_request(request, min_role=Role.MEMBER)
        data = SpeculativeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        inputs = {key: value for key, value in data.validated_data.items() if value is not None}
        job = speculative_submit(membership=membership, user=request_user(request), inputs=inputs)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class DraftDistillInputSerializer(serializers.Serializer):
    target = serializers.CharField(help_text="The model the draft is for (bundled id, local folder or hub id).")
    num_layers = serializers.IntegerField(required=False, help_text="Draft depth, 2–8 (default 4).")
    prompts = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Extra prompts for the training corpus (added to a built-in set).",
    )
    num_sequences = serializers.IntegerField(required=False, help_text="Generated sequences, 8–2048 (default 128).")
    max_new_tokens = serializers.IntegerField(required=False, help_text="Tokens per sequence, 16–256 (default 96).")
    max_steps = serializers.IntegerField(required=False, help_text="Training steps, 1–20000 (default 300).")
    time_budget_s = serializers.IntegerField(required=False, help_text="Seconds, 10–3600 (default 600).")
    seed = serializers.IntegerField(required=False)


class DraftDistillApi(APIView):
    throttle_classes = [JobCreationThrottle]

    @extend_schema(
        request=DraftDistillInputSerializer,
        responses={202: JobSerializer},
        operation_id="drafts_distill",
        description="Distil a small draft model sharing the target's tokenizer from the target's own "
        "generations (FastDraft-style). When the job succeeds the draft is listed by GET /api/v1/models/ "
        "(kind `distilled`) and can be used as `drafter.model` with the `draft_model` drafter.",
    )
    def post(self, request: Request) -> Response:
        membership = team_for_request(request, min_role=Role.MEMBER)
        data = DraftDistillInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = draft_submit(membership=membership, user=request_user(request), inputs=dict(data.validated_data))
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
