"""``POST /api/v1/speculative/``: run a target + drafter on a prompt, traced step by step, as a job."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Role
from apps.accounts.request_team import request_user, team_for_request
from apps.jobs.serializers import JobSerializer
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
    @extend_schema(request=SpeculativeInputSerializer, responses={202: JobSerializer}, operation_id="speculative_run")
    def post(self, request: Request) -> Response:
        membership = team_for_request(request, min_role=Role.MEMBER)
        data = SpeculativeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        inputs = {key: value for key, value in data.validated_data.items() if value is not None}
        job = speculative_submit(membership=membership, user=request_user(request), inputs=inputs)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
