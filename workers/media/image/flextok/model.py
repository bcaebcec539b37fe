"""FlexTok end to end: VAE encode -> encoder (registers) -> FSQ tokens; tokens -> rectified-flow decoder -> VAE.

``FlexTok`` has the official top-level attribute names (``vae``, ``encoder``, ``decoder``, ``regularizer``) so the
published state dict loads with its own keys. The sampler follows the official MinRF pipeline: Euler steps from
t = 1 (noise) to 0 with x <- x - dt * v, classifier-free guidance against the null condition, optionally the
adaptive projected guidance (APG) the official demo uses.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from workers.media.image.flextok.modules import (
    FSQ,
    MaskedNestedDropout,
    MinRFPipeline,
    Registers1D,
    SequentialModuleDictWrapper,
)
from workers.media.image.flextok.vae import StableDiffusionVAE

NULL_COND_FLAG = "eval_dropout_mask"  # the data-dict key the official pipeline sets for the unconditional pass


@dataclass(frozen=True)
class SamplerSettings:
    """What a reconstruction depends on besides the tokens; recorded with every decode."""

    steps: int = 25
    guidance_scale: float = 7.5
    norm_guidance: bool = True  # APG (Sadat et al. 2024) as in the official demo
    seed: int = 0


class FlexTok(nn.Module):
    def __init__(
        self,
        vae: StableDiffusionVAE,
        encoder: SequentialModuleDictWrapper,
        decoder: SequentialModuleDictWrapper,
        regularizer: FSQ,
        flow_matching_noise_module: nn.Module,
        pipeline: Callable[..., MinRFPipeline],
    ) -> None:
        super().__init__()
        self.vae, self.encoder, self.decoder, self.regularizer = vae, encoder, decoder, regularizer
        self.flow_matching_noise_module = flow_matching_noise_module
        self.pipeline = pipeline(model=decoder)
        registers = dict(encoder.module_dict).get("enc_register_module")
        dropout = dict(decoder.module_dict).get("dec_nested_dropout")
        if not isinstance(registers, Registers1D) or not isinstance(dropout, MaskedNestedDropout):
            raise TypeError("a 1D FlexTok needs encoder.enc_register_module and decoder.dec_nested_dropout")
        if dropout.keep_k_key is None:
            raise TypeError("decoder.dec_nested_dropout needs eval_keep_k_read_key (how many tokens are kept)")
        self.max_tokens: int = registers.n_max
        self.keep_k_key: str = dropout.keep_k_key

    @torch.no_grad()
    def tokenize(self, images: torch.Tensor) -> torch.Tensor:
        """images [1, 3, H, W] in [-1, 1] -> token ids [1, max_tokens] (int64, ordered coarse to fine)."""
        data = self.vae.encode({self.vae.images_read_key: [images]})
        data = self.regularizer(self.encoder(data))
        return data[self.regularizer.tokens_write_key][0]

    @torch.no_grad()
    def detokenize(
        self, tokens: torch.Tensor, *, latent_size: tuple[int, int], settings: SamplerSettings
    ) -> torch.Tensor:
        """tokens [1, k] (k <= max_tokens) -> image [1, 3, H, W] in about [-1, 1]."""
        k = tokens.shape[1]
        padded = torch.zeros(1, self.max_tokens, dtype=torch.long)
        padded[:, :k] = tokens
        quants = self.regularizer.indices_to_embedding(padded)
        data: dict[str, Any] = {self.regularizer.quants_write_key: [quants], self.keep_k_key: [k]}
        data = self.sample_latents(data, latent_size=latent_size, settings=settings)
        data[self.vae.latents_read_key] = data[self.pipeline.reconst_key]
        return self.vae.decode(data)[self.vae.reconst_write_key][0]

    def sample_latents(self, data: dict[str, Any], *, latent_size: tuple[int, int], settings: SamplerSettings) -> dict:
        pipe = self.pipeline
        generator = torch.Generator().manual_seed(settings.seed)
        x = torch.randn((1, pipe.out_channels, *latent_size), generator=generator)
        guided = settings.guidance_scale != 1.0
        momentum = MomentumBuffer(-0.5)
        dt = 1.0 / settings.steps
        for i in range(settings.steps, 0, -1):
            data[pipe.timesteps_key] = torch.full((1,), i / settings.steps)
            data[pipe.noised_key] = [x]
            velocity = self.decoder(copy.copy(data))[pipe.reconst_key][0]
            if guided:
                uncond = self.decoder({**data, NULL_COND_FLAG: [True]})[pipe.reconst_key][0]
                if settings.norm_guidance:
                    velocity = adaptive_projected_guidance(velocity, uncond, settings.guidance_scale, momentum)
                else:
                    velocity = uncond + settings.guidance_scale * (velocity - uncond)
            x = x - dt * velocity
        data[pipe.reconst_key] = [x]
        return data


class MomentumBuffer:
    def __init__(self, momentum: float) -> None:
        self.momentum = momentum
        self.running: torch.Tensor | float = 0.0

    def update(self, value: torch.Tensor) -> torch.Tensor:
        self.running = value + self.momentum * self.running
        return self.running


def adaptive_projected_guidance(
    cond: torch.Tensor, uncond: torch.Tensor, scale: float, momentum: MomentumBuffer, norm_threshold: float = 2.5
) -> torch.Tensor:
    """APG: the guidance direction with negative momentum, its norm capped, and only its part orthogonal to the
    conditional prediction applied (eta = 0), as the official ``normalized_guidance`` with its defaults."""
    diff = momentum.update(cond - uncond)
    dims = [-1, -2, -3]
    if norm_threshold > 0:
        diff = diff * torch.minimum(torch.ones_like(diff), norm_threshold / diff.norm(p=2, dim=dims, keepdim=True))
    c64 = cond.double()
    unit = c64 / c64.norm(p=2, dim=dims, keepdim=True).clamp_min(1e-12)  # F.normalize over the C, H, W axes
    d64 = diff.double()
    orthogonal = (d64 - (d64 * unit).sum(dim=dims, keepdim=True) * unit).to(diff.dtype)
    return cond + (scale - 1) * orthogonal
