"""Detection API: score texts or a labelled dataset as a job; build and list frequency tables; the shipped corpora and
the scores with their sign conventions. Results are followed and read through the jobs API (docs/api.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Role
from apps.accounts.request_team import request_user, team_for_request
from apps.core.errors import ApplicationError
from apps.core.schema import error_response
from apps.core.throttling import JobCreationThrottle
from apps.detection import datasets, selectors, services
from apps.jobs.serializers import JobSerializer
from apps.uploads.text_decoding import decode_text_file
from workers.detection import SCORES
from workers.pipelines.detection_common import MAX_MODELS, MAX_TEXT_CHARS, MAX_TEXTS, score_conventions
from workers.pipelines.detection_corpora import list_corpora

MODEL_HELP = "Model ids from GET /api/v1/models/ (bundled, the team's drafts, a hub id or an allowed folder)."


class ScoreParamsSerializer(serializers.Serializer):
    k = serializers.FloatField(required=False, help_text="Min-K% / Min-K%++ fraction of tokens, (0, 1]; 0.2.")
    dcpdd_a = serializers.FloatField(required=False, help_text="DC-PDD's clip a (> 0); 0.01.")
    lastde_embed = serializers.IntegerField(required=False, help_text="Lastde orbit size m (>= 2); 3.")
    lastde_epsilon = serializers.IntegerField(required=False, help_text="Lastde bins per token (>= 1); 10.")
    lastde_scales = serializers.IntegerField(required=False, help_text="Lastde scales (>= 2); 5.")
    max_tokens = serializers.IntegerField(
        required=False, help_text="Tokens scored per text, 2–8192 (longer texts keep their first tokens); 1024."
    )


class DetectCommonSerializer(serializers.Serializer):
    models = serializers.ListField(
        child=serializers.CharField(), min_length=1, max_length=MAX_MODELS, help_text=MODEL_HELP
    )
    scores = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SCORES)),
        min_length=1,
        help_text="Score names from GET /api/v1/detection/scores/.",
    )
    params = ScoreParamsSerializer(required=False)
    reference_model = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Calibration model of the reference ratio."
    )
    second_model = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Binoculars' performer / Fast-DetectGPT's sampling model; shares each model's tokenizer.",
    )
    frequency_table = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="A table id from GET .../frequency-tables/ (DC-PDD).",
    )
    batch_size = serializers.IntegerField(required=False, help_text="Texts per forward pass, 1–64; 8.")


class DetectTextInputSerializer(DetectCommonSerializer):
    texts = serializers.ListField(
        child=serializers.CharField(trim_whitespace=False, max_length=MAX_TEXT_CHARS, allow_blank=True),
        min_length=1,
        max_length=MAX_TEXTS,
        help_text=f"1–{MAX_TEXTS} texts, each at most {MAX_TEXT_CHARS:,} characters and at least two tokens.",
    )


def _inputs(validated: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in validated.items() if value is not None}


class DetectTextApi(APIView):
    throttle_classes = [JobCreationThrottle]

    @extend_schema(
        request=DetectTextInputSerializer,
        responses={202: JobSerializer},
        operation_id="detection_text",
        description="Score texts with each model and score as a job (the gpu queue). Follow it on /ws/jobs/<id>/; "
        "the result (docs/api.md, 'Detection results') has every score with its sign convention and the per-token "
        "quantities of the views.",
    )
    def post(self, request: Request) -> Response:
        membership = team_for_request(request, min_role=Role.MEMBER)
        data = DetectTextInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.detect_text_submit(
            membership=membership, user=request_user(request), inputs=_inputs(dict(data.validated_data))
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class DetectDatasetInputSerializer(DetectCommonSerializer):
    file = serializers.FileField(help_text="JSON lines, JSON, CSV or TSV (docs/api.md, 'Detection datasets').")
    layout = serializers.ChoiceField(choices=list(datasets.LAYOUTS), default="labelled")
    text_column = serializers.CharField(required=False, help_text="labelled: the text column (text, else input).")
    label_column = serializers.CharField(required=False, help_text="labelled: the 0/1 label column (label).")
    human_column = serializers.CharField(required=False, help_text="pairs: the human text column.")
    machine_column = serializers.CharField(required=False, help_text="pairs: the machine text column.")
    bootstrap = serializers.IntegerField(
        required=False, min_value=0, max_value=2000, help_text="Bootstrap resamples of the intervals; 1000."
    )
    seed = serializers.IntegerField(required=False, help_text="Seed of the bootstrap; 0.")


class DetectDatasetApi(APIView):
    throttle_classes = [JobCreationThrottle]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": DetectDatasetInputSerializer},
        responses={202: JobSerializer},
        operation_id="detection_dataset",
        description="Score every row of a labelled dataset (at most 10,000 rows) as one job with progress and "
        "cancel; the result has per-row scores and, per model and score, ROC, AUROC, TPR at 1%/5% FPR with "
        "bootstrap intervals, PR-AUC, histograms and a length breakdown. Send `models` and `scores` as repeated "
        "form fields and `params` as a JSON string.",
    )
    def post(self, request: Request) -> Response:
        membership = team_for_request(request, min_role=Role.MEMBER)
        fields: Any = request.data.copy()
        if isinstance(fields.get("params"), str):  # a JSON object sent as one form field
            fields["params"] = _json_field(fields["params"], "params")
        data = DetectDatasetInputSerializer(data=fields)
        data.is_valid(raise_exception=True)
        validated = dict(data.validated_data)
        dataset = datasets.parse_dataset(
            validated.pop("file"),
            layout=validated.pop("layout"),
            text_column=validated.pop("text_column", None),
            label_column=validated.pop("label_column", None),
            human_column=validated.pop("human_column", None),
            machine_column=validated.pop("machine_column", None),
        )
        job = services.detect_dataset_submit(
            membership=membership, user=request_user(request), inputs=_inputs(validated), dataset=dataset
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def _json_field(value: str, name: str) -> Any:
    import orjson

    try:
        parsed = orjson.loads(value) if value.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise ApplicationError(f"{name} must be a JSON object ({exc}).") from exc
    if not isinstance(parsed, dict):
        raise ApplicationError(f'{name} must be a JSON object such as {{"k": 0.2}}.')
    return parsed


class FrequencyTableSerializer(serializers.Serializer):
    id = serializers.CharField()
    model = serializers.CharField()
    tokenizer_id = serializers.CharField(allow_null=True)
    vocab_size = serializers.IntegerField(allow_null=True)
    tokenizer_hash = serializers.CharField(allow_null=True)
    corpus = serializers.DictField()
    texts = serializers.IntegerField(allow_null=True)
    total_tokens = serializers.IntegerField(allow_null=True)
    max_tokens_per_text = serializers.IntegerField(allow_null=True)
    created_at = serializers.CharField()


class FrequencyTableInputSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="The model whose tokenizer the table is for. " + MODEL_HELP)
    corpus = serializers.CharField(required=False, help_text="A shipped corpus id (GET /api/v1/detection/corpora/).")
    file = serializers.FileField(required=False, help_text="Or a text file: one text per non-empty line.")
    max_tokens_per_text = serializers.IntegerField(
        required=False, min_value=1, max_value=1_000_000, help_text="Count only each text's first tokens."
    )


class FrequencyTableListCreateApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    throttle_classes = [JobCreationThrottle]  # counts POSTs only (GETs pass)

    @extend_schema(responses=FrequencyTableSerializer(many=True), operation_id="detection_frequency_tables_list")
    def get(self, request: Request) -> Response:
        membership = team_for_request(request)
        tables = selectors.frequency_table_list_for_team(team=membership.team)
        return Response(FrequencyTableSerializer(tables, many=True).data)

    @extend_schema(
        request={
            "application/json": FrequencyTableInputSerializer,
            "multipart/form-data": FrequencyTableInputSerializer,
        },
        responses={202: JobSerializer, 409: error_response("The shipped corpus is not installed on this server.")},
        operation_id="detection_frequency_tables_create",
        description="Build a DC-PDD frequency table for a model's tokenizer from a shipped corpus or an uploaded "
        "text file, as a job; once it succeeds the table is listed here (its id is the job id).",
    )
    def post(self, request: Request) -> Response:
        membership = team_for_request(request, min_role=Role.MEMBER)
        data = FrequencyTableInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data.get("file")
        corpus_text, filename, encoding = None, "", "utf-8"
        if upload is not None:
            raw = datasets.read_upload_limited(upload, settings.DETECTION_CORPUS_MAX_BYTES)
            decoded = decode_text_file(raw, filename=upload.name or "")
            corpus_text, filename, encoding = decoded.text, upload.name or "corpus.txt", decoded.encoding
        job = services.frequency_table_submit(
            membership=membership,
            user=request_user(request),
            model=data.validated_data["model"],
            corpus=data.validated_data.get("corpus"),
            corpus_text=corpus_text,
            filename=filename,
            encoding=encoding,
            max_tokens_per_text=data.validated_data.get("max_tokens_per_text"),
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class CorpusSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    package = serializers.CharField()
    version = serializers.CharField(allow_null=True)
    licence = serializers.CharField()
    provenance = serializers.CharField()
    description = serializers.CharField()
    unit = serializers.CharField()
    installed = serializers.BooleanField()


class CorpusListApi(APIView):
    @extend_schema(responses=CorpusSerializer(many=True), operation_id="detection_corpora_list")
    def get(self, request: Request) -> Response:
        team_for_request(request)
        return Response(CorpusSerializer(list_corpora(), many=True).data)


class ScoreSpecSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field called 'label', not Field.label
    task = serializers.ChoiceField(choices=["membership", "machine"])
    higher_means = serializers.ChoiceField(choices=["member", "non-member", "machine", "human"])
    positive_is_higher = serializers.BooleanField()
    description = serializers.CharField()
    needs = serializers.ListField(child=serializers.CharField())
    source = serializers.CharField()  # type: ignore[assignment]  # a field called 'source', not Field.source


class ScoreListApi(APIView):
    @extend_schema(responses=ScoreSpecSerializer(many=True), operation_id="detection_scores_list")
    def get(self, request: Request) -> Response:
        team_for_request(request)
        return Response(ScoreSpecSerializer(score_conventions(list(SCORES)), many=True).data)
