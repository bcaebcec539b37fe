"""Small WavTokenizer checkpoints in the official formats, built here with random weights (no official files).

``official_config`` writes the YAML layout of the official training configs (values as in the official frame-40 /
frame-75 files, with a small backbone, head and codebook unless ``full=True``); ``write_official_ckpt`` saves a
Lightning-style checkpoint (``{"state_dict": ...}`` with training-only keys and EnCodec decoder keys that inference
skips), the file the converter reads.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
import yaml

from workers.media.audio.wavtokenizer.config import parse_config
from workers.media.audio.wavtokenizer.model import WavTokenizerModel

DOWNSAMPLES = {40: [6, 5, 5, 4], 75: [8, 5, 4, 2]}


def official_config(rate: int = 40, *, full: bool = False) -> dict[str, Any]:
    hop = 600 if rate == 40 else 320
    dim, intermediate, layers, bins, n_fft = (768, 2304, 12, 4096, 4 * hop) if full else (64, 128, 1, 64, 2 * hop)
    return {
        "seed_everything": 3407,
        "model": {
            "class_path": "decoder.experiment.WavTokenizer",
            "init_args": {
                "sample_rate": 24000,
                "initial_learning_rate": 2e-4,
                "feature_extractor": {
                    "class_path": "decoder.feature_extractors.EncodecFeatures",
                    "init_args": {
                        "encodec_model": "encodec_24khz",
                        "bandwidths": [6.6, 6.6, 6.6, 6.6],
                        "train_codebooks": True,
                        "num_quantizers": 1,
                        "dowmsamples": DOWNSAMPLES[rate],
                        "vq_bins": bins,
                        "vq_kmeans": 200,
                    },
                },
                "backbone": {
                    "class_path": "decoder.models.VocosBackbone",
                    "init_args": {
                        "input_channels": 512,
                        "dim": dim,
                        "intermediate_dim": intermediate,
                        "num_layers": layers,
                        "adanorm_num_embeddings": 4,
                    },
                },
                "head": {
                    "class_path": "decoder.heads.ISTFTHead",
                    "init_args": {"dim": dim, "n_fft": n_fft, "hop_length": hop, "padding": "same"},
                },
            },
        },
        "trainer": {"callbacks": [{"class_path": "pytorch_lightning.callbacks.LearningRateMonitor"}]},
    }


def edited(config: dict[str, Any], part: str, **changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(config)
    config["model"]["init_args"][part]["init_args"].update(changes)
    return config


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def random_state(config: dict[str, Any], *, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights with the official names, the codebook taken from encoder outputs (as k-means would) so that
    a clip uses many codes, and ``inited`` = 1 as in every trained checkpoint."""
    generator = torch.Generator().manual_seed(seed)
    model = WavTokenizerModel(parse_config(config)).eval()
    state = model.state_dict()
    for name, tensor in state.items():
        tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.1)
        if name.endswith(("weight_g", "norm1.weight", "norm2.weight", "norm.weight", "scale.weight")):
            tensor.add_(1.0)
    model.load_state_dict(state)
    probe = torch.randn(1, 24000, generator=generator) * 0.1
    with torch.no_grad():
        vectors = model.feature_extractor.encodec.encoder(probe[:, None])[0].T
    book = "feature_extractor.encodec.quantizer.vq.layers.0._codebook."
    picks = torch.randint(0, vectors.shape[0], (state[book + "embed"].shape[0],), generator=generator)
    state[book + "embed"] = vectors[picks] + 0.01 * torch.randn(state[book + "embed"].shape, generator=generator)
    state[book + "embed_avg"] = state[book + "embed"].clone()
    state[book + "inited"] = torch.ones(1)
    state["head.istft.window"] = torch.hann_window(state["head.istft.window"].shape[0])
    return {name: tensor.detach().clone().contiguous() for name, tensor in state.items()}


def write_official_ckpt(path: Path, config: dict[str, Any], *, seed: int = 0) -> dict[str, torch.Tensor]:
    state = random_state(config, seed=seed)
    full = dict(state)
    full["feature_extractor.encodec.decoder.model.0.conv.conv.weight_v"] = torch.zeros(512, 512, 7)  # skipped
    full["multiperioddisc.discriminators.0.convs.0.weight"] = torch.zeros(4, 4)  # training only
    torch.save({"epoch": 3, "global_step": 30, "state_dict": full}, path)
    return state
