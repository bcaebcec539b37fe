"""Builds our FlexTok modules from an (already checked) config tree: each ``_target_`` is looked up in the
allow-list of config.py and mapped to our class; nothing named in the file is imported."""

from __future__ import annotations

import functools
from typing import Any

from torch import nn

from workers.media.image.flextok import layers, modules, vae
from workers.media.image.flextok.config import ALLOWED_REFERENCES, ALLOWED_TARGETS, HYDRA_GETTERS, FlexTokConfigError
from workers.media.image.flextok.model import FlexTok

OUR_CLASSES: dict[str, Any] = {
    "FlexTok": FlexTok,
    "StableDiffusionVAE": vae.StableDiffusionVAE,
    "FlexTransformer": layers.FlexTransformer,
    **{
        name: getattr(modules, name)
        for name in set(ALLOWED_TARGETS.values())
        if name not in {"FlexTok", "StableDiffusionVAE", "FlexTransformer"}
    },
}
OUR_REFERENCES: dict[str, Any] = {
    "channels_first_to_last": modules.channels_first_to_last,
    "channels_last_to_first": modules.channels_last_to_first,
    "SiLU": nn.SiLU,
    "GELU": nn.GELU,
}


def build(node: Any, where: str = "config", extra: dict[str, dict[str, Any]] | None = None) -> Any:
    """Instantiate a config subtree. ``extra`` adds keyword arguments by official target name (the VAE's
    architecture read from its own diffusers config)."""
    if isinstance(node, list):
        return [build(value, f"{where}[{i}]", extra) for i, value in enumerate(node)]
    if not isinstance(node, dict):
        if isinstance(node, str) and node in ALLOWED_REFERENCES:
            return OUR_REFERENCES[ALLOWED_REFERENCES[node]]
        return node
    target = node.get("_target_")
    kwargs = {key: build(value, f"{where}.{key}", extra) for key, value in node.items() if not key.startswith("_")}
    if target is None:
        return kwargs
    if target in HYDRA_GETTERS:
        return OUR_REFERENCES[ALLOWED_REFERENCES[node["path"]]]
    if target in ALLOWED_REFERENCES:
        return OUR_REFERENCES[ALLOWED_REFERENCES[target]]
    if target not in ALLOWED_TARGETS:
        raise FlexTokConfigError(f"{where}: class {target!r} is not allowed")
    factory = OUR_CLASSES[ALLOWED_TARGETS[target]]
    kwargs |= (extra or {}).get(target, {})
    if node.get("_partial_"):
        return functools.partial(factory, **kwargs)
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise FlexTokConfigError(f"{where} ({target.rsplit('.', 1)[-1]}): {exc}") from exc


def build_flextok(config: dict[str, Any], *, vae_architecture: dict[str, Any]) -> FlexTok:
    parts = {
        name: build(config[name], name, {"flextok.vae_wrapper.StableDiffusionVAE": vae_architecture})
        for name in (
            "vae",
            "encoder",
            "decoder",
            "regularizer",
            "flow_matching_noise_module",
            "pipeline",
        )
    }
    expected = {"vae": vae.StableDiffusionVAE, "encoder": modules.SequentialModuleDictWrapper}
    expected |= {"decoder": modules.SequentialModuleDictWrapper, "regularizer": modules.FSQ}
    for name, cls in expected.items():
        if not isinstance(parts[name], cls):
            raise FlexTokConfigError(f"config part {name!r} must build a {cls.__name__}")
    try:
        model = FlexTok(**parts)
    except (TypeError, AttributeError, KeyError) as exc:
        raise FlexTokConfigError(f"config parts do not fit together as a FlexTok model: {exc}") from exc
    return model.eval()
