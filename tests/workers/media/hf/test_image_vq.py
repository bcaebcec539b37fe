"""transformers' image VQ-VAEs (Chameleon, Emu3, Janus) behind the ImageTokenizer protocol. Every checkpoint here is
a TINY configuration with RANDOM weights built in a tmp folder (tests/workers/media/hf/tiny.py): the tests check
plumbing (the model's own preprocessing, grid axes, the same codes as calling transformers directly, loading the VQ
out of a whole multimodal checkpoint, determinism, loading rules), never image quality."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.workers.media.hf.tiny import PROCESSORS, save_full, save_vq, vq_model
from workers.media.hf.image_vq import load_image_vq
from workers.media.types import ImageTokenizer, MediaInputError

KINDS = ("chameleon", "emu3", "janus")
PROCESSOR_CLASSES = {
    "chameleon": "ChameleonImageProcessorPil",
    "emu3": "Emu3ImageProcessor",
    "janus": "JanusImageProcessorPil",
}


@pytest.fixture(scope="module")
def vq_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {kind: save_vq(tmp_path_factory.mktemp(f"{kind}-vq"), kind) for kind in KINDS}


def _image(height: int = 20, width: int = 30, seed: int = 0) -> np.ndarray:
    """A smooth gradient plus noise, not square (a transposed grid cannot pass for the right one)."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    noise = np.random.default_rng(seed).random((height, width, 3)) * 0.3
    return np.clip(np.stack([x, y, 1 - x], axis=-1) * 0.7 + noise, 0, 1).astype(np.float32)


def _direct_codes(kind: str, model: Any, image: np.ndarray) -> np.ndarray:
    """transformers' own processor and VQ-VAE, called as documented, on the uint8 image."""
    import torch
    import transformers as t

    processor = getattr(t, PROCESSOR_CLASSES[kind])(**PROCESSORS[kind])
    inputs = processor(images=np.round(image * 255).astype(np.uint8), return_tensors="pt")
    with torch.inference_mode():
        if kind == "emu3":
            return model.encode(inputs["pixel_values"], inputs["image_sizes"]).image_tokens[0].numpy()
        out = model.encode(inputs["pixel_values"])
        return out.image_tokens.reshape(out.quantized_last_hidden_state.shape[-2:]).numpy()


@pytest.mark.parametrize("kind", KINDS)
def test_codes_equal_transformers_called_directly(vq_folders: dict[str, Path], kind: str) -> None:
    """Catches a preprocessing other than the model's own (size, crop/pad, rescale, mean/std), a float image handed
    over as if it were 0-255, or a transposed grid: our grid equals transformers' processor + VQ-VAE, value for
    value (random tiny weights)."""
    image = _image()
    tokenizer = load_image_vq(str(vq_folders[kind]))
    assert isinstance(tokenizer, ImageTokenizer)
    tokens = tokenizer.encode(image)
    expected = _direct_codes(kind, vq_model(kind), image)
    assert tokens.codes.dtype == np.int64
    np.testing.assert_array_equal(tokens.codes, expected)
    # Chameleon crops and Janus pads to 16x16 (a factor-2 VQ: 8x8); Emu3 keeps 20x30 (10x15)
    assert tokens.codes.shape == ((10, 15) if kind == "emu3" else (8, 8))
    assert tokens.input_size == ((20, 30) if kind == "emu3" else (16, 16))
    assert tokenizer.info.layout == "grid" and tokenizer.info.codebook_sizes == (32,)
    json.dumps(tokens.extra)


@pytest.mark.parametrize("kind", KINDS)
def test_whole_multimodal_checkpoint_gives_the_vq_alone(tmp_path: Path, kind: str) -> None:
    """Catches a loader that cannot find the VQ-VAE's tensors inside a published multimodal checkpoint (prefix
    ``model.vqmodel.``), or loads them into the wrong modules: the codes equal the saved model's own VQ-VAE."""
    full = save_full(tmp_path, kind, seed=3)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == kind
    image = _image(seed=1)
    tokens = load_image_vq(str(tmp_path)).encode(image)
    np.testing.assert_array_equal(tokens.codes, _direct_codes(kind, full.model.vqmodel, image))


@pytest.mark.parametrize("kind", ["emu3", "janus"])
def test_round_trip_is_deterministic_at_the_processed_size(vq_folders: dict[str, Path], kind: str) -> None:
    """Catches a decode that ignores the grid's shape, returns the model's [-1, 1] pixels instead of [0, 1], or is
    not deterministic; the reconstruction has the size of the image the tokenizer saw (preprocess, which the pipeline compares with)."""
    tokenizer = load_image_vq(str(vq_folders[kind]))
    image = _image(seed=2)
    tokens = tokenizer.encode(image)
    out = tokenizer.decode(tokens)
    assert out.dtype == np.float32 and out.shape == (*tokens.input_size, 3)
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out, tokenizer.decode(tokens, seed=5))
    prepared = tokenizer.preprocess(image)
    assert prepared.shape == out.shape
    if kind == "emu3":  # no resize at this size: the prepared image is the input, up to the uint8 step
        np.testing.assert_allclose(prepared, image, atol=1 / 255 + 1e-6)
    with pytest.raises(MediaInputError, match="all its tokens"):
        tokenizer.decode(tokens, k=1)
    tokens.codes = tokens.codes + 32
    with pytest.raises(MediaInputError, match=r"\[0, 32\)"):
        tokenizer.decode(tokens)


def test_chameleon_has_no_decoder(vq_folders: dict[str, Path]) -> None:
    """Catches Chameleon advertising reconstructions transformers cannot make (it implements the encoder only)."""
    tokenizer = load_image_vq(str(vq_folders["chameleon"]))
    assert tokenizer.info.has_decoder is False
    with pytest.raises(NotImplementedError):
        tokenizer.decode(tokenizer.encode(_image()))


def test_bad_images_are_refused(vq_folders: dict[str, Path]) -> None:
    """Catches a grey-scale or NaN image reaching the model (a crash deep in a convolution, a 500)."""
    tokenizer = load_image_vq(str(vq_folders["janus"]))
    with pytest.raises(MediaInputError):
        tokenizer.encode(np.zeros((16, 16), np.float32))
    with pytest.raises(MediaInputError):
        tokenizer.encode(np.full((16, 16, 3), np.nan, np.float32))


def test_loading_rules(vq_folders: dict[str, Path], tmp_path: Path) -> None:
    """Catches a loader that accepts pickle-only weights, an architecture outside the allow-list, a multimodal
    checkpoint missing the VQ-VAE's tensors (random weights would fill the gaps), or that imports auto_map code."""
    import torch

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(vq_folders["janus"] / "config.json", pickled)
    torch.save(vq_model("janus").state_dict(), pickled / "pytorch_model.bin")
    with pytest.raises(MediaInputError, match="pickle"):
        load_image_vq(str(pickled))

    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "llava"}))
    with pytest.raises(MediaInputError, match="loads only chameleon"):
        load_image_vq(str(other))

    partial = tmp_path / "partial"
    shutil.copytree(vq_folders["emu3"], partial)
    from safetensors.torch import load_file, save_file

    state = load_file(str(partial / "model.safetensors"))
    save_file({k: v for k, v in state.items() if not k.startswith("decoder.")}, str(partial / "model.safetensors"))
    with pytest.raises(MediaInputError, match="lacks"):
        load_image_vq(str(partial))

    remote = tmp_path / "remote"
    shutil.copytree(vq_folders["janus"], remote)
    marker = tmp_path / "imported"
    (remote / "evil_vq.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil_vq.EvilVQ"}
    (remote / "config.json").write_text(json.dumps(config))
    (remote / "preprocessor_config.json").write_text(
        json.dumps({**PROCESSORS["janus"], "auto_map": {"AutoImageProcessor": "evil_vq.EvilProcessor"}})
    )
    assert type(load_image_vq(str(remote)).model).__name__ == "JanusVQVAE"
    assert not marker.exists()
