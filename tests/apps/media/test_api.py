"""The media API: uploads checked while they stream and probed before a job exists; every hostile file is a clear
4xx naming the file and leaving nothing behind (no row, no stored file); tokenizer choices are checked; the budget,
codebooks and artifacts answer the team only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.models import Team
from apps.jobs import services as job_services
from apps.jobs.models import Job, JobStatus
from apps.media.selectors import artifact_dir
from apps.uploads.models import Upload
from tests.apps.media import files
from tests.factories import make_team, make_user, token_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

MULAW = [{"id": "audio/mulaw-8bit"}]
KMEANS = [{"id": "image/kmeans-patch-256"}]


def _post(client: APIClient, data: bytes, name: str, tokenizers: Any = MULAW, **fields: Any) -> Any:
    body = {"file": files.named(data, name), "tokenizers": json.dumps(tokenizers), **fields}
    return client.post("/api/v1/media/tokenize/", body, format="multipart")


def _stored_files(team: Team) -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / str(team.id)
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def _assert_refused(response: Any, team: Team, status: int, *words: str) -> None:
    assert response.status_code == status, response.content[:400]
    message = response.json()["message"]
    for word in words:
        assert word.lower() in message.lower(), message
    assert Upload.objects.filter(team=team).count() == 0
    assert Job.objects.filter(team=team).count() == 0
    assert _stored_files(team) == []


def test_an_audio_upload_is_stored_in_the_team_folder_and_queued(client: APIClient, team: Team) -> None:
    """Catches a media upload stored outside the team's folder, a job without its upload or parameters, or a
    response without the job and upload the page needs."""
    response = _post(client, files.speech(), "speech.wav", MULAW + [{"id": "audio/codec2-3200"}], seed="7")
    assert response.status_code == 202, response.content[:400]
    body = response.json()
    job = Job.objects.get(pk=body["job"]["id"])
    upload = Upload.objects.get(pk=body["upload"]["id"])
    assert (job.kind, job.status, job.input_upload_id) == ("media_tokenize", JobStatus.QUEUED, upload.id)
    assert job.params["tokenizers"] == [
        {"id": "audio/mulaw-8bit", "ref": None},
        {"id": "audio/codec2-3200", "ref": None},
    ]
    assert job.params["max_seconds"] == 60.0 and job.params["seed"] == 7
    assert job.params["probe"]["sample_rate"] == 8000 and job.params["probe"]["format"] == "wav"
    assert (upload.kind, body["upload"]["kind"], upload.filename) == ("audio", "audio", "speech.wav")
    stored = str(upload.file.name)
    assert stored.startswith(f"{team.id}/uploads/") and stored.endswith(".wav")
    again = _post(client, files.speech(), "again.wav")
    assert again.json()["upload"]["id"] == str(upload.id)  # the same bytes are stored once


def test_an_image_upload_and_a_run_on_an_earlier_upload(client: APIClient, team: Team) -> None:
    """Catches an image refused or mis-typed, or an upload_id that cannot start a second run."""
    first = _post(client, files.png(40, 30), "gradient.png", KMEANS, ks="[1, 4]")
    assert first.status_code == 202, first.content[:400]
    assert first.json()["upload"]["kind"] == "image"
    job = Job.objects.get(pk=first.json()["job"]["id"])
    assert job.params["ks"] == [1, 4] and job.params["probe"]["width"] == 40
    second = client.post(
        "/api/v1/media/tokenize/",
        {"upload_id": first.json()["upload"]["id"], "tokenizers": [{"id": "image/progressive-1d"}]},
        format="json",
    )
    assert second.status_code == 202, second.content[:400]
    assert second.json()["upload"]["id"] == first.json()["upload"]["id"]


def test_a_lying_extension_is_judged_by_content(client: APIClient, team: Team) -> None:
    """Catches a type decided by the file name: a WAV named .png is audio, a PNG named .wav is an image."""
    wav = _post(client, files.tone(), "photo.png")
    assert wav.status_code == 202 and wav.json()["upload"]["kind"] == "audio"
    image = _post(client, files.png(), "clip.wav", MULAW)
    assert image.status_code == 400
    assert "audio/mulaw-8bit tokenizes audio" in image.json()["message"]


@pytest.mark.parametrize(
    ("data", "name", "status", "words"),
    [
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "paper.wav", 415, ("paper.wav", "PNG or WAV")),
        (b"", "empty.png", 415, ("empty.png",)),
        (files.png()[:40], "truncated.png", 400, ("truncated.png", "damaged or truncated")),
        (b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20, "corrupt.png", 400, ("corrupt.png",)),
        (files.png_header_only(100_000, 100_000), "bomb.png", 400, ("bomb.png", "too large")),
        (files.png_header_only(7000, 6000), "huge.png", 400, ("huge.png", "42.0 megapixels", "40 megapixels")),
        (files.tone()[:30], "truncated.wav", 400, ("truncated.wav", "corrupt or truncated")),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40, "corrupt.wav", 400, ("corrupt.wav",)),
        (files.long_clip(601), "long.wav", 400, ("long.wav", "600 s")),
    ],
    ids=["pdf", "empty", "truncated-png", "corrupt-png", "bomb", "over-pixels", "truncated-wav", "corrupt-wav", "long"],
)
def test_hostile_files_are_refused_with_nothing_saved(
    client: APIClient, team: Team, data: bytes, name: str, status: int, words: tuple[str, ...]
) -> None:
    """Catches a hostile file that crashes the request (500), is accepted, is refused without naming the file and
    what to do, or leaves an upload row or a stored file behind."""
    tokenizers = KMEANS if str(name).endswith(".png") and status != 415 else MULAW
    _assert_refused(_post(client, data, name, tokenizers), team, status, *words)


def test_documented_inputs_are_accepted(client: APIClient, team: Team) -> None:
    """Catches a refusal of inputs the docs say are handled: a one-pixel image, a 10-minute clip (the job analyses
    its first max_seconds), silence (the job says it is silent), a clip exactly at the limit."""
    assert _post(client, files.png(1, 1), "dot.png", KMEANS).status_code == 202
    ten = _post(client, files.long_clip(600), "ten-minutes.wav", max_seconds="30")
    assert ten.status_code == 202, ten.content[:300]
    assert Job.objects.get(pk=ten.json()["job"]["id"]).params["max_seconds"] == 30.0
    assert _post(client, files.silence(), "silence.wav").status_code == 202


def test_a_selection_problem_stores_nothing(client: APIClient, team: Team) -> None:
    """Catches an unknown id, a wrong modality, a needs-ref entry without a checkpoint, a server path outside the
    allow-list, a tokenizer that is not installed, or a bad max_seconds that still stores the upload."""
    cases: list[tuple[Any, dict[str, Any], int, str]] = [
        ([{"id": "audio/nope"}], {}, 400, "Unknown media tokenizer"),
        (KMEANS, {}, 400, "tokenizes image"),
        ([{"id": "audio/hf-codec"}], {}, 400, "needs a checkpoint"),
        ([{"id": "audio/hf-codec", "ref": "/etc"}], {}, 400, "none of these"),
        ([{"id": "audio/hf-codec", "ref": settings.MEDIA_ROOT}], {}, 400, "none of these"),
        ([{"id": "audio/mulaw-8bit", "ref": "x/y"}], {}, 400, "takes no ref"),
        (MULAW * 2, {}, 400, "chosen twice"),
        ([], {}, 400, "tokenizers"),
        (MULAW, {"max_seconds": "601"}, 400, "max_seconds"),
        (MULAW, {"ks": "[1, 2]"}, 400, "applies to images only"),  # refused, not silently ignored
        ("not json", {}, 400, "JSON list"),
    ]
    for tokenizers, fields, status, words in cases:
        response = client.post(
            "/api/v1/media/tokenize/",
            {
                "file": files.named(files.tone(), "tone.wav"),
                "tokenizers": tokenizers if isinstance(tokenizers, str) else json.dumps(tokenizers),
                **fields,
            },
            format="multipart",
        )
        _assert_refused(response, team, status, words)


def test_a_tokenizer_that_is_not_installed_is_a_409_with_the_install_step(
    client: APIClient, team: Team, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Catches a job queued for a tokenizer whose codebook was never built (it would fail in the worker), or a
    refusal that does not say how to install it."""
    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path / "empty-store"))
    response = _post(client, files.tone(), "tone.wav", [{"id": "audio/kmeans-mel-64"}])
    _assert_refused(response, team, 409, "audio/kmeans-mel-64", "not installed", "make setup")
    assert response.json()["extra"]["install"]


def test_another_teams_upload_and_codebook_are_not_found(client: APIClient, team: Team) -> None:
    """Catches a run or a codebook that reads another team's upload by id, or uses its codebook."""
    other_user = make_user("stranger")
    other = token_client(other_user, make_team("Other lab", other_user))
    theirs = _post(other, files.tone(), "theirs.wav").json()["upload"]["id"]
    response = client.post("/api/v1/media/tokenize/", {"upload_id": theirs, "tokenizers": MULAW}, format="json")
    assert response.status_code == 404 and "theirs" not in response.content.decode()
    codebook = client.post(
        "/api/v1/media/codebooks/",
        {"modality": "audio", "method": "mel-units", "codebook_size": 8, "uploads": [theirs]},
        format="json",
    )
    assert codebook.status_code == 404
    fake = client.post(
        "/api/v1/media/tokenize/",
        {"upload_id": theirs, "tokenizers": [{"id": "audio/codebook-00000000-0000-0000-0000-000000000000"}]},
        format="json",
    )
    assert fake.status_code == 404


def test_the_upload_stops_at_the_size_limit(client: APIClient, team: Team) -> None:
    """Catches an upload over 50 MiB that is read to its end and stored, or refused without saying the limit."""
    big = b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * (50 * 1024 * 1024 + 10)
    _assert_refused(_post(client, big, "big.wav"), team, 413, "big.wav", "50 MiB")


def test_codebook_requests_are_checked_then_queued(client: APIClient, team: Team) -> None:
    """Catches a codebook job queued with a method of the wrong modality, a size outside 2-4096, or one from
    shipped samples that is refused."""
    bad = [
        ({"modality": "audio", "method": "kmeans-patch", "codebook_size": 16}, "mel-units"),
        ({"modality": "image", "method": "kmeans-patch", "codebook_size": 1}, "between 2 and 4096"),
    ]
    for body, words in bad:
        response = client.post("/api/v1/media/codebooks/", body, format="json")
        assert response.status_code == 400 and words in response.json()["message"], response.content
    ok = client.post(
        "/api/v1/media/codebooks/", {"modality": "image", "method": "progressive", "codebook_size": 16}, format="json"
    )
    assert ok.status_code == 202
    job = Job.objects.get(pk=ok.json()["id"])
    assert job.kind == "media_codebook" and job.params["source"] == "samples"
    assert client.get("/api/v1/media/codebooks/").json() == []  # listed once trained


def test_the_catalogue_lists_every_entry_with_its_status(client: APIClient) -> None:
    """Catches a catalogue that hides not-installed entries or lacks what the picker needs."""
    listed = {item["id"]: item for item in client.get("/api/v1/media/tokenizers/").json()}
    assert listed["audio/mulaw-8bit"]["status"]["installed"] is True
    assert listed["audio/wavtokenizer"]["status"]["installed"] is False
    assert listed["audio/wavtokenizer"]["status"]["install"]
    assert listed["audio/hf-codec"]["needs_ref"] is True and listed["audio/hf-codec"]["example_refs"]
    assert listed["image/kmeans-patch-256"]["layout"] == "grid"
    assert all(str(settings.BASE_DIR) not in json.dumps(item) for item in listed.values())  # no server paths


def test_the_budget_counts_a_page_a_second_and_an_image(client: APIClient) -> None:
    """Catches budget figures that do not follow the tokenizers' declared rates (mu-law: one token per sample at
    16 kHz; Codec 2 3200: 50 frames per second, one token per frame field) or a page not counted by the bundled
    text tokenizers (bytes: one token per UTF-8 byte)."""
    from apps.media.budget import page_text
    from workers.media.catalog import media_entries
    from workers.text_tokenizers.catalog import builtin_specs

    body = client.get("/api/v1/media/budget/").json()
    rows = {row["id"]: row for row in body["rows"]}
    assert rows["audio/mulaw-8bit"]["tokens"] == 16000 and rows["audio/mulaw-8bit"]["unit"] == "second"
    codec2 = media_entries()["audio/codec2-3200"].info
    assert rows["audio/codec2-3200"]["tokens"] == pytest.approx(50 * len(codec2.codebook_sizes))
    assert (
        rows["builtin:bytes"]["tokens"] == len(page_text().encode("utf-8")) and rows["builtin:bytes"]["unit"] == "page"
    )
    assert 2500 < body["page"]["chars"] < 3500
    text_ids = {row["id"] for row in body["rows"] if row["modality"] == "text"}
    assert text_ids == {spec.id for spec in builtin_specs() if spec.available}
    assert all(row["tokens"] for row in body["rows"] if row["modality"] == "text")
    assert rows["image/progressive-1d"]["tokens"] == 256
    assert rows["audio/phones-pocketsphinx"]["tokens"] is None and rows["audio/phones-pocketsphinx"]["note"]


@pytest.mark.slow
def test_the_shipped_page_counts_are_those_of_the_bundled_tokenizers() -> None:
    """Catches a stale data/page_counts.json (the page or a bundled tokenizer changed): the budget would show a count
    the tokenizer no longer gives. Loads every bundled text tokenizer (slow)."""
    from apps.media.budget import COUNTS_PATH, count_page, page_sha256

    shipped = json.loads(COUNTS_PATH.read_text())
    assert shipped["page_sha256"] == page_sha256()
    assert shipped["counts"] == count_page()


def test_artifacts_are_served_only_by_listed_name(client: APIClient, team: Team) -> None:
    """Catches an artifact view that opens a name the result does not list (a path from the request), or answers
    for a job that is not a finished media job."""
    owner = team.memberships.get().user
    job = job_services.job_create(team=team, owner=owner, kind="media_tokenize", params={}, dispatch=False)
    folder = artifact_dir(team_id=team.id, job_id=job.id)
    folder.mkdir(parents=True)
    (folder / "original.png").write_bytes(files.png())
    (folder / "secret.png").write_bytes(b"not listed")
    path = f"/api/v1/media/jobs/{job.id}/artifacts"
    assert client.get(f"{path}/original.png/").status_code == 404  # not finished yet
    job_services.job_succeed(job_id=job.id, result={"original": {"artifact": "original.png"}})
    served = client.get(f"{path}/original.png/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == files.png()  # type: ignore[attr-defined]
    for name in ("secret.png", "..", "%2e%2e%2fsettings.py", "original.png%00"):
        assert client.get(f"{path}/{name}/").status_code == 404, name
