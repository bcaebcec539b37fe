"""FlexTok's image autoencoder: a Stable-Diffusion-style KL VAE (diffusers' AutoencoderKL layout, f8, 4/8/16
latent channels) wrapped as the official ``StableDiffusionVAE``.

Our own implementation with diffusers' parameter names (``vae.encoder.down_blocks.0.resnets.0.norm1.weight``, ...),
so the published weights load as they are. Inference only: encoding takes the posterior mean (deterministic tokens;
the official wrapper may sample the posterior instead, see docs/media.md).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# diffusers' AutoencoderKL settings that FlexTok's VAE_BASE_CFG fixes (only latent_channels varies).
BLOCK_OUT_CHANNELS = (128, 256, 512, 512)
LAYERS_PER_BLOCK = 2
NORM_GROUPS = 32
EPS = 1e-6


class ResnetBlock2D(nn.Module):
    def __init__(self, cin: int, cout: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=EPS)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout, eps=EPS)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class SpatialAttention(nn.Module):
    """Single-head self-attention over all pixels (the VAE's mid-block attention)."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, channels, eps=EPS)
        self.to_q = nn.Linear(channels, channels)
        self.to_k = nn.Linear(channels, channels)
        self.to_v = nn.Linear(channels, channels)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels), nn.Dropout(0.0)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        seq = self.group_norm(x).view(b, c, h * w).transpose(1, 2)
        q, k, v = (proj(seq).unsqueeze(1) for proj in (self.to_q, self.to_k, self.to_v))
        out = F.scaled_dot_product_attention(q, k, v).squeeze(1)
        out = self.to_out[0](out).transpose(1, 2).reshape(b, c, h, w)
        return out + x


class MidBlock(nn.Module):
    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(channels, channels, groups) for _ in range(2)])
        self.attentions = nn.ModuleList([SpatialAttention(channels, groups)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class Downsample(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))  # diffusers' asymmetric padding before the stride-2 conv


class Upsample(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Stage(nn.Module):
    """One resolution of the encoder (DownEncoderBlock2D) or decoder (UpDecoderBlock2D)."""

    def __init__(self, cin: int, cout: int, layers: int, groups: int, resample: str | None) -> None:
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, groups) for i in range(layers)])
        if resample == "down":
            self.downsamplers = nn.ModuleList([Downsample(cout)])
        elif resample == "up":
            self.upsamplers = nn.ModuleList([Upsample(cout)])
        self.resample = resample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        if self.resample == "down":
            x = self.downsamplers[0](x)
        elif self.resample == "up":
            x = self.upsamplers[0](x)
        return x


class Encoder(nn.Module):
    def __init__(self, latent_channels: int, channels: tuple[int, ...], layers: int, groups: int) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(3, channels[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            Stage(channels[max(i - 1, 0)], c, layers, groups, "down" if i < len(channels) - 1 else None)
            for i, c in enumerate(channels)
        )
        self.mid_block = MidBlock(channels[-1], groups)
        self.conv_norm_out = nn.GroupNorm(groups, channels[-1], eps=EPS)
        self.conv_out = nn.Conv2d(channels[-1], 2 * latent_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_in(x)
        for block in self.down_blocks:
            x = block(x)
        return self.conv_out(F.silu(self.conv_norm_out(self.mid_block(x))))


class Decoder(nn.Module):
    def __init__(self, latent_channels: int, channels: tuple[int, ...], layers: int, groups: int) -> None:
        super().__init__()
        rev = tuple(reversed(channels))
        self.conv_in = nn.Conv2d(latent_channels, rev[0], 3, padding=1)
        self.mid_block = MidBlock(rev[0], groups)
        self.up_blocks = nn.ModuleList(
            Stage(rev[max(i - 1, 0)], c, layers + 1, groups, "up" if i < len(rev) - 1 else None)
            for i, c in enumerate(rev)
        )
        self.conv_norm_out = nn.GroupNorm(groups, rev[-1], eps=EPS)
        self.conv_out = nn.Conv2d(rev[-1], 3, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.mid_block(self.conv_in(z))
        for block in self.up_blocks:
            x = block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(
        self,
        latent_channels: int,
        block_out_channels: tuple[int, ...] = BLOCK_OUT_CHANNELS,
        layers_per_block: int = LAYERS_PER_BLOCK,
        norm_num_groups: int = NORM_GROUPS,
    ) -> None:
        super().__init__()
        args = (latent_channels, tuple(block_out_channels), layers_per_block, norm_num_groups)
        self.encoder = Encoder(*args)
        self.decoder = Decoder(*args)
        self.quant_conv = nn.Conv2d(2 * latent_channels, 2 * latent_channels, 1)
        self.post_quant_conv = nn.Conv2d(latent_channels, latent_channels, 1)
        self.downsample_factor = 2 ** (len(block_out_channels) - 1)

    def encode_mean(self, images: torch.Tensor) -> torch.Tensor:
        moments = self.quant_conv(self.encoder(images))
        return moments.chunk(2, dim=1)[0]

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.post_quant_conv(latents))


class StableDiffusionVAE(nn.Module):
    """The official wrapper's parameters and data-dict keys around our AutoencoderKL (attribute ``vae``)."""

    def __init__(
        self,
        images_read_key: str,
        vae_latents_read_key: str,
        vae_latents_write_key: str,
        images_reconst_write_key: str,
        vae_kl_loss_write_key: str | None = None,
        latent_channels: int = 16,
        scaling_factor: float | None = None,
        dtype_override: str | None = "fp32",
        hf_hub_path: str | None = None,
        sample_posterior: bool = True,
        learnable_logvar: bool = False,
        logvar_init: float = 0.0,
        compile_encode_fn: bool = False,
        force_vae_encode: bool = True,
        frozen: bool = False,
        # Not official: the test checkpoints here shrink the VAE; absent in published configs (defaults = real VAE).
        block_out_channels: list[int] | None = None,
        layers_per_block: int = LAYERS_PER_BLOCK,
        norm_num_groups: int = NORM_GROUPS,
    ) -> None:
        super().__init__()
        if scaling_factor is None:
            raise TypeError(
                "StableDiffusionVAE: scaling_factor is not in the config (the official code reads it from the hub "
                "VAE's config.json); add the VAE's scaling_factor to the vae part of config.json"
            )
        if learnable_logvar:
            raise TypeError("StableDiffusionVAE: learnable_logvar is a training option, not supported")
        self.images_read_key, self.latents_read_key = images_read_key, vae_latents_read_key
        self.latents_write_key, self.reconst_write_key = vae_latents_write_key, images_reconst_write_key
        self.scaling_factor = float(scaling_factor)
        channels = tuple(block_out_channels) if block_out_channels else BLOCK_OUT_CHANNELS
        self.vae = AutoencoderKL(latent_channels, channels, layers_per_block, norm_num_groups)
        self.latent_channels = latent_channels

    @property
    def downsample_factor(self) -> int:
        return self.vae.downsample_factor

    def encode(self, data: dict[str, Any]) -> dict[str, Any]:
        images = torch.cat(list(data[self.images_read_key]), dim=0)
        latents = self.vae.encode_mean(images) * self.scaling_factor
        data[self.latents_write_key] = list(latents.split(1, dim=0))
        return data

    def decode(self, data: dict[str, Any]) -> dict[str, Any]:
        latents = torch.cat(list(data[self.latents_read_key]), dim=0)
        data[self.reconst_write_key] = list(self.vae.decode(latents / self.scaling_factor).split(1, dim=0))
        return data
