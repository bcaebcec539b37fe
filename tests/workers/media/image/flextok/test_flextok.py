"""FlexTok: the loader on tiny checkpoints in the official layout (written here, random weights: never shipped), its
refusals, FSQ, the nested (prefix) property of the tokens and the seeded flow decoder.

Agreement with the official implementation itself is checked by bench/official_flextok.py (it needs the official
repository); these tests need only the project."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from workers.media.image.flextok import entries
from workers.media.image.flextok.config import FlexTokConfigError
from workers.media.image.flextok.loader import load_flextok
from workers.media.image.flextok.model import FlexTok, SamplerSettings
from workers.media.image.flextok.modules import FSQ, Registers1D
from workers.media.image.flextok.tiny import LEVELS, write_tiny_checkpoint
from workers.media.image.flextok.tokenizer import load_tokenizer
from workers.media.types import ImageTokenizer, MediaInputError

FAST = SamplerSettings(steps=2, guidance_scale=3.0, seed=0)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("flextok") / "ckpt", seed=3)


@pytest.fixture(scope="module")
def model(checkpoint: Path) -> FlexTok:
    return load_flextok(checkpoint)[0]


@pytest.fixture
def copy(checkpoint: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ckpt"
    shutil.copytree(checkpoint, target)
    config = json.loads((target / "config.json").read_text())
    config["vae"]["hf_hub_path"] = str((target / "vae").resolve())  # keep the VAE inside the copied folder
    (target / "config.json").write_text(json.dumps(config))
    return target


def image(seed: int = 0, side: int = 32) -> torch.Tensor:
    return torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_every_weight_in_the_file_lands_in_its_parameter(checkpoint: Path, model: FlexTok) -> None:
    """Catches a loader that builds the structure but leaves a parameter at its init or loads it under another key."""
    stored = load_file(str(checkpoint / "model.safetensors"))
    loaded = model.state_dict()
    assert set(stored) == set(loaded)
    assert all(torch.equal(stored[key], loaded[key]) for key in stored)
    assert any(key.startswith("vae.vae.decoder.up_blocks.") for key in stored)  # the official diffusers VAE keys


def test_pickle_weights_are_refused(copy: Path) -> None:
    """Catches a loader that falls back to torch.load on a .bin file (pickle can run code)."""
    (copy / "model.safetensors").unlink()
    (copy / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(FlexTokConfigError, match="pickle"):
        load_flextok(copy)


def test_unknown_target_is_refused_and_never_imported(copy: Path) -> None:
    """Catches a loader that imports whatever class a checkpoint's config names (Hydra-style instantiate)."""
    config = json.loads((copy / "config.json").read_text())
    config["encoder"]["module_dict"]["extra"] = {"_target_": "flextok_canary_module.Payload"}
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(FlexTokConfigError, match="not one FlexTok's loader builds"):
        load_flextok(copy)
    assert "flextok_canary_module" not in sys.modules


def test_hydra_getter_of_a_non_allowed_function_is_refused(copy: Path) -> None:
    """Catches an allow-list that checks _target_ but lets hydra.utils.get_method fetch any function (os.system)."""
    config = json.loads((copy / "config.json").read_text())
    module = config["encoder"]["module_dict"]["enc_channels_to_last"]
    module["per_sample_op"] = {"_target_": "hydra.utils.get_method", "path": "os.system"}
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(FlexTokConfigError, match="os.system"):
        load_flextok(copy)


def test_a_tensor_of_the_wrong_shape_is_named(copy: Path) -> None:
    """Catches a loader that only finds shape mismatches deep inside load_state_dict (or not at all)."""
    state = load_file(str(copy / "model.safetensors"))
    key = "encoder.module_dict.enc_register_module.registers"
    state[key] = torch.zeros(5, state[key].shape[1])
    save_file(state, str(copy / "model.safetensors"))
    with pytest.raises(FlexTokConfigError, match=r"wrong shape.*enc_register_module\.registers"):
        load_flextok(copy)


def test_missing_and_unexpected_tensors_are_reported(copy: Path) -> None:
    """Catches a non-strict load that silently keeps random weights for tensors absent from the file."""
    state = load_file(str(copy / "model.safetensors"))
    state.pop("regularizer._levels", None)
    del state["decoder.module_dict.dec_latent_dropout.nullcond"]
    state["encoder.extra.weight"] = torch.zeros(2)
    save_file(state, str(copy / "model.safetensors"))
    with pytest.raises(FlexTokConfigError, match=r"1 missing .*nullcond.*1 unexpected .*encoder\.extra\.weight"):
        load_flextok(copy)


def test_a_corrupt_safetensors_file_gets_a_clear_error(copy: Path) -> None:
    """Catches a crash (or a huge allocation) on a file whose header length is garbage."""
    (copy / "model.safetensors").write_bytes((10**15).to_bytes(8, "little") + b"{}")
    with pytest.raises(FlexTokConfigError, match="not a safetensors file"):
        load_flextok(copy)


def test_a_config_nested_absurdly_deep_gets_a_clear_error(copy: Path) -> None:
    """Catches a RecursionError escaping the JSON parser as a crash instead of a refusal."""
    (copy / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FlexTokConfigError, match="nested absurdly deep"):
        load_flextok(copy)


def test_absurd_sizes_are_refused_before_anything_is_built(copy: Path) -> None:
    """Catches a config that makes the builder allocate a gigantic model before the weights are checked."""
    config = json.loads((copy / "config.json").read_text())
    config["encoder"]["module_dict"]["enc_transformer"]["dim"] = 10**6
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(FlexTokConfigError, match=r"dim must be an integer in 1\.\.8192"):
        load_flextok(copy)


def test_a_config_embedded_in_the_safetensors_header_loads(copy: Path) -> None:
    """Catches a loader that only knows config.json: the official save_safetensors puts the config, each part as a
    Python literal, in the file's metadata."""
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").unlink()
    state = load_file(str(copy / "model.safetensors"))
    save_file(state, str(copy / "model.safetensors"), metadata={k: repr(v) for k, v in config.items()})
    loaded, parsed, files = load_flextok(copy)
    assert parsed["regularizer"]["levels"] == LEVELS
    assert [f.name for f in files] == ["model.safetensors", "config.json"]  # the weights, then the VAE's config
    assert torch.equal(loaded.state_dict()["vae.vae.quant_conv.weight"], state["vae.vae.quant_conv.weight"])


def test_a_vae_folder_outside_the_checkpoint_is_refused(copy: Path, tmp_path: Path) -> None:
    """Catches hf_hub_path being used to read an arbitrary folder of the server."""
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(copy / "vae", elsewhere)
    config = json.loads((copy / "config.json").read_text())
    config["vae"]["hf_hub_path"] = str(elsewhere)
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(FlexTokConfigError, match="outside the checkpoint folder"):
        load_flextok(copy)


def test_fsq_ids_round_trip_over_the_whole_codebook() -> None:
    """Catches a wrong mixed-radix basis or level offset: every one of the 64,000 ids must map back to itself."""
    fsq = FSQ("z", "q", "t", levels=LEVELS)
    ids = torch.arange(64000)
    codes = fsq.indices_to_embedding(ids)
    assert fsq.codebook_size == 64000
    assert torch.equal(fsq.codes_to_indices(codes), ids)
    assert float(codes.abs().max()) <= 1.0
    # Known answers of the bounded rounding: 8 levels span -4..3 (/4), 5 levels -2..2 (/2); 0 is a code.
    assert fsq.quantize(torch.full((6,), 10.0)).tolist() == [0.75, 0.75, 0.75, 1.0, 1.0, 1.0]
    assert fsq.quantize(torch.full((6,), -10.0)).tolist() == [-1.0] * 6
    assert fsq.quantize(torch.zeros(6)).tolist() == [0.0] * 6


def test_tokens_are_a_nested_prefix(model: FlexTok) -> None:
    """Catches a full (non-causal) register mask: token i must not depend on registers after i, so a prefix of
    k tokens is the same whatever comes after it."""
    tokens = model.tokenize(image())
    module = model.encoder.module_dict["enc_register_module"]
    assert isinstance(module, Registers1D)
    registers = module.registers
    saved = registers.detach().clone()
    with torch.no_grad():
        registers[4:] += torch.randn(registers[4:].shape, generator=torch.Generator().manual_seed(1))
        changed = model.tokenize(image())
        registers.copy_(saved)
    assert tokens.shape == (1, 8) and tokens.dtype == torch.int64
    assert int(tokens.min()) >= 0 and int(tokens.max()) < 64000
    assert torch.equal(changed[:, :4], tokens[:, :4])
    assert not torch.equal(changed[:, 4:], tokens[:, 4:])


def test_decoding_is_seeded_and_reads_only_the_first_k_tokens(model: FlexTok) -> None:
    """Catches an unseeded sampler, a seed that is ignored, and a decoder that reads tokens past k."""
    tokens = model.tokenize(image())
    other = tokens.clone()
    other[:, 2:] = (other[:, 2:] + 1) % 64000

    def run(t: torch.Tensor, seed: int) -> torch.Tensor:
        settings = SamplerSettings(steps=FAST.steps, guidance_scale=FAST.guidance_scale, seed=seed)
        return model.detokenize(t, latent_size=(8, 8), settings=settings)

    first = run(tokens[:, :2], seed=0)
    assert torch.equal(first, run(tokens[:, :2], seed=0))
    assert torch.equal(first, run(other[:, :2], seed=0))
    assert not torch.allclose(first, run(tokens[:, :2], seed=1))
    assert not torch.allclose(first, run(tokens, seed=0))


def test_the_product_tokenizer_follows_the_image_protocol(checkpoint: Path) -> None:
    """Catches a tokenizer whose strip, input size or decoded image break the pipeline's contract."""
    tokenizer = load_tokenizer(str(checkpoint.resolve()), steps=2)
    assert isinstance(tokenizer, ImageTokenizer)
    assert tokenizer.info.max_tokens == 8 and tokenizer.info.image_size == 32
    picture = np.random.default_rng(0).random((30, 45, 3)).astype(np.float32)
    tokens = tokenizer.encode(picture)
    assert tokens.codes.shape == (8,) and tokens.input_size == (32, 32)
    assert "centre-cropped 45x30 to 30x30" in tokens.extra["processed"]
    assert tokenizer.preprocess(picture)[0].shape == (32, 32, 3)  # the reference reconstructions are scored against
    assert {f.name for f in tokenizer.source_files} == {"config.json", "model.safetensors"}
    decoded = tokenizer.decode(tokens, k=3, seed=4)
    assert decoded.shape == (32, 32, 3) and decoded.dtype == np.float32
    assert float(decoded.min()) >= 0.0 and float(decoded.max()) <= 1.0
    with pytest.raises(MediaInputError, match="k must be between 1 and 8"):
        tokenizer.decode(tokens, k=9)


def test_the_entry_is_not_installed_without_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches an entry that claims FlexTok works (or would run on random weights) when no checkpoint is present."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    (entry,) = entries.entries()
    status = entry.status()
    assert entry.info.id == "image/flextok" and entry.needs_ref
    assert entry.example_refs[0] == "EPFL-VILAB/flextok_d18_d28_dfn"
    assert not status.installed and "huggingface-cli download EPFL-VILAB/flextok_d18_d28_dfn" in status.install
    with pytest.raises(MediaInputError, match="needs a checkpoint"):
        entry.load(None)
    snapshot = tmp_path / "models--EPFL-VILAB--flextok_d12_d12_in1k" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "model.safetensors").write_bytes(b"")
    assert entry.status().installed
