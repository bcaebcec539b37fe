"""The catalogue API: what can be chosen (tokenizers now; models follow)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Role
from apps.accounts.request_team import request_user, team_for_request
from apps.catalog import services


class TokenizerSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    family = serializers.CharField()
    algorithm = serializers.CharField()
    library = serializers.CharField()
    vocab_size = serializers.IntegerField()
    special_tokens = serializers.ListField(child=serializers.CharField())
    source = serializers.CharField()  # type: ignore[assignment]  # a field called 'source', not Field.source
    licence = serializers.CharField()
    description = serializers.CharField()
    available = serializers.BooleanField()
    builtin = serializers.BooleanField()


class TokenizerListCreateApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class TokenizerInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        file = serializers.FileField(required=False, help_text="tokenizer.json, SentencePiece .model or .tiktoken")
        hf_id = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text="Hugging Face hub id (owner/name), or a folder under TOKENSCOPE_ALLOWED_MODEL_ROOTS",
        )

    @extend_schema(responses=TokenizerSerializer(many=True), operation_id="tokenizers_list")
    def get(self, request: Request) -> Response:
        membership = team_for_request(request)
        return Response(TokenizerSerializer(services.tokenizer_list_for_team(team=membership.team), many=True).data)

    @extend_schema(
        request=TokenizerInputSerializer, responses={201: TokenizerSerializer}, operation_id="tokenizers_create"
    )
    def post(self, request: Request) -> Response:
        membership = team_for_request(request, min_role=Role.MEMBER)
        data = self.TokenizerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.custom_tokenizer_create(
            team=membership.team,
            user=request_user(request),
            name=data.validated_data["name"],
            file=data.validated_data.get("file"),
            reference=data.validated_data.get("hf_id", ""),
        )
        entry = services.tokenizer_describe(team=membership.team, tokenizer_id=row.catalog_id)
        return Response(TokenizerSerializer(entry).data, status=status.HTTP_201_CREATED)


class ModelSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    family = serializers.CharField()
    kind = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field called 'source', not Field.source
    licence = serializers.CharField()
    params = serializers.IntegerField(allow_null=True)
    context_length = serializers.IntegerField(allow_null=True)
    vocab_size = serializers.IntegerField(allow_null=True)
    tokenizer_id = serializers.CharField(allow_null=True)
    chat = serializers.BooleanField()
    available = serializers.BooleanField()
    status = serializers.CharField(help_text="'installed', or why not and the command that installs it")


class ModelListApi(APIView):
    @extend_schema(responses=ModelSerializer(many=True), operation_id="models_list")
    def get(self, request: Request) -> Response:
        from apps.speculative.drafts import draft_list_for_team
        from workers.models.catalog import list_models

        membership = team_for_request(request)
        models = list_models() + draft_list_for_team(team=membership.team)
        return Response(ModelSerializer(models, many=True).data)
