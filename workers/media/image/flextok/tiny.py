"""Tiny FlexTok checkpoints in the official format, with random weights: for tests and bench/official_flextok.py.

Never used by the product (a tokenizer never runs on random weights there). The config below is written the way
the official ``config.json`` is (Hydra ``_target_`` entries naming the official classes; the module names and
data-dict keys of the published encoder/decoder), only with tiny sizes, and the VAE is a tiny diffusers
AutoencoderKL folder named by ``hf_hub_path``. The bench loads the same files into the official code, which is what
proves the layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LEVELS = [8, 8, 8, 5, 5, 5]  # the published FSQ levels: 64,000 codes


def _t(name: str, **kwargs: Any) -> dict[str, Any]:
    return {"_target_": name, **kwargs}


def _op(name: str) -> dict[str, Any]:
    return {"_target_": "hydra.utils.get_method", "path": f"flextok.model.utils.dict_ops.{name}"}


def tiny_config(
    *,
    vae_path: str,
    dim: int = 32,
    depth: int = 2,
    head_dim: int = 16,
    registers: int = 8,
    latent: int = 4,
    grid: int = 4,
    patch: int = 2,
    scaling_factor: float = 0.8,
) -> dict[str, Any]:
    """``grid``: patches per side (image side = grid * patch * VAE factor)."""
    m = "flextok.model."
    encoder = {
        "enc_channels_to_last": _t(
            m + "utils.dict_ops.PerSampleOp",
            read_key="vae_latents",
            write_key="vae_latents_bhwc",
            per_sample_op=_op("channels_first_to_last"),
        ),
        "enc_patch_emb": _t(
            m + "preprocessors.patching.PatchEmbedder",
            input_tensor_list_read_key="vae_latents_bhwc",
            patches_list_write_key="enc_vae_latents_patched",
            n_patches_write_key="enc_n_patches",
            channels_in=latent,
            dim=dim,
            patch_sizes=[patch, patch],
            flatten_patches=False,
        ),
        "enc_posemb_module": _t(
            m + "utils.posembs.PositionalEmbeddingAdder",
            read_key="enc_vae_latents_patched",
            write_key="enc_vae_latents_patched",
            dim=dim,
            max_sizes=[grid, grid],
            posemb_type="sincos",
            posemb_scaling="absolute",
        ),
        "enc_register_module": _t(
            m + "preprocessors.registers.Registers1D",
            input_tensor_list_read_key="enc_vae_latents_patched",
            register_sizes_read_write_key="register_sizes",
            registers_write_key="enc_registers",
            dim=dim,
            n_min=registers,
            n_max=registers,
            size_sampling_mode="uniform",
            ordering_mode="nested",
        ),
        "enc_seq_packer": _t(
            m + "preprocessors.flex_seq_packing.BlockWiseSequencePacker",
            input_list_read_keys=["enc_vae_latents_patched", "enc_registers"],
            packed_seq_write_key="enc_packed_seq",
            block_mask_write_key="enc_block_mask",
            inner_packed_shapes_write_key="enc_ps_inner",
            outer_packed_shapes_write_key="enc_ps_outer",
            mask_mode="causal_last",
            pad_to_multiple=128,
        ),
        "enc_transformer": _t(
            m + "trunks.transformers.FlexTransformer",
            input_seq_read_key="enc_packed_seq",
            output_seq_write_key="enc_packed_seq",
            dim=dim,
            depth=depth,
            head_dim=head_dim,
            block_mask_read_key="enc_block_mask",
        ),
        "enc_unpacker": _t(
            m + "postprocessors.seq_unpacking.SequenceUnpacker",
            packed_seq_read_key="enc_packed_seq",
            inner_seq_write_keys=["enc_vae_latents_patched", "enc_registers"],
            inner_packed_shapes_read_key="enc_ps_inner",
            outer_packed_shapes_read_key="enc_ps_outer",
        ),
        "enc_to_latents": _t(
            m + "postprocessors.heads.LinearHead",
            read_key="enc_registers",
            write_key="enc_registers",
            dim=dim,
            dim_out=len(LEVELS),
            use_mup_readout=False,
            weight_init_style="zero",
        ),
    }
    decoder = {
        "dec_from_latents": _t(
            m + "preprocessors.linear.LinearLayer",
            read_key="quants",
            write_key="dec_quants",
            dim_in=len(LEVELS),
            dim=dim,
        ),
        "dec_registers_posemb_module": _t(
            m + "utils.posembs.PositionalEmbeddingAdder",
            read_key="dec_quants",
            write_key="dec_quants",
            dim=dim,
            max_sizes=[registers],
            posemb_type="learnable_sum",
            posemb_scaling="absolute",
        ),
        "dec_nested_dropout": _t(
            m + "preprocessors.token_dropout.MaskedNestedDropout",
            read_write_key="dec_quants",
            dim=dim,
            eval_keep_k_read_key="eval_keep_k",
            train_keep_k_write_key="train_keep_k",
            size_sampling_mode="uniform",
        ),
        "dec_latent_dropout": _t(
            m + "preprocessors.nullcond.LearnedNullCond",
            read_write_key="dec_quants",
            dim=dim,
            eval_drop_flag_read_key="eval_dropout_mask",
            dropout_prob=0.2,
        ),
        "dec_noise_channels_to_last": _t(
            m + "utils.dict_ops.PerSampleOp",
            read_key="vae_latents_noised",
            write_key="vae_latents_noised_bhwc",
            per_sample_op=_op("channels_first_to_last"),
        ),
        "dec_noise_patch_emb": _t(
            m + "preprocessors.patching.PatchEmbedder",
            input_tensor_list_read_key="vae_latents_noised_bhwc",
            patches_list_write_key="dec_patches",
            n_patches_write_key="dec_n_patches",
            channels_in=latent,
            dim=dim,
            patch_sizes=[patch, patch],
            flatten_patches=False,
        ),
        "dec_patches_posemb_module": _t(
            m + "utils.posembs.PositionalEmbeddingAdder",
            read_key="dec_patches",
            write_key="dec_patches",
            dim=dim,
            max_sizes=[grid, grid],
            posemb_type="sincos",
            posemb_scaling="absolute",
        ),
        "dec_seq_packer": _t(
            m + "preprocessors.flex_seq_packing.BlockWiseSequencePacker",
            input_list_read_keys=["dec_patches", "dec_quants"],
            packed_seq_write_key="dec_packed_seq",
            block_mask_write_key="dec_block_mask",
            inner_packed_shapes_write_key="dec_ps_inner",
            outer_packed_shapes_write_key="dec_ps_outer",
            emb_packing_fn_write_key="dec_emb_packing_fn",
            per_subseq_embs=True,
            mask_mode="full",
            pad_to_multiple=128,
        ),
        "dec_time_embedder": _t(
            m + "preprocessors.time_embedding.TimestepEmbedder",
            timesteps_read_key="timesteps",
            time_embedding_write_key="dec_temb",
            dim=dim,
            max_timestep=1.0,
        ),
        "dec_transformer": _t(
            m + "trunks.transformers.FlexTransformer",
            input_seq_read_key="dec_packed_seq",
            output_seq_write_key="dec_packed_seq",
            dim=dim,
            depth=depth,
            head_dim=head_dim,
            block_mask_read_key="dec_block_mask",
            adaLN_emb_read_key="dec_temb",
            adaLN_packing_fn_read_key="dec_emb_packing_fn",
            adaLN_expansion=2,
        ),
        "dec_unpacker": _t(
            m + "postprocessors.seq_unpacking.SequenceUnpacker",
            packed_seq_read_key="dec_packed_seq",
            inner_seq_write_keys=["dec_patches", "dec_quants"],
            inner_packed_shapes_read_key="dec_ps_inner",
            outer_packed_shapes_read_key="dec_ps_outer",
        ),
        "dec_to_patches": _t(
            m + "postprocessors.heads.ToPatchesLinearHead",
            read_key="dec_patches",
            write_key="vae_latents_reconst_bhwc",
            dim=dim,
            channels_out=latent,
            patch_sizes=[patch, patch],
            use_mup_readout=False,
            adaLN_emb_read_key="dec_temb",
        ),
        "dec_channels_to_first": _t(
            m + "utils.dict_ops.PerSampleOp",
            read_key="vae_latents_reconst_bhwc",
            write_key="vae_latents_reconst",
            per_sample_op=_op("channels_last_to_first"),
        ),
    }
    wrapper = m + "utils.wrappers.SequentialModuleDictWrapper"
    return {
        "vae": _t(
            "flextok.vae_wrapper.StableDiffusionVAE",
            images_read_key="rgb",
            vae_latents_read_key="vae_latents_reconst",
            vae_latents_write_key="vae_latents",
            images_reconst_write_key="rgb_reconst",
            vae_kl_loss_write_key="kl_loss",
            latent_channels=latent,
            scaling_factor=scaling_factor,
            hf_hub_path=vae_path,
            sample_posterior=False,
            dtype_override="fp32",
        ),
        "encoder": _t(wrapper, module_dict=encoder),
        "decoder": _t(wrapper, module_dict=decoder),
        "regularizer": _t(
            "flextok.regularizers.quantize_fsq.FSQ",
            latents_read_key="enc_registers",
            quants_write_key="quants",
            tokens_write_key="tokens",
            levels=LEVELS,
        ),
        "flow_matching_noise_module": _t(
            "flextok.flow_matching.noise_modules.MinRFNoiseModule",
            clean_images_read_key="vae_latents",
            noised_images_write_key="vae_latents_noised",
            timesteps_write_key="timesteps",
            sigmas_write_key="sigmas",
        ),
        "pipeline": _t(
            "flextok.flow_matching.pipelines.MinRFPipeline",
            _partial_=True,
            target_sizes_read_key="target_sizes",
            latents_read_key="quants",
            timesteps_read_key="timesteps",
            noised_images_read_key="vae_latents_noised",
            reconst_write_key="vae_latents_reconst",
            out_channels=latent,
        ),
    }


def tiny_vae_config(*, latent: int = 4, channels: tuple[int, ...] = (16, 32, 32), groups: int = 8) -> dict[str, Any]:
    """A diffusers AutoencoderKL config.json (FlexTok's VAE_BASE_CFG, shrunk)."""
    return {
        "_class_name": "AutoencoderKL",
        "_diffusers_version": "0.18.0.dev0",
        "act_fn": "silu",
        "block_out_channels": list(channels),
        "down_block_types": ["DownEncoderBlock2D"] * len(channels),
        "up_block_types": ["UpDecoderBlock2D"] * len(channels),
        "in_channels": 3,
        "out_channels": 3,
        "latent_channels": latent,
        "layers_per_block": 1,
        "norm_num_groups": groups,
        "sample_size": 32,
        "scaling_factor": 0.8,
    }


def write_tiny_checkpoint(folder: Path, *, seed: int = 0, **sizes: Any) -> Path:
    """config.json + model.safetensors (+ vae/config.json + vae/diffusion_pytorch_model.safetensors), random weights
    (normal, std 0.2: large enough that every path, adaLN gates and zero-initialised heads included, is exercised)."""
    import torch
    from safetensors.torch import save_file

    from workers.media.image.flextok.build import build_flextok
    from workers.media.image.flextok.loader import check_vae_config

    folder.mkdir(parents=True, exist_ok=True)
    vae_dir = folder / "vae"
    vae_dir.mkdir(exist_ok=True)
    vae_cfg = tiny_vae_config(latent=sizes.get("latent", 4))
    (vae_dir / "config.json").write_text(json.dumps(vae_cfg, indent=1))
    config = tiny_config(vae_path=str(vae_dir.resolve()), **sizes)
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    model = build_flextok(config, vae_architecture=check_vae_config(vae_cfg, config["vae"]))
    generator = torch.Generator().manual_seed(seed)
    # Every tensor random, the sin-cos tables included: both implementations must take them from the file.
    state = {
        key: (torch.randn(t.shape, generator=generator) * 0.2).contiguous() for key, t in model.state_dict().items()
    }
    save_file(state, str(folder / "model.safetensors"))
    save_file(
        {k.removeprefix("vae.vae."): v for k, v in state.items() if k.startswith("vae.vae.")},
        str(vae_dir / "diffusion_pytorch_model.safetensors"),
    )
    return folder
