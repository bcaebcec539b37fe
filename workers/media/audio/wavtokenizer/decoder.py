"""WavTokenizer's decoder: a Vocos backbone (conv embedding, a residual+attention stage, ConvNeXt blocks) and an
ISTFT head that predicts log-magnitude and phase per frame (inference only).

Our own modules; attribute names follow the official state-dict keys under ``backbone.`` and ``head.``
(``pos_net.<i>`` is a Sequential of two residual blocks, one attention block, two residual blocks and a GroupNorm).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from workers.media.audio.wavtokenizer.config import GROUP_NORM_GROUPS, WavTokenizerConfig


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(GROUP_NORM_GROUPS, channels, eps=1e-6)


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


class ResidualConvBlock(nn.Module):
    """GroupNorm, swish, k=3 conv, twice, added to the input (dropout is inactive at inference)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm1 = group_norm(channels)
        self.conv1 = nn.Conv1d(channels, channels, 3, padding=1)
        self.norm2 = group_norm(channels)
        self.conv2 = nn.Conv1d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(swish(self.norm1(x)))
        return x + self.conv2(swish(self.norm2(h)))


class SelfAttentionBlock(nn.Module):
    """Single-head self-attention over all frames (1x1 conv projections), added to the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.q = nn.Conv1d(channels, channels, 1)
        self.k = nn.Conv1d(channels, channels, 1)
        self.v = nn.Conv1d(channels, channels, 1)
        self.proj_out = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        q, k, v = self.q(h), self.k(h), self.v(h)  # (batch, channels, frames)
        weights = torch.softmax(torch.bmm(q.transpose(1, 2), k) * q.shape[1] ** -0.5, dim=2)  # (batch, query, key)
        return x + self.proj_out(torch.bmm(v, weights.transpose(1, 2)))


class AdaptiveLayerNorm(nn.Module):
    """LayerNorm without affine weights, then a scale and shift looked up by a condition id (the bandwidth id)."""

    def __init__(self, num_embeddings: int, dim: int) -> None:
        super().__init__()
        self.scale = nn.Embedding(num_embeddings, dim)
        self.shift = nn.Embedding(num_embeddings, dim)
        self.dim = dim

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        normed = F.layer_norm(x, (self.dim,), eps=1e-6)
        return normed * self.scale(condition) + self.shift(condition)


def make_norm(dim: int, adanorm_num_embeddings: int | None) -> nn.Module:
    return AdaptiveLayerNorm(adanorm_num_embeddings, dim) if adanorm_num_embeddings else nn.LayerNorm(dim, eps=1e-6)


def apply_norm(norm: nn.Module, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
    return norm(x, condition) if isinstance(norm, AdaptiveLayerNorm) else norm(x)


class ConvNeXtBlock(nn.Module):
    """Depthwise k=7 conv, (adaptive) LayerNorm, pointwise MLP with GELU, optional layer scale ``gamma``; residual."""

    def __init__(self, dim: int, intermediate_dim: int, layer_scale: float, adanorm_num_embeddings: int | None):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = make_norm(dim, adanorm_num_embeddings)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale)) if layer_scale > 0 else None

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        h = apply_norm(self.norm, self.dwconv(x).transpose(1, 2), condition)
        h = self.pwconv2(F.gelu(self.pwconv1(h)))
        if self.gamma is not None:
            h = self.gamma * h
        return x + h.transpose(1, 2)


class VocosBackbone(nn.Module):
    """Features (batch, 512, frames) -> hidden states (batch, frames, dim)."""

    def __init__(self, config: WavTokenizerConfig) -> None:
        super().__init__()
        dim = config.dim
        self.embed = nn.Conv1d(config.input_channels, dim, 7, padding=3)
        self.pos_net = nn.Sequential(
            ResidualConvBlock(dim),
            ResidualConvBlock(dim),
            SelfAttentionBlock(dim),
            ResidualConvBlock(dim),
            ResidualConvBlock(dim),
            group_norm(dim),
        )
        self.norm = make_norm(dim, config.adanorm_num_embeddings)
        layer_scale = config.layer_scale_init_value or 1 / config.num_layers  # the official default
        self.convnext = nn.ModuleList(
            ConvNeXtBlock(dim, config.intermediate_dim, layer_scale, config.adanorm_num_embeddings)
            for _ in range(config.num_layers)
        )
        self.final_layer_norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, features: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        x = self.pos_net(self.embed(features))
        x = apply_norm(self.norm, x.transpose(1, 2), condition).transpose(1, 2)
        for block in self.convnext:
            x = block(x, condition)
        return self.final_layer_norm(x.transpose(1, 2))


class InverseSTFT(nn.Module):
    """Inverse STFT with "same" padding (frames * hop samples out, what the Vocos head trains with), or torch's own
    centred ISTFT for "center". The Hann window is a stored buffer (``head.istft.window``)."""

    def __init__(self, n_fft: int, hop_length: int, padding: str) -> None:
        super().__init__()
        self.n_fft, self.hop_length, self.padding = n_fft, hop_length, padding
        self.register_buffer("window", torch.hann_window(n_fft))
        self.window: torch.Tensor

    def forward(self, spectrum: torch.Tensor) -> torch.Tensor:
        if self.padding == "center":
            return torch.istft(spectrum, self.n_fft, self.hop_length, self.n_fft, self.window, center=True)
        frames = spectrum.shape[-1]
        trim = (self.n_fft - self.hop_length) // 2
        segments = torch.fft.irfft(spectrum, self.n_fft, dim=1, norm="backward") * self.window[None, :, None]
        total = (frames - 1) * self.hop_length + self.n_fft
        signal = self._overlap_add(segments, total)[:, trim:-trim]
        squared = self.window.square()[None, :, None].expand(1, -1, frames)
        envelope = self._overlap_add(squared, total)[0, trim:-trim]
        if not bool((envelope > 1e-11).all()):
            raise ValueError("the ISTFT window does not overlap enough to invert (n_fft / hop_length too small)")
        return signal / envelope

    def _overlap_add(self, segments: torch.Tensor, total: int) -> torch.Tensor:
        """(batch, n_fft, frames) windows placed every hop and summed -> (batch, total)."""
        folded = F.fold(segments, output_size=(1, total), kernel_size=(1, self.n_fft), stride=(1, self.hop_length))
        return folded[:, 0, 0, :]


class ISTFTHead(nn.Module):
    """Hidden states (batch, frames, dim) -> waveform (batch, frames * hop): a linear layer to log-magnitude and
    phase (n_fft/2 + 1 bins each), magnitude capped at 100."""

    def __init__(self, config: WavTokenizerConfig) -> None:
        super().__init__()
        self.out = nn.Linear(config.dim, config.n_fft + 2)
        self.istft = InverseSTFT(config.n_fft, config.hop_length, config.padding)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        log_magnitude, phase = self.out(hidden).transpose(1, 2).chunk(2, dim=1)
        magnitude = torch.exp(log_magnitude).clip(max=1e2)
        return self.istft(magnitude * (torch.cos(phase) + 1j * torch.sin(phase)))
