"""The catalogue entries of transformers' codecs and VQ-VAEs, and loading by hub id from this server's Hugging Face
cache (no network). Checkpoints are TINY configurations with RANDOM weights (tests/workers/media/hf/tiny.py): the
tests check plumbing, never quality."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.workers.media.hf.tiny import RATE, save_audio_codec, save_full
from workers.media.catalog import media_entries
from workers.media.hf.image_vq import _vq_shards, load_image_vq
from workers.media.types import MediaInputError
from workers.models.hub import is_hub_id


def test_entries_need_a_checkpoint_and_say_so() -> None:
    """Catches an entry shown as runnable with nothing bundled, example refs that are not hub ids, or a load without
    a ref that reaches transformers (random weights must never run in the product)."""
    entries = media_entries()
    for entry_id, modality in (("audio/hf-codec", "audio"), ("image/hf-vq", "image")):
        entry = entries[entry_id]
        assert entry.needs_ref and entry.info.modality == modality
        assert entry.example_refs and all(is_hub_id(ref) for ref in entry.example_refs)
        status = entry.status()
        assert status.installed is False
        assert "needs a hub id or allowed folder; nothing bundled" in status.detail
        assert "safetensors" in status.install.lower()
        with pytest.raises(MediaInputError):
            entry.load(None)
    assert "kyutai/mimi" in entries["audio/hf-codec"].example_refs
    assert "deepseek-community/Janus-Pro-1B" in entries["image/hf-vq"].example_refs


def _fake_hub_cache(cache: Path, repo_id: str, files: Path) -> None:
    """The layout huggingface_hub writes when it downloads a repository (refs/main -> snapshots/<commit>/)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    shutil.copytree(files, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)


def test_hub_id_loads_from_the_local_cache_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Catches a hub path that needs the network for a checkpoint already in the cache (an administrator's
    pre-downloaded models would be 'not installed' on an offline server)."""
    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "acme/dac-tiny", save_audio_codec(tmp_path_factory.mktemp("dac"), "dac"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    entry = media_entries()["audio/hf-codec"]
    codec = entry.load("acme/dac-tiny")
    tokens = codec.encode(np.zeros(800, np.float32), RATE)
    assert tokens.codes.shape == (3, 100)
    assert "acme/dac-tiny" in codec.info.label


def test_sharded_multimodal_checkpoint_reads_only_the_vq_shards(tmp_path: Path) -> None:
    """Catches a loader that would download every shard of a 7B model for its VQ-VAE (``_vq_shards`` picks the ones
    holding ``vqmodel.`` tensors), or that cannot assemble the VQ-VAE from several shards."""
    index = {
        "weight_map": {
            "model.language_model.layers.0.mlp.weight": "model-00001-of-00003.safetensors",
            "model.vqmodel.encoder.conv_in.weight": "model-00002-of-00003.safetensors",
            "model.vqmodel.decoder.conv_out.weight": "model-00003-of-00003.safetensors",
            "lm_head.weight": "model-00003-of-00003.safetensors",
        }
    }
    assert _vq_shards(index) == ["model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"]
    assert _vq_shards({"weight_map": {"encoder.conv_in.weight": "a.safetensors"}}) == ["a.safetensors"]  # VQ alone

    full = save_full(tmp_path, "janus", seed=4)
    sharded = tmp_path / "sharded"
    full.save_pretrained(sharded, max_shard_size="100KB")
    shutil.copy(tmp_path / "preprocessor_config.json", sharded)
    assert len(list(sharded.glob("*.safetensors"))) > 2
    image = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        load_image_vq(str(sharded)).encode(image).codes, load_image_vq(str(tmp_path)).encode(image).codes
    )
