"""The WavTokenizer network (our implementation): waveform -> one code per frame -> waveform, both at 24 kHz.

Top-level names match the official ``decoder.pretrained.WavTokenizer`` (``feature_extractor``, ``backbone``,
``head``), so a converted official state dict loads with its own keys.
"""

from __future__ import annotations

import torch
from torch import nn

from workers.media.audio.wavtokenizer.config import WavTokenizerConfig
from workers.media.audio.wavtokenizer.decoder import ISTFTHead, VocosBackbone
from workers.media.audio.wavtokenizer.encoder import FeatureExtractor

# The official inference always conditions the decoder on bandwidth id 0 (its README and infer.py).
BANDWIDTH_ID = 0


class WavTokenizerModel(nn.Module):
    def __init__(self, config: WavTokenizerConfig) -> None:
        super().__init__()
        self.config = config
        self.feature_extractor = FeatureExtractor(config.downsamples, config.num_quantizers, config.codebook_size)
        self.backbone = VocosBackbone(config)
        self.head = ISTFTHead(config)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """(batch, samples) float at 24 kHz -> codes (1, batch, ceil(samples / hop)) int64."""
        return self.feature_extractor.encode(wave)

    def codes_to_features(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (n_q, batch, frames) or (n_q, frames) -> features (batch, 512, frames)."""
        if codes.dim() == 2:
            codes = codes.unsqueeze(1)
        return self.feature_extractor.encodec.quantizer.features(codes)

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        """features (batch, 512, frames) -> waveform (batch, frames * hop) at 24 kHz."""
        condition = torch.tensor([BANDWIDTH_ID], device=features.device)
        return self.head(self.backbone(features, condition))
