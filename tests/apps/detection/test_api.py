"""Detection requests are validated before anything is saved: every refusal is a clear 400 and leaves no job."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Team
from apps.jobs.models import Job, JobStatus
from apps.uploads.models import Upload
from tests.factories import make_team, make_user, token_client

pytestmark = pytest.mark.django_db

TEXT = {
    "texts": ["The quick brown fox jumps over the lazy dog."],
    "models": ["smollm2-135m-instruct"],
    "scores": ["loss"],
}


@pytest.fixture
def team() -> Team:
    return make_team("Detection lab", make_user("detective"))


@pytest.fixture
def client(team: Team) -> APIClient:
    return token_client(team.memberships.get().user, team)


def _post_text(client: APIClient, **changes: Any) -> Any:
    return client.post("/api/v1/detection/text/", {**TEXT, **changes}, format="json")


def _upload(name: str, content: str | bytes) -> io.BytesIO:
    handle = io.BytesIO(content.encode("utf-8") if isinstance(content, str) else content)
    handle.name = name
    return handle


def _post_dataset(client: APIClient, name: str, content: str | bytes, **fields: Any) -> Any:
    data = {"models": ["smollm2-135m-instruct"], "scores": ["loss", "min_k"], **fields, "file": _upload(name, content)}
    return client.post("/api/v1/detection/datasets/", data, format="multipart")


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


MIXED = [
    {"input": "Paris is the capital and largest city of France.", "label": 1},
    {"input": "The stadium hosted the 2026 final in front of a record crowd.", "label": 0},
    {"input": "Water boils at one hundred degrees Celsius at sea level.", "label": 1},
]


def test_a_valid_text_run_is_queued_with_checked_parameters(
    client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    """Catches a detect_text request that is not queued on the gpu queue, whose stored parameters lose a choice, or
    whose texts are kept in the parameters every history page lists instead of the job's upload."""
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post_text(client, scores=["loss", "min_k"], params={"k": 0.1})
    assert response.status_code == 202, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.kind, job.queue, job.status) == ("detect_text", "gpu", JobStatus.QUEUED)
    assert job.params["scores"] == ["loss", "min_k"] and job.params["params"] == {"k": 0.1}
    assert job.params["texts"] == {"count": 1, "chars": [len(TEXT["texts"][0])]} and len(callbacks) == 1
    assert job.input_upload is not None
    assert json.loads(job.input_upload.file.open("rb").read()) == TEXT["texts"]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"texts": [""]}, "Text 1 is empty"),
        ({"texts": ["   "]}, "Text 1 is empty"),
        ({"texts": ["Hello"]}, "a single token for SmolLM2"),
        ({"models": ["no-such-model"]}, "unknown model 'no-such-model'"),
        ({"models": ["/etc"]}, "This path is none of these"),
        ({"scores": ["telepathy"]}, "telepathy"),
        ({"scores": ["reference"]}, "needs a reference model"),
        ({"scores": ["binoculars"]}, "Binoculars needs a second model"),
        ({"scores": ["binoculars"], "second_model": "gemma-3-270m"}, "different tokenizers"),
        ({"scores": ["dcpdd"]}, "DC-PDD needs a frequency table"),
        ({"scores": ["dcpdd"], "frequency_table": "not-a-table"}, "No frequency table 'not-a-table'"),
        ({"params": {"k": 0}}, "k must be in (0, 1]"),
        ({"params": {"max_tokens": 1}}, "max_tokens must be at least 2"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_text_requests_are_refused_and_nothing_is_saved(client: APIClient, changes: dict, fragment: str) -> None:
    """Catches a bad detect_text request that is queued (a job that can only fail), answers 500, or says nothing
    useful."""
    response = _post_text(client, **changes)
    assert response.status_code == 400, response.json()
    assert fragment in json.dumps(response.json(), ensure_ascii=False), response.json()
    assert Job.objects.count() == 0 and Upload.objects.count() == 0


def test_a_frequency_table_of_another_tokenizer_is_refused(
    client: APIClient, team: Team, settings: Any, tmp_path: Any
) -> None:
    """Catches DC-PDD run with a table whose token ids mean other tokens (a table built for Gemma on SmolLM2)."""
    settings.MEDIA_ROOT = str(tmp_path)
    from apps.detection.selectors import frequency_table_path

    table = Job.objects.create(
        team=team,
        owner=team.memberships.get().user,
        kind="frequency_table",
        status=JobStatus.SUCCEEDED,
        params={"model": "gemma-3-270m", "tokenizer_id": "tokenizers:gemma-3"},
        result={"vocab_size": 262144},
    )
    path = frequency_table_path(team_id=team.id, job_id=table.id)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"npz")
    listed = client.get("/api/v1/detection/frequency-tables/").json()
    assert [entry["id"] for entry in listed] == [str(table.id)]
    response = _post_text(client, scores=["dcpdd"], frequency_table=str(table.id))
    assert response.status_code == 400 and "built for another tokenizer" in response.json()["message"]
    assert Job.objects.filter(kind="detect_text").count() == 0


def test_another_teams_frequency_table_is_not_found(client: APIClient, settings: Any, tmp_path: Any) -> None:
    """Catches a detect request that reads another team's frequency table by its id."""
    settings.MEDIA_ROOT = str(tmp_path)
    other_owner = make_user("other-owner")
    other = make_team("Other lab", other_owner)
    table = Job.objects.create(
        team=other,
        owner=other_owner,
        kind="frequency_table",
        status=JobStatus.SUCCEEDED,
        params={"model": "smollm2-135m-instruct", "tokenizer_id": "tokenizers:smollm2"},
    )
    response = _post_text(client, scores=["dcpdd"], frequency_table=str(table.id))
    assert response.status_code == 400 and "No frequency table" in response.json()["message"]


def test_a_wikimia_style_jsonl_dataset_is_stored_with_its_job(client: APIClient, team: Team) -> None:
    """Catches a dataset job whose rows are not stored in the team's folder, or whose default columns miss the
    WikiMIA/MIMIR ``input``/``label`` layout."""
    response = _post_dataset(client, "wikimia.jsonl", _jsonl(MIXED))
    assert response.status_code == 202, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    assert job.kind == "detect_dataset" and job.input_upload is not None
    assert str(job.input_upload.file.name).startswith(f"{team.id}/uploads/")
    assert job.params["dataset"]["columns"] == {"text": "input", "label": "label"}
    assert (job.params["dataset"]["positives"], job.params["dataset"]["negatives"]) == (2, 1)


def test_a_pairs_csv_gives_two_rows_per_line(client: APIClient) -> None:
    """Catches the human-vs-machine pair layout labelled the wrong way round, or one row per pair."""
    csv_text = "original,sampled\nA human wrote this sentence today.,A model wrote this sentence today.\n"
    response = _post_dataset(client, "pairs.csv", csv_text, layout="pairs")
    assert response.status_code == 202, response.json()
    upload = Job.objects.get(pk=response.json()["id"]).input_upload
    assert upload is not None
    rows = [json.loads(line) for line in upload.file.open("rb").read().decode().splitlines()]
    assert [row["label"] for row in rows] == [0, 1]
    assert rows[0]["text"].startswith("A human")


@pytest.mark.parametrize(
    ("name", "content", "fields", "fragment"),
    [
        ("one.jsonl", _jsonl(MIXED[:1]), {}, "one row"),
        ("same.jsonl", _jsonl([MIXED[0], MIXED[2]]), {}, "both classes"),
        ("bad.jsonl", '{"input": "x", "label": 1}\n{"input": ', {}, "line 2 is not valid JSON"),
        ("deep.jsonl", "[" * 5000 + "]" * 5000 + "\n", {}, "not valid JSON"),
        ("cols.jsonl", _jsonl(MIXED), {"text_column": "body"}, "Columns found: input, label"),
        ("cols.csv", "txt,lab\nhello there,1\n", {}, "Columns found: txt, lab"),
        ("labels.jsonl", _jsonl([*MIXED, {"input": "Some text here.", "label": 2}]), {}, "holds 2"),
        ("labels.csv", "text,label\nAlpha beta.,member\nGamma delta.,0\n", {}, "'member'"),
        ("ragged.csv", "text,label\nAlpha beta.,1,extra\n", {}, "has 3 fields"),
        ("huge.csv", "text,label\n" + "x" * 140_000 + ",1\nshort text,0\n", {}, "at most 131,072 characters"),
        ("empty.jsonl", _jsonl([{"input": "", "label": 1}, MIXED[1]]), {}, "is empty"),
        ("data.xml", "<rows/>", {}, "upload a .jsonl, .json, .csv or .tsv file"),
        ("binary.csv", b"\x00\x01\x02\x03" * 100, {}, "binary"),
        ("short.jsonl", _jsonl([{"input": "Hello", "label": 1}, MIXED[1]]), {}, "single token"),
        ("pairs.jsonl", _jsonl([{"a": "x y", "b": "z w"}]), {"layout": "pairs"}, "no human text column 'human'"),
    ],
)
def test_bad_datasets_are_refused_and_nothing_is_saved(
    client: APIClient, name: str, content: str | bytes, fields: dict, fragment: str
) -> None:
    """Catches a hostile or malformed dataset that is stored, queued, crashes the request (500), or is refused with
    a message that does not say what to fix."""
    response = _post_dataset(client, name, content, **fields)
    assert response.status_code == 400, response.content[:300]
    assert fragment in response.json()["message"], response.json()
    assert Job.objects.count() == 0 and Upload.objects.count() == 0


def test_a_dataset_over_the_size_limit_is_refused_while_streaming(client: APIClient, settings: Any) -> None:
    """Catches a dataset upload accepted past DETECTION_DATASET_MAX_BYTES."""
    settings.DETECTION_DATASET_MAX_BYTES = 1000
    response = _post_dataset(client, "big.jsonl", _jsonl(MIXED * 20))
    assert response.status_code == 413 and "limit" in response.json()["message"]
    assert Job.objects.count() == 0


def test_a_dataset_over_the_row_limit_is_refused(client: APIClient) -> None:
    """Catches a dataset of more than 10,000 rows accepted (a job that outruns its time limit)."""
    rows = [{"text": f"row number {i} of many", "label": i % 2} for i in range(10_001)]
    response = _post_dataset(client, "many.jsonl", _jsonl(rows))
    assert response.status_code == 400 and "10,000 rows" in response.json()["message"]


def test_corpora_and_scores_are_listed_with_licences_and_signs(client: APIClient) -> None:
    """Catches a corpus listed without its licence or install state, or a score without its sign convention."""
    corpora = {c["id"]: c for c in client.get("/api/v1/detection/corpora/").json()}
    assert corpora["wikipedia-leads-en"]["licence"].startswith("CC BY-SA 4.0")
    assert corpora["shakespeare"]["installed"] is True
    scores = {s["name"]: s for s in client.get("/api/v1/detection/scores/").json()}
    assert scores["min_k"]["higher_means"] == "member" and scores["loss"]["higher_means"] == "non-member"
    assert scores["binoculars"]["positive_is_higher"] is False


def test_frequency_table_requests_are_checked(client: APIClient) -> None:
    """Catches a frequency table job queued for an unknown corpus, with two corpora, or with none."""
    url = "/api/v1/detection/frequency-tables/"
    assert "Unknown corpus" in client.post(url, {"model": "smollm2-135m-instruct", "corpus": "x"}).json()["message"]
    both = client.post(
        url,
        {"model": "smollm2-135m-instruct", "corpus": "shakespeare", "file": _upload("c.txt", "a b")},
        format="multipart",
    )
    assert both.status_code == 400 and "Choose one corpus" in both.json()["message"]
    assert client.post(url, {"model": "smollm2-135m-instruct"}, format="json").status_code == 400
    ok = client.post(url, {"model": "smollm2-135m-instruct", "corpus": "shakespeare"}, format="json")
    assert ok.status_code == 202, ok.json()
    job = Job.objects.get(pk=ok.json()["id"])
    assert (job.kind, job.params["corpus"], job.params["tokenizer_id"]) == (
        "frequency_table",
        {"shipped": "shakespeare"},
        "tokenizers:smollm2",
    )


@pytest.mark.parametrize(
    ("name", "content", "fields", "columns"),
    [
        (
            "fast_detectgpt.json",
            json.dumps(
                {
                    "original": ["A human wrote this line.", "Another human line here."],
                    "sampled": ["A model wrote this line.", "Another model line here."],
                }
            ),
            {"layout": "pairs"},
            {"human": "original", "machine": "sampled"},
        ),
        (
            "rows.json",
            json.dumps([{"text": "Alpha beta gamma.", "label": True}, {"text": "Delta epsilon.", "label": False}]),
            {},
            {"text": "text", "label": "label"},
        ),
        (
            "rows.tsv",
            "body\tis_member\nAlpha beta gamma.\t1\nDelta epsilon.\t0\n",
            {"text_column": "body", "label_column": "is_member"},
            {"text": "body", "label": "is_member"},
        ),
    ],
)
def test_json_and_tsv_layouts_are_read(client: APIClient, name: str, content: str, fields: dict, columns: dict) -> None:
    """Catches the Fast-DetectGPT object-of-lists file, a JSON array with boolean labels, or a TSV with chosen columns
    being refused or read into the wrong columns."""
    response = _post_dataset(client, name, content, **fields)
    assert response.status_code == 202, response.json()
    dataset = Job.objects.get(pk=response.json()["id"]).params["dataset"]
    expected = (2, 2) if fields.get("layout") == "pairs" else (1, 1)
    assert dataset["columns"] == columns
    assert (dataset["positives"], dataset["negatives"]) == expected


def test_a_table_deleted_before_the_job_runs_is_a_message_for_the_user(
    client: APIClient, team: Team, settings: Any, tmp_path: Any
) -> None:
    """Catches a job whose frequency table vanished failing as an 'internal error' instead of saying what happened."""
    from apps.detection.jobs import detect_text_inputs
    from apps.detection.selectors import frequency_table_path
    from apps.jobs.runner import user_facing_error

    settings.MEDIA_ROOT = str(tmp_path)
    table = Job.objects.create(
        team=team,
        owner=team.memberships.get().user,
        kind="frequency_table",
        status=JobStatus.SUCCEEDED,
        params={"model": "smollm2-135m-instruct", "tokenizer_id": "tokenizers:smollm2"},
        result={"vocab_size": 49152},
    )
    path = frequency_table_path(team_id=team.id, job_id=table.id)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"npz")
    response = _post_text(client, scores=["dcpdd"], frequency_table=str(table.id))
    assert response.status_code == 202, response.json()
    path.unlink()
    with pytest.raises(Exception) as raised:
        detect_text_inputs(Job.objects.get(pk=response.json()["id"]))
    assert user_facing_error(raised.value).startswith("No frequency table")
