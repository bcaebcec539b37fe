"""Media API: the image and audio tokenizer catalogue (with the team's codebooks), tokenizing an uploaded file as a
job, training codebooks, the cross-modal budget, and a finished job's artifacts (docs/media.md, docs/api.md)."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Role
from apps.accounts.request_team import request_user, team_for_request
from apps.core.errors import ApplicationError
from apps.core.ranges import ranged_file_response
from apps.core.schema import error_response
from apps.core.throttling import JobCreationThrottle
from apps.jobs.selectors import job_get_for_user
from apps.jobs.serializers import JobSerializer
from apps.media import budget, selectors, services
from apps.media.limits import DEFAULT_MAX_SECONDS, MAX_AUDIO_SECONDS, MAX_TOKENIZERS, MAX_UPLOAD_BYTES
from apps.media.uploads import MediaUploadHandler

CONTENT_TYPES = {".png": "image/png", ".wav": "audio/wav", ".npz": "application/octet-stream"}


class MediaStatusSerializer(serializers.Serializer):
    installed = serializers.BooleanField()
    detail = serializers.CharField(allow_blank=True)
    install = serializers.CharField(allow_blank=True)


class MediaTokenizerSerializer(serializers.Serializer):
    id = serializers.CharField()
    modality = serializers.ChoiceField(choices=["image", "audio"])
    family = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field called 'label', not Field.label
    description = serializers.CharField()
    layout = serializers.ChoiceField(choices=["strip", "grid", "frames"])
    has_decoder = serializers.BooleanField()
    codebook_sizes = serializers.ListField(child=serializers.IntegerField())
    sample_rate = serializers.IntegerField(allow_null=True)
    frame_rate = serializers.FloatField(allow_null=True)
    image_size = serializers.IntegerField(allow_null=True)
    max_tokens = serializers.IntegerField(allow_null=True)
    source = serializers.CharField(allow_blank=True)  # type: ignore[assignment]  # a field called 'source'
    licence = serializers.CharField(allow_blank=True)
    status = MediaStatusSerializer()
    needs_ref = serializers.BooleanField()
    example_refs = serializers.ListField(child=serializers.CharField())
    team_codebook = serializers.DictField(allow_null=True, help_text="Set for the team's trained codebooks.")


class MediaTokenizerListApi(APIView):
    @extend_schema(
        responses=MediaTokenizerSerializer(many=True),
        operation_id="media_tokenizers_list",
        description="Every image and audio tokenizer: what it is, whether it is installed here (and how to install "
        "it), whether it needs a checkpoint reference; then the team's trained codebooks.",
    )
    def get(self, request: Request) -> Response:
        membership = team_for_request(request)
        return Response(MediaTokenizerSerializer(selectors.media_tokenizer_list(team=membership.team), many=True).data)


class MediaChoiceSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="A tokenizer id from GET /api/v1/media/tokenizers/.")
    ref = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="Entries with needs_ref: a hub id or folder."
    )


class MediaTokenizeInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False, help_text=f"An image or audio file, at most {MAX_UPLOAD_BYTES // 2**20} MiB."
    )
    upload_id = serializers.UUIDField(required=False, help_text="Or an earlier media upload of the team.")
    tokenizers = MediaChoiceSerializer(
        many=True, help_text=f"1–{MAX_TOKENIZERS} tokenizers (multipart: one JSON string, a list of {{id, ref?}})."
    )
    ks = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        allow_null=True,
        help_text="Images: prefix lengths of 1D tokenizers to reconstruct (default 1, 2, 4, ... all).",
    )
    max_seconds = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text=f"Audio: seconds analysed from the start (default {DEFAULT_MAX_SECONDS:g}, max "
        f"{MAX_AUDIO_SECONDS:g}).",
    )
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1, help_text="Decoder seed; 0.")


class MediaUploadSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField(help_text="image or audio (from the file's first bytes)")
    filename = serializers.CharField()
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField()


class MediaTokenizeResponseSerializer(serializers.Serializer):
    job = JobSerializer()
    upload = MediaUploadSerializer()


def _form_fields(request: Request) -> dict[str, Any]:
    """The request's fields as plain values (multipart sends lists as JSON strings); the file is not copied."""
    data: dict[str, Any] = {}
    fields: Any = request.data
    if not hasattr(fields, "get"):
        raise ApplicationError("Send a multipart form (with the file) or a JSON object (with upload_id).")
    for key in ("upload_id", "tokenizers", "ks", "max_seconds", "seed"):
        value = fields.get(key)
        if value is None or value == "":
            continue
        if key in ("tokenizers", "ks") and isinstance(value, str):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise ApplicationError(
                    f'{key} must be a JSON list, e.g. [{{"id": "audio/mulaw-8bit"}}] ({exc}).'
                ) from exc
        data[key] = value
    if isinstance(data.get("tokenizers"), list):
        data["tokenizers"] = [{"id": item} if isinstance(item, str) else item for item in data["tokenizers"]]
    file = request.FILES.get("file") if hasattr(request, "FILES") else None
    if file is not None:
        data["file"] = file
    return data


class MediaTokenizeApi(APIView):
    throttle_classes = [JobCreationThrottle]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        # Before anything reads the body (the CSRF check of a session reads the form): check while streaming.
        request.upload_handlers = [MediaUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        request={
            "multipart/form-data": MediaTokenizeInputSerializer,
            "application/json": MediaTokenizeInputSerializer,
        },
        responses={
            202: MediaTokenizeResponseSerializer,
            409: error_response("A chosen tokenizer is not installed on this server (extra.install says how)."),
            415: error_response("The file is not an image or audio format this server reads (judged by content)."),
        },
        operation_id="media_tokenize",
        description="Tokenize an image or audio clip with each chosen tokenizer as a job (the cpu queue): tokens, "
        "reconstructions, quality numbers and codebook usage; the result's shape is in docs/media.md. Size and type "
        "are checked while the file streams in, its header before the job is queued; a refusal stores nothing.",
    )
    def post(self, request: Request) -> Response:
        membership = team_for_request(request, min_role=Role.MEMBER)
        data = MediaTokenizeInputSerializer(data=_form_fields(request))
        data.is_valid(raise_exception=True)
        validated = dict(data.validated_data)
        file, upload_id = validated.pop("file", None), validated.pop("upload_id", None)
        options = {
            "tokenizers": [dict(item) for item in validated["tokenizers"]],
            "ks": validated.get("ks"),
            "max_seconds": validated.get("max_seconds"),
            "seed": validated.get("seed") or 0,
        }
        user = request_user(request)
        if (file is None) == (upload_id is None):
            raise ApplicationError("Send one input: a file, or the upload_id of an earlier media upload.")
        if file is not None:
            job, upload = services.media_tokenize_from_file(membership=membership, user=user, uploaded=file, **options)
        else:
            upload = selectors.media_upload_get_for_team(team=membership.team, upload_id=upload_id)
            job = services.media_tokenize_from_upload(membership=membership, user=user, upload=upload, **options)
        payload = {"job": JobSerializer(job).data, "upload": MediaUploadSerializer(upload).data}
        return Response(payload, status=status.HTTP_202_ACCEPTED)


class MediaCodebookInputSerializer(serializers.Serializer):
    modality = serializers.ChoiceField(choices=["image", "audio"])
    method = serializers.ChoiceField(
        choices=sorted({m for methods in services.CODEBOOK_METHODS.values() for m in methods}),
        help_text="image: kmeans-patch (a 2D grid) or progressive (coarse-to-fine 1D); audio: mel-units.",
    )
    codebook_size = serializers.IntegerField(help_text="Entries (k), 2–4096.")
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    uploads = serializers.ListField(
        child=serializers.UUIDField(), required=False, help_text="The team's media uploads; none: shipped samples."
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=80)


class MediaCodebookListCreateApi(APIView):
    throttle_classes = [JobCreationThrottle]  # counts POSTs only

    @extend_schema(responses=MediaTokenizerSerializer(many=True), operation_id="media_codebooks_list")
    def get(self, request: Request) -> Response:
        membership = team_for_request(request)
        return Response(
            MediaTokenizerSerializer(selectors.codebook_list_for_team(team=membership.team), many=True).data
        )

    @extend_schema(
        request=MediaCodebookInputSerializer,
        responses={202: JobSerializer},
        operation_id="media_codebooks_create",
        description="Train a codebook as a job (media_codebook) from the shipped samples (scikit-image's images, "
        "Codec2's example speech) or the team's media uploads; once it succeeds it is listed here and in "
        "GET /api/v1/media/tokenizers/ as <modality>/codebook-<job id>.",
    )
    def post(self, request: Request) -> Response:
        membership = team_for_request(request, min_role=Role.MEMBER)
        data = MediaCodebookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.media_codebook_submit(
            membership=membership,
            user=request_user(request),
            modality=data.validated_data["modality"],
            method=data.validated_data["method"],
            codebook_size=data.validated_data["codebook_size"],
            seed=data.validated_data.get("seed", 0),
            uploads=data.validated_data.get("uploads") or [],
            name=data.validated_data.get("name") or "",
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class BudgetRowSerializer(serializers.Serializer):
    modality = serializers.CharField(help_text="image, audio or text")
    id = serializers.CharField()
    label = serializers.CharField(allow_null=True)  # type: ignore[assignment]  # a field called 'label'
    unit = serializers.ChoiceField(choices=["second", "image", "page"])
    tokens = serializers.FloatField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    installed = serializers.BooleanField(required=False)


class BudgetSerializer(serializers.Serializer):
    page = serializers.DictField(help_text="The shipped page: chars, sha256.")
    rows = BudgetRowSerializer(many=True)


class MediaBudgetApi(APIView):
    @extend_schema(
        responses=BudgetSerializer,
        operation_id="media_budget",
        description="Tokens for 1 s of audio (frame rate x codebooks per frame), one image (at the tokenizer's "
        "working size) and one shipped ~3,000-character page of text (counted by each bundled text tokenizer).",
    )
    def get(self, request: Request) -> Response:
        membership = team_for_request(request)
        return Response(BudgetSerializer(budget.budget(selectors.media_tokenizer_list(team=membership.team))).data)


class MediaArtifactApi(APIView):
    @extend_schema(
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="A PNG the result lists."),
            (200, "audio/wav"): OpenApiResponse(OpenApiTypes.BINARY, description="A WAV the result lists."),
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="codes.npz"),
            (206, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The one byte range a GET's `Range` header asks for (`bytes=a-b`, `bytes=a-` or "
                "`bytes=-n`); `Content-Range` names it.",
            ),
            416: error_response("The range starts at or after the end of the file; `Content-Range: bytes */<size>`."),
        },
        parameters=[
            OpenApiParameter(
                "Range",
                str,
                OpenApiParameter.HEADER,
                description="One byte range of a GET, e.g. `bytes=0-1023`, `bytes=4096-` or `bytes=-1024`.",
            )
        ],
        operation_id="media_artifact",
        description="A file a finished media job's result names (original, reconstructions, spectrogram, codes), "
        "to the job's team only. Byte ranges are served (`Accept-Ranges: bytes`, so <audio> can seek): one range "
        "per request; a malformed or multi-range header, or one sent with `If-Range`, gets the whole file (200).",
    )
    def get(self, request: Request, job_id: str, name: str) -> HttpResponseBase:
        job = job_get_for_user(user=request.user, job_id=job_id)
        path = selectors.artifact_path_for(job=job, name=name)
        response = ranged_file_response(
            path,
            method=request.method or "GET",
            headers=request.headers,
            content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
            as_attachment=path.suffix == ".npz",
        )
        response["Cache-Control"] = "private, max-age=3600"
        return response
