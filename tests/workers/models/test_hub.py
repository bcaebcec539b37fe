"""Hub ids: never read as folders, refused within about a second when no hub answers, accepted when one does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub_endpoints import answering_hub, closed_port_url, silent_hub
from workers.models import hub
from workers.models.catalog import ModelUnavailableError, resolve_model
from workers.text_tokenizers import TokenizerError
from workers.text_tokenizers.catalog import clear_cache
from workers.text_tokenizers.custom import load_hf

FAST_S = 2.0


@pytest.fixture(autouse=True)
def online_with_an_empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No HF_HUB_OFFLINE, an empty hub cache, no remembered probe answer, no cached tokenizers."""
    import huggingface_hub.constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    hub.forget_probe()
    clear_cache()
    yield tmp_path / "hub-cache"
    hub.forget_probe()
    clear_cache()


def use_endpoint(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", url)


@pytest.mark.parametrize(
    ("ref", "is_hub"),
    [
        ("org/name", True),
        ("HuggingFaceTB/SmolLM2-360M@main", True),
        ("var/media", True),
        ("../etc", False),
        ("./org/name", False),
        ("/etc/passwd", False),
        ("org/..", False),
        (".hidden/name", False),
        ("a/b--c", False),
        ("org/name/extra", False),
        ("org/name@../x", False),
        ("gpt2", False),
    ],
)
def test_hub_id_syntax(ref: str, is_hub: bool) -> None:
    """Catches path-like strings ('..', leading '.', a third segment) being taken for hub ids, or the reverse."""
    assert hub.is_hub_id(ref) is is_hub


def test_a_hub_id_is_never_looked_up_as_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches 'org/name' resolving to a folder of that name in the server's working directory."""
    folder = tmp_path / "org" / "name"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": 5}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        resolve_model("org/name")
    with pytest.raises(TokenizerError, match="Hugging Face Hub"):
        load_hf("hf:org/name")


@pytest.mark.parametrize("endpoint", ["silent", "refused"])
def test_a_hub_id_without_a_hub_is_refused_fast(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """Catches a request waiting on the hub client's retries (23 s measured) or on a hub that never answers."""
    with silent_hub() as silent:
        use_endpoint(monkeypatch, silent if endpoint == "silent" else closed_port_url())
        started = time.perf_counter()
        with pytest.raises(ModelUnavailableError, match="not in the local Hugging Face cache"):
            resolve_model("tokenscope-test/no-such-model")
        assert time.perf_counter() - started < FAST_S
        started = time.perf_counter()
        with pytest.raises(TokenizerError, match="upload the file instead"):
            load_hf("hf:tokenscope-test/no-such-tokenizer")
        assert time.perf_counter() - started < 1.0  # the probe's answer is remembered, not asked again (1.5 s)


def test_the_default_hub_address_is_refused_fast_on_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches the real hub address (huggingface.co, unreachable here) holding a request, as 'gpt2' did for 23 s."""
    started = time.perf_counter()
    reason = hub.hub_unavailable_reason()
    assert time.perf_counter() - started < FAST_S
    assert reason is not None, "this test assumes a machine without access to the Hugging Face hub"


def test_with_a_hub_a_hub_id_goes_on_to_the_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches the fast refusal also refusing hub ids on a machine that has a hub."""
    with answering_hub() as url:
        use_endpoint(monkeypatch, url)
        spec = resolve_model("HuggingFaceTB/SmolLM2-360M@main")
    assert (spec.kind, spec.hub_id, spec.revision, spec.available) == (
        "hub",
        "HuggingFaceTB/SmolLM2-360M",
        "main",
        False,
    )


def test_a_tokenizer_already_in_the_hub_cache_loads_without_the_network(
    online_with_an_empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches a cached hub tokenizer still asking the hub first (and hanging when the hub has gone)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    snapshot = online_with_an_empty_cache / "models--org--cached-tok" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    tokenizer = Tokenizer(models.WordLevel(vocab={"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    (snapshot / "tokenizer.json").write_text(tokenizer.to_str())
    (online_with_an_empty_cache / "models--org--cached-tok" / "refs").mkdir()
    (online_with_an_empty_cache / "models--org--cached-tok" / "refs" / "main").write_text("abc123")
    use_endpoint(monkeypatch, closed_port_url())  # any question to the hub would fail: the cache must answer alone
    loaded = load_hf("hf:org/cached-tok")
    assert loaded.encode("hello world").ids.tolist() == [1, 2]
