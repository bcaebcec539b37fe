"""The data-dict modules FlexTok's configs chain together (patchify, registers, packing, heads, FSQ, dropout, time).

FlexTok's encoder and decoder are each a ``SequentialModuleDictWrapper``: named modules run in order, each reading
and writing entries of one dict (lists with one tensor per image). The config wires them by key names, so we
implement each module with the official constructor parameters and the same parameter names, and let the config
do the wiring. Written for inference (``eval``); training-only arguments are accepted and ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from workers.media.image.flextok.layers import layer_norm, modulate, reject_unsupported

Data = dict[str, Any]


def channels_first_to_last(x: torch.Tensor) -> torch.Tensor:
    return x.movedim(1, -1)


def channels_last_to_first(x: torch.Tensor) -> torch.Tensor:
    return x.movedim(-1, 1)


class SequentialModuleDictWrapper(nn.Module):
    def __init__(self, module_dict: dict[str, nn.Module]) -> None:
        super().__init__()
        self.module_dict = nn.ModuleDict(module_dict)

    def forward(self, data: Data) -> Data:
        for module in self.module_dict.values():
            data = module(data)
        return data


class PerSampleOp(nn.Module):
    def __init__(self, read_key: str, write_key: str, per_sample_op: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.read_key, self.write_key, self.op = read_key, write_key, per_sample_op

    def forward(self, data: Data) -> Data:
        data[self.write_key] = [self.op(x) for x in data[self.read_key]]
        return data


def patchify(x: torch.Tensor, patch_sizes: list[int], flatten: bool) -> torch.Tensor:
    """[b, h, w, d] -> [b, h/p, w/p, p*p*d] (patch pixels row-major, then channels), as the official einops."""
    b, h, w, d = x.shape
    ph, pw = patch_sizes
    if h % ph or w % pw:
        raise ValueError(f"latent grid {h}x{w} is not divisible by the patch size {ph}x{pw}")
    x = x.view(b, h // ph, ph, w // pw, pw, d).permute(0, 1, 3, 2, 4, 5).reshape(b, h // ph, w // pw, ph * pw * d)
    return x.flatten(1, 2) if flatten else x


def unpatchify(x: torch.Tensor, patch_sizes: list[int]) -> torch.Tensor:
    b, nh, nw, _ = x.shape
    ph, pw = patch_sizes
    return x.view(b, nh, nw, ph, pw, -1).permute(0, 1, 3, 2, 4, 5).reshape(b, nh * ph, nw * pw, -1)


class PatchEmbedder(nn.Module):
    def __init__(
        self,
        input_tensor_list_read_key: str,
        patches_list_write_key: str,
        n_patches_write_key: str,
        patch_sizes: list[int],
        channels_in: int,
        dim: int | None = None,
        flatten_patches: bool = True,
        weight_init_style: str = "xavier",
    ) -> None:
        super().__init__()
        if len(patch_sizes) != 2:
            raise TypeError("PatchEmbedder: only 2D patches are supported")
        self.read_key, self.write_key, self.n_key = (
            input_tensor_list_read_key,
            patches_list_write_key,
            n_patches_write_key,
        )
        self.patch_sizes, self.flatten = list(patch_sizes), flatten_patches
        patch_dim = channels_in * math.prod(patch_sizes)
        self.patch_proj: nn.Module = nn.Linear(patch_dim, dim, bias=True) if dim is not None else nn.Identity()

    def forward(self, data: Data) -> Data:
        patches = [patchify(x, self.patch_sizes, self.flatten) for x in data[self.read_key]]
        data[self.write_key] = [self.patch_proj(p) for p in patches]
        data[self.n_key] = [list(p.shape[1:-1]) for p in patches]
        return data


def sincos_2d(h: int, w: int, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """The fixed 2D sin-cos table [1, dim, h, w] (official layout: w-major grid, then reshaped as (h w))."""
    if dim % 4:
        raise TypeError("sincos positional embeddings need dim divisible by 4")
    grid_w, grid_h = torch.meshgrid(
        torch.arange(w, dtype=torch.float32), torch.arange(h, dtype=torch.float32), indexing="ij"
    )
    omega = 1.0 / temperature ** (torch.arange(dim // 4, dtype=torch.float32) / (dim // 4))
    out_w = grid_w.reshape(-1)[:, None] * omega[None]
    out_h = grid_h.reshape(-1)[:, None] * omega[None]
    table = torch.cat([out_w.sin(), out_w.cos(), out_h.sin(), out_h.cos()], dim=1)  # [(h w), dim]
    return table.view(h, w, dim).permute(2, 0, 1).unsqueeze(0)


class PositionalEmbeddingAdder(nn.Module):
    """Adds absolute positional embeddings (sin-cos 2D, or learnable 1D/2D), sliced to the input's grid."""

    def __init__(
        self,
        read_key: str,
        write_key: str,
        dim: int,
        max_sizes: list[int],
        posemb_type: str = "sincos",
        posemb_scaling: str = "absolute",
        posemb_write_key: str | None = None,
    ) -> None:
        super().__init__()
        if posemb_scaling != "absolute":
            raise TypeError(f"PositionalEmbeddingAdder: posemb_scaling {posemb_scaling!r} is not supported")
        self.read_key, self.write_key = read_key, write_key
        self.posemb_type, self.n_dim = posemb_type, len(max_sizes)
        if posemb_type == "sincos":
            if self.n_dim != 2:
                raise TypeError("sincos positional embeddings are 2D only")
            self.posembs = nn.Parameter(sincos_2d(max_sizes[0], max_sizes[1], dim), requires_grad=False)
        elif posemb_type in ("learnable_sum", "learnable_prod"):
            if len(set(max_sizes)) != 1 or self.n_dim not in (1, 2):
                raise TypeError("learnable positional embeddings need 1 or 2 equal max_sizes")
            self.posembs = nn.Parameter(torch.zeros(self.n_dim, 1, dim, max_sizes[0]))
        else:
            raise TypeError(f"PositionalEmbeddingAdder: posemb_type {posemb_type!r} is not supported")

    def table(self, shape: list[int]) -> torch.Tensor:
        """[1, *shape, dim] (channels last)."""
        posembs: torch.Tensor
        if self.posemb_type == "sincos":
            posembs = self.posembs
        elif self.n_dim == 1:
            posembs = self.posembs[0]
        elif self.posemb_type == "learnable_prod":
            posembs = self.posembs[0].unsqueeze(-1) * self.posembs[1].unsqueeze(-2)
        else:
            posembs = self.posembs[0].unsqueeze(-1) + self.posembs[1].unsqueeze(-2)
        for axis, size in enumerate(shape):
            if size > posembs.shape[2 + axis]:
                raise ValueError(f"input grid {shape} exceeds the positional table {list(posembs.shape[2:])}")
            posembs = posembs.narrow(2 + axis, 0, size)
        return posembs.movedim(1, -1)

    def forward(self, data: Data) -> Data:
        data[self.write_key] = [x + self.table(list(x.shape[1:-1])) for x in data[self.read_key]]
        return data


class Registers1D(nn.Module):
    """The learned register tokens the encoder writes an image into (nested: a prefix of them is a valid code)."""

    def __init__(
        self,
        input_tensor_list_read_key: str,
        register_sizes_read_write_key: str,
        registers_write_key: str,
        dim: int,
        n_min: int,
        n_max: int,
        n_eval: int | None = None,
        size_sampling_mode: str = "uniform",
        ordering_mode: str = "nested",
        extra_registers_write_key: str | None = None,
        extra_registers_dim: int | None = None,
    ) -> None:
        super().__init__()
        if ordering_mode != "nested" or extra_registers_write_key is not None:
            raise TypeError("Registers1D: only nested ordering without extra registers is supported")
        self.read_key, self.sizes_key, self.write_key = (
            input_tensor_list_read_key,
            register_sizes_read_write_key,
            registers_write_key,
        )
        self.n_max, self.n_eval = n_max, n_eval or n_max
        self.registers = nn.Parameter(torch.zeros(n_max, dim))

    def forward(self, data: Data) -> Data:
        inputs = data[self.read_key]
        sizes = data.setdefault(self.sizes_key, [self.n_eval] * len(inputs))
        data[self.write_key] = [
            self.registers[:n].expand(x.shape[0], -1, -1) for n, x in zip(sizes, inputs, strict=True)
        ]
        return data


def attention_mask(sub_sizes: list[list[int]], mode: str) -> torch.Tensor:
    """Dense boolean mask [N, N] for the packed sequence of several images, each made of sub-sequences.

    full: every token sees every token of its image; causal: lower-triangular within an image; causal_last: all
    but the last sub-sequence form a prefix everyone sees, the last (registers) is causal (so register i never sees
    registers after it: what makes a prefix of k registers a self-contained code).
    """
    total = sum(sum(sizes) for sizes in sub_sizes)
    mask = torch.zeros(total, total, dtype=torch.bool)
    start = 0
    for sizes in sub_sizes:
        n = sum(sizes)
        if mode == "full":
            block = torch.ones(n, n, dtype=torch.bool)
        elif mode in ("causal", "causal_last"):
            block = torch.ones(n, n, dtype=torch.bool).tril()
            if mode == "causal_last":
                block[:, : n - sizes[-1]] = True
        else:
            raise ValueError(f"unknown mask mode {mode!r}")
        mask[start : start + n, start : start + n] = block
        start += n
    return mask


class BlockWiseSequencePacker(nn.Module):
    """Concatenates the listed token sets of each image into one sequence and builds its attention mask."""

    def __init__(
        self,
        input_list_read_keys: list[str],
        packed_seq_write_key: str,
        block_mask_write_key: str,
        inner_packed_shapes_write_key: str,
        outer_packed_shapes_write_key: str,
        mask_mode: str = "full",
        max_seq_len: int | None = None,
        pad_to_multiple: int | None = None,
        emb_packing_fn_write_key: str | None = None,
        per_subseq_embs: bool = False,
        **training_only: Any,
    ) -> None:
        super().__init__()
        reject_unsupported(training_only, "BlockWiseSequencePacker")
        if mask_mode not in ("full", "causal", "causal_last"):
            raise TypeError(f"BlockWiseSequencePacker: mask_mode {mask_mode!r} is not supported")
        self.read_keys, self.seq_key, self.mask_key = input_list_read_keys, packed_seq_write_key, block_mask_write_key
        self.inner_key, self.outer_key = inner_packed_shapes_write_key, outer_packed_shapes_write_key
        self.mask_mode, self.emb_key, self.per_subseq = mask_mode, emb_packing_fn_write_key, per_subseq_embs

    def forward(self, data: Data) -> Data:
        per_image = list(zip(*(data[key] for key in self.read_keys), strict=True))
        inner_shapes = [[tuple(t.shape[1:-1]) for t in tensors] for tensors in per_image]
        sub_sizes = [[math.prod(shape) for shape in shapes] for shapes in inner_shapes]
        flat = [torch.cat([t.flatten(1, -2) for t in tensors], dim=1) for tensors in per_image]
        data[self.seq_key] = torch.cat(flat, dim=1)
        data[self.mask_key] = attention_mask(sub_sizes, self.mask_mode).to(data[self.seq_key].device)
        data[self.inner_key] = inner_shapes
        data[self.outer_key] = [sum(sizes) for sizes in sub_sizes]
        if self.emb_key is not None:
            data[self.emb_key] = _emb_packer(sub_sizes, per_subseq=self.per_subseq)
        return data


def _emb_packer(sub_sizes: list[list[int]], *, per_subseq: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """Spreads one conditioning vector per image (or per image and sub-sequence) over that image's tokens."""

    def pack(emb: torch.Tensor) -> torch.Tensor:
        rows = []
        for index, sizes in enumerate(sub_sizes):
            if per_subseq:
                chunks = emb[index].view(len(sizes), -1)
                rows += [chunk.expand(n, -1) for chunk, n in zip(chunks, sizes, strict=True)]
            else:
                rows.append(emb[index].expand(sum(sizes), -1))
        return torch.cat(rows, dim=0).unsqueeze(0)

    return pack


class SequenceUnpacker(nn.Module):
    def __init__(
        self,
        packed_seq_read_key: str,
        inner_seq_write_keys: list[str],
        inner_packed_shapes_read_key: str,
        outer_packed_shapes_read_key: str,
    ) -> None:
        super().__init__()
        self.seq_key, self.write_keys = packed_seq_read_key, inner_seq_write_keys
        self.inner_key, self.outer_key = inner_packed_shapes_read_key, outer_packed_shapes_read_key

    def forward(self, data: Data) -> Data:
        seq = data[self.seq_key]
        images = seq.split(data[self.outer_key], dim=1)
        outputs: list[list[torch.Tensor]] = [[] for _ in self.write_keys]
        for image, shapes in zip(images, data[self.inner_key], strict=True):
            parts = image.split([math.prod(shape) for shape in shapes], dim=1)
            for slot, (part, shape) in enumerate(zip(parts, shapes, strict=True)):
                outputs[slot].append(part.reshape(part.shape[0], *shape, part.shape[-1]))
        for key, values in zip(self.write_keys, outputs, strict=True):
            data[key] = values
        return data


class LinearHead(nn.Module):
    """LayerNorm (no affine), optional adaLN shift/scale, then a linear projection."""

    def __init__(
        self,
        read_key: str,
        write_key: str,
        dim: int,
        dim_out: int,
        use_mup_readout: bool = False,
        weight_init_style: str = "zero",
        adaLN_emb_read_key: str | None = None,  # noqa: N803
        adaLN_packing_fn_read_key: str | None = None,  # noqa: N803
        adaLN_bias: bool = True,  # noqa: N803
        proj_bias: bool = True,
        dtype_override: str | None = None,
    ) -> None:
        super().__init__()
        self.read_key, self.write_key = read_key, write_key
        self.ada_emb_key, self.ada_pack_key = adaLN_emb_read_key, adaLN_packing_fn_read_key
        if adaLN_emb_read_key is not None:
            self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim, bias=adaLN_bias))
        # use_mup_readout: the official MuReadout divides its input by a muP width multiplier that exists only after
        # mup.set_base_shapes (a training step); the published inference path never sets it, so a loadable config has
        # the plain linear readout, whose keys (proj.weight/bias) this is.
        if use_mup_readout:
            raise TypeError("LinearHead: use_mup_readout=True needs muP base shapes; not an inference config")
        self.proj = nn.Linear(dim, dim_out, bias=proj_bias)

    def project(self, xs: list[torch.Tensor], data: Data) -> list[torch.Tensor]:
        sizes = [math.prod(x.shape[1:-1]) for x in xs]
        packed = torch.cat([x.flatten(1, -2) for x in xs], dim=1)
        h = layer_norm(packed)
        if self.ada_emb_key is not None:
            pack = data[self.ada_pack_key] if self.ada_pack_key else _emb_packer([[n] for n in sizes], per_subseq=False)
            shift, scale = pack(self.adaLN_modulation(data[self.ada_emb_key])).chunk(2, dim=-1)
            h = modulate(h, shift, scale)
        out = self.proj(h)
        return [part.reshape(*x.shape[:-1], -1) for part, x in zip(out.split(sizes, dim=1), xs, strict=True)]

    def forward(self, data: Data) -> Data:
        data[self.write_key] = self.project(data[self.read_key], data)
        return data


class ToPatchesLinearHead(LinearHead):
    def __init__(
        self,
        read_key: str,
        write_key: str,
        dim: int,
        channels_out: int,
        patch_sizes: list[int],
        use_mup_readout: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(read_key, write_key, dim, channels_out * math.prod(patch_sizes), use_mup_readout, **kwargs)
        self.patch_sizes = list(patch_sizes)

    def forward(self, data: Data) -> Data:
        data[self.write_key] = [unpatchify(x, self.patch_sizes) for x in self.project(data[self.read_key], data)]
        return data


class LinearLayer(nn.Module):
    def __init__(
        self,
        read_key: str,
        write_key: str,
        dim_in: int,
        dim: int,
        weight_init_style: str = "xavier",
        dtype_override: str | None = None,
        proj_bias: bool = True,
    ) -> None:
        super().__init__()
        self.read_key, self.write_key = read_key, write_key
        self.proj = nn.Linear(dim_in, dim, bias=proj_bias)

    def forward(self, data: Data) -> Data:
        data[self.write_key] = [self.proj(x) for x in data[self.read_key]]
        return data


class MaskedNestedDropout(nn.Module):
    """At inference: registers from position k on are replaced by the learned mask token (k = tokens kept)."""

    def __init__(
        self,
        read_write_key: str,
        dim: int,
        eval_keep_k_read_key: str | None = "eval_keep_k",
        train_keep_k_write_key: str | None = "train_keep_k",
        size_sampling_mode: str = "uniform",
    ) -> None:
        super().__init__()
        self.key, self.keep_k_key = read_write_key, eval_keep_k_read_key
        self.dropout_mask_token = nn.Parameter(torch.zeros(dim))

    def forward(self, data: Data) -> Data:
        if self.keep_k_key is None or self.keep_k_key not in data:
            return data
        out = []
        for x, keep_k in zip(data[self.key], data[self.keep_k_key], strict=True):
            x = x.clone()
            x[:, keep_k:] = self.dropout_mask_token
            out.append(x)
        data[self.key] = out
        return data


class LearnedNullCond(nn.Module):
    """The unconditional branch of classifier-free guidance: the condition replaced by a learned null token."""

    def __init__(
        self,
        read_write_key: str,
        dim: int,
        eval_drop_flag_read_key: str | None = "eval_dropout_mask",
        dropout_prob: float = 0.0,
        replace_with_single_token: bool = False,
    ) -> None:
        super().__init__()
        self.key, self.flag_key, self.single = read_write_key, eval_drop_flag_read_key, replace_with_single_token
        self.nullcond = nn.Parameter(torch.zeros(dim))

    def null(self, x: torch.Tensor) -> torch.Tensor:
        if self.single:
            return self.nullcond.expand(x.shape[0], 1, -1)
        return self.nullcond.expand_as(x).clone()

    def forward(self, data: Data) -> Data:
        if self.flag_key is None or self.flag_key not in data:
            return data
        data[self.key] = [
            self.null(x) if drop else x for x, drop in zip(data[self.key], data[self.flag_key], strict=True)
        ]
        return data


class ZeroNullCond(LearnedNullCond):
    def __init__(
        self, read_write_key: str, eval_drop_flag_read_key: str | None = "eval_dropout_mask", dropout_prob: float = 0.0
    ) -> None:
        nn.Module.__init__(self)
        self.key, self.flag_key, self.single = read_write_key, eval_drop_flag_read_key, False

    def null(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class TimestepEmbedder(nn.Module):
    """Sinusoidal features of the flow time t (cos then sin, max period 256) through a 2-layer MLP."""

    def __init__(
        self,
        timesteps_read_key: str,
        time_embedding_write_key: str,
        dim: int,
        frequency_embedding_size: int = 256,
        weight_init_style: str = "xavier",
        max_timestep: float = 1000.0,
        temb_as_tokens: bool = False,
    ) -> None:
        super().__init__()
        if temb_as_tokens:
            raise TypeError("TimestepEmbedder: temb_as_tokens is not supported")
        self.read_key, self.write_key = timesteps_read_key, time_embedding_write_key
        self.freq_size, self.max_timestep = frequency_embedding_size, max_timestep
        self.mlp = nn.Sequential(nn.Linear(frequency_embedding_size, dim), nn.SiLU(), nn.Linear(dim, dim))

    def features(self, t: torch.Tensor, max_period: float = 256.0) -> torch.Tensor:
        half = self.freq_size // 2
        exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32) / half
        freqs = (1000.0 / self.max_timestep) * torch.exp(exponent).to(t.device)
        args = t[:, None].float() * freqs[None]
        emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
        return F.pad(emb, (0, 1)) if self.freq_size % 2 else emb

    def forward(self, data: Data) -> Data:
        data[self.write_key] = self.mlp(self.features(data[self.read_key]))
        return data


class FSQ(nn.Module):
    """Finite scalar quantisation: each of len(levels) channels bounded by tanh and rounded to its level count;
    the token id is the mixed-radix number of the per-channel codes (levels [8,8,8,5,5,5] -> 64,000 ids)."""

    _levels: torch.Tensor
    _basis: torch.Tensor

    def __init__(
        self,
        latents_read_key: str,
        quants_write_key: str,
        tokens_write_key: str,
        levels: list[int],
        drop_quant_p: float = 0.0,
        corrupt_tokens_p: float = 0.0,
        min_corrupt_tokens_p: float | None = None,
        apply_corrupt_tokens_p: float = 0.2,
        packed_call: bool = True,
    ) -> None:
        super().__init__()
        self.latents_read_key, self.quants_write_key, self.tokens_write_key = (
            latents_read_key,
            quants_write_key,
            tokens_write_key,
        )
        self.register_buffer("_levels", torch.tensor(levels, dtype=torch.int32), persistent=False)
        basis = torch.cumprod(torch.tensor([1, *levels[:-1]]), dim=0, dtype=torch.int32)
        self.register_buffer("_basis", basis, persistent=False)
        self.dim, self.codebook_size = len(levels), math.prod(levels)

    def quantize(self, z: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
        levels = self._levels
        half_l = (levels - 1) * (1 + eps) / 2
        offset = torch.where(levels % 2 == 0, 0.5, 0.0)
        shift = (offset / half_l).atanh()
        bounded = (z + shift).tanh() * half_l - offset
        return bounded.round() / (levels // 2)

    def codes_to_indices(self, quant: torch.Tensor) -> torch.Tensor:
        half_width = self._levels // 2
        return ((quant * half_width + half_width) * self._basis).sum(dim=-1).to(torch.int32).long()

    def indices_to_embedding(self, indices: torch.Tensor) -> torch.Tensor:
        half_width = self._levels // 2
        codes = indices.unsqueeze(-1) // self._basis % self._levels
        return (codes - half_width) / half_width

    def forward(self, data: Data) -> Data:
        quants, tokens = [], []
        for z in data[self.latents_read_key]:
            if z.shape[-1] != self.dim:
                raise ValueError(f"FSQ expects {self.dim} channels, got {z.shape[-1]}")
            quant = self.quantize(z.float())
            quants.append(quant)
            tokens.append(self.codes_to_indices(quant))
        data[self.quants_write_key], data[self.tokens_write_key] = quants, tokens
        return data


class MinRFNoiseModule(nn.Module):
    """Training-time noising (no parameters); kept so official configs build. Unused at inference."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()


class MinRFPipeline:
    """The rectified-flow sampler's settings (the data-dict keys it reads and writes); see flow.py for the loop."""

    def __init__(
        self,
        model: nn.Module | None = None,
        noise_read_key: str | None = None,
        target_sizes_read_key: str | None = None,
        latents_read_key: str | None = None,
        timesteps_read_key: str | None = None,
        noised_images_read_key: str | None = None,
        reconst_write_key: str | None = None,
        out_channels: int | None = None,
    ) -> None:
        if not (timesteps_read_key and noised_images_read_key and reconst_write_key and out_channels):
            raise TypeError("MinRFPipeline needs timesteps/noised-images/reconstruction keys and out_channels")
        self.model = model
        self.timesteps_key, self.noised_key, self.reconst_key = (
            timesteps_read_key,
            noised_images_read_key,
            reconst_write_key,
        )
        self.out_channels = out_channels
