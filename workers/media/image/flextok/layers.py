"""FlexTok's transformer: pre-norm blocks with QK-norm, SwiGLU MLP, muP attention scale, optional adaLN (time).

Our own implementation; attribute names follow the official modules (``blocks.N.attn.wq``, ``mlp.fc1/fc2/fc3``,
``adaLN_modulation.1``) so the published state-dict keys load unchanged. Dense boolean masks replace FlexAttention's
block masks (same attention pattern; we decode one image at a time, so there is no padding to skip).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def layer_norm(x: torch.Tensor) -> torch.Tensor:
    """The official Fp32LayerNorm without affine parameters: normalise in float32, return the input dtype."""
    return F.layer_norm(x.float(), (x.shape[-1],), eps=1e-5).type_as(x)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1.0 + scale) + shift


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int, act_layer: type[nn.Module], bias: bool) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, bias=bias)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class GatedMlp(nn.Module):
    """SwiGLU: the hidden width is 2/3 of the nominal one (so the parameter count matches a plain MLP)."""

    def __init__(self, dim: int, hidden: int, act_layer: type[nn.Module], bias: bool) -> None:
        super().__init__()
        hidden = int(2 * hidden / 3)
        self.fc1 = nn.Linear(dim, hidden, bias=bias)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden, dim, bias=bias)
        self.fc3 = nn.Linear(dim, hidden, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)) * self.fc3(x))


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int, *, qkv_bias: bool, proj_bias: bool, qk_norm: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.wq = nn.Linear(dim, dim, bias=qkv_bias)
        self.wk = nn.Linear(dim, dim, bias=qkv_bias)
        self.wv = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.qk_norm = qk_norm
        self.scale = 8.0 / self.head_dim  # muP attention scale (1/d, written as 8/d so d=64 gives 1/8)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, xq: torch.Tensor, xkv: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        q, k, v = self._heads(self.wq(xq)), self._heads(self.wk(xkv)), self._heads(self.wv(xkv))
        if self.qk_norm:
            q, k = layer_norm(q), layer_norm(k)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scale)
        b, _, n, _ = x.shape
        return self.proj(x.transpose(1, 2).reshape(b, n, -1))


class Block(nn.Module):
    """One pre-norm block; with ``ada_ln`` the time embedding modulates both sub-layers (DiT-style gates)."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        mlp_ratio: float,
        qkv_bias: bool,
        proj_bias: bool,
        mlp_bias: bool,
        act_layer: type[nn.Module],
        gated_mlp: bool,
        qk_norm: bool,
        ada_ln: bool,
        adaLN_expansion: int,  # noqa: N803 (the official parameter name)
    ) -> None:
        super().__init__()
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias, proj_bias=proj_bias, qk_norm=qk_norm)
        mlp_cls = GatedMlp if gated_mlp else Mlp
        self.mlp = mlp_cls(dim, int(dim * mlp_ratio), act_layer, mlp_bias)
        self.ada_ln = ada_ln
        if ada_ln:
            self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, adaLN_expansion * 6 * dim, bias=True))

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, ada_emb: torch.Tensor | None, ada_pack: Callable | None
    ) -> torch.Tensor:
        if not self.ada_ln:
            h = layer_norm(x)
            x = x + self.attn(h, h, mask)
            return x + self.mlp(layer_norm(x))
        assert ada_emb is not None and ada_pack is not None
        gate_msa, gate_mlp, shift_msa, scale_msa, shift_mlp, scale_mlp = ada_pack(self.adaLN_modulation(ada_emb)).chunk(
            6, dim=-1
        )
        h = modulate(layer_norm(x), shift_msa, scale_msa)
        x = x + gate_msa * self.attn(h, h, mask)
        return x + gate_mlp * self.mlp(modulate(layer_norm(x), shift_mlp, scale_mlp))


class FlexTransformer(nn.Module):
    """The official FlexTransformer's parameters; reads/writes the data dict like the official module."""

    def __init__(
        self,
        input_seq_read_key: str,
        output_seq_write_key: str,
        dim: int = 768,
        depth: int = 12,
        head_dim: int = 64,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = False,
        proj_bias: bool = False,
        mlp_bias: bool = False,
        act_layer: type[nn.Module] = nn.SiLU,
        gated_mlp: bool = True,
        qk_norm: bool = True,
        block_mask_read_key: str | None = None,
        adaLN_emb_read_key: str | None = None,  # noqa: N803
        adaLN_packing_fn_read_key: str | None = None,  # noqa: N803
        adaLN_expansion: int = 1,  # noqa: N803
        **training_only: Any,
    ) -> None:
        super().__init__()
        reject_unsupported(training_only, "FlexTransformer")
        self.input_seq_read_key, self.output_seq_write_key = input_seq_read_key, output_seq_write_key
        self.block_mask_read_key = block_mask_read_key
        self.ada_emb_key, self.ada_pack_key = adaLN_emb_read_key, adaLN_packing_fn_read_key
        self.blocks = nn.ModuleList(
            Block(
                dim,
                dim // head_dim,
                mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias,
                proj_bias=proj_bias,
                mlp_bias=mlp_bias,
                act_layer=act_layer,
                gated_mlp=gated_mlp,
                qk_norm=qk_norm,
                ada_ln=adaLN_emb_read_key is not None,
                adaLN_expansion=adaLN_expansion,
            )
            for _ in range(depth)
        )

    def forward(self, data: dict[str, Any]) -> dict[str, Any]:
        x = data[self.input_seq_read_key]
        mask = data[self.block_mask_read_key] if self.block_mask_read_key else None
        ada_emb = data[self.ada_emb_key] if self.ada_emb_key else None
        ada_pack = data[self.ada_pack_key] if self.ada_pack_key else None
        for block in self.blocks:
            x = block(x, mask, ada_emb, ada_pack)
        data[self.output_seq_write_key] = x
        return data


# Constructor arguments that only matter for training or for the official kernels; harmless at inference.
TRAINING_ONLY = {
    "drop",
    "drop_path_rate",
    "use_act_checkpoint",
    "weight_init_style",
    "zero_init_query_proj",
    "intermediate_layer_write_key",
    "intermediate_layers",
    "compile_block_mask",
    "return_materialized_mask",
    "use_mup_readout",
    "dtype_override",
    "score_mod_read_key",
}


def reject_unsupported(kwargs: dict[str, Any], module: str) -> None:
    """Arguments we do not implement are refused (rather than silently computing something else)."""
    unknown = sorted(set(kwargs) - TRAINING_ONLY)
    if unknown:
        raise TypeError(f"{module}: unsupported argument(s) {', '.join(unknown)}")
    if kwargs.get("intermediate_layer_write_key") is not None or kwargs.get("score_mod_read_key") is not None:
        raise TypeError(f"{module}: intermediate layers / score_mod are not supported")
