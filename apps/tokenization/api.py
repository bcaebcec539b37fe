"""``POST /api/v1/tokenize/``: paste or upload text, choose 1–6 tokenizers, get (or follow) the saved result."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Role
from apps.accounts.request_team import request_user, team_for_request
from apps.core.errors import PayloadTooLarge
from apps.core.schema import error_response
from apps.core.sizes import format_mib
from apps.core.throttling import JobCreationThrottle
from apps.jobs.serializers import JobSerializer
from apps.tokenization.services import tokenize_submit
from apps.uploads.services import StoredBytes
from apps.uploads.text_decoding import decode_text_file


class AnyUnicodeField(serializers.CharField):
    """A CharField that keeps NUL and every other control character (DRF's CharField refuses NUL): the lab takes any
    Unicode text. Storage escapes NUL where the database cannot hold it (apps/core/nul_safe.py)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class TokenizeInputSerializer(serializers.Serializer):
    text = AnyUnicodeField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="The text to tokenize (or send `file`): any Unicode, control characters and NUL included.",
    )
    file = serializers.FileField(required=False, help_text="A text file (UTF-8, or an encoding that can be detected).")
    tokenizers = serializers.ListField(
        child=serializers.CharField(),
        min_length=1,
        max_length=6,
        help_text="1 to 6 tokenizer ids from GET /api/v1/tokenizers/.",
    )
    baseline = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="The tokenizer costs are relative to (default: the first).",
    )
    special_tokens = serializers.ChoiceField(
        choices=["plain", "special"],
        default="plain",
        help_text="How special-token strings in the text (`<|endoftext|>`, `[CLS]`) are read: `plain` text (as "
        "tiktoken's encode_ordinary), or `special` tokens where the tokenizer defines them (as AutoTokenizer, or "
        'tiktoken encode(allowed_special="all")).',
    )

    def validate(self, attrs: dict) -> dict:
        if "text" in attrs and "file" in attrs:
            raise serializers.ValidationError("Send either `text` or `file`, not both.")
        if "text" not in attrs and "file" not in attrs:
            raise serializers.ValidationError("Nothing to tokenize: send either `text` or `file` (a text file).")
        return attrs


class TokenizeApi(APIView):
    throttle_classes = [JobCreationThrottle]

    @extend_schema(
        request=TokenizeInputSerializer,
        responses={
            201: JobSerializer,
            202: JobSerializer,
            409: error_response("A chosen tokenizer is not installed on this server."),
        },
        operation_id="tokenize",
        description="Small text (≤ 100 kB) answers 201 with the finished result; larger text answers 202 with a "
        "queued job to follow on /ws/jobs/<id>/.",
    )
    def post(self, request: Request) -> Response:
        membership = team_for_request(request, min_role=Role.MEMBER)
        data = TokenizeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        filename, encoding, stored_as_is = "", "utf-8", None
        upload = data.validated_data.get("file")
        if upload is not None:
            if upload.size > settings.TOKENIZE_MAX_BYTES:
                raise PayloadTooLarge(
                    f"The file '{upload.name}' is {format_mib(upload.size)}; the limit is "
                    f"{format_mib(settings.TOKENIZE_MAX_BYTES)}. Split it into smaller files."
                )
            raw = upload.read()
            decoded = decode_text_file(raw, filename=upload.name or "")
            text, filename, encoding = decoded.text, upload.name or "", decoded.encoding
            if encoding == "utf-8":  # its bytes are the text's UTF-8: stored as they came, not re-encoded and copied
                stored_as_is = StoredBytes(data=raw, file=upload)
        else:
            text = data.validated_data["text"]
        outcome = tokenize_submit(
            membership=membership,
            user=request_user(request),
            text=text,
            tokenizers=data.validated_data["tokenizers"],
            baseline=data.validated_data.get("baseline") or None,
            special_tokens=data.validated_data["special_tokens"],
            filename=filename,
            encoding=encoding,
            stored_as_is=stored_as_is,
        )
        code = status.HTTP_201_CREATED if outcome.ran_inline else status.HTTP_202_ACCEPTED
        return Response(JobSerializer(outcome.job).data, status=code)
