"""A thin stateful wrapper over a Hugging Face causal LM and its ``DynamicCache``.

Why not ``generate``: speculative decoding needs to feed several tokens at once, read the logits of each, and roll
the cache back after a rejection; ``generate`` hides all three. The wrapper also counts and times forward calls,
which the trace reports.

Sliding-window layers (Gemma 3) keep only ``window − 1`` past states, so after the prefill the cache is switched to
"past recording": every state fed since the last :meth:`CausalLM.crop` is kept until the next crop, which is what
makes a rollback possible. Consequently a rollback can only remove tokens fed since the previous crop (that is
always true for speculative decoding, which crops after every verification).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from typing import Any

import torch
from transformers import DynamicCache


def _config_int(config: Any, *names: str) -> int | None:
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    for name in names:
        value = getattr(text_config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


class CausalLM:
    """One model plus one KV cache. ``tokens`` mirrors exactly what the cache holds, in order."""

    def __init__(self, model: Any, name: str | None = None) -> None:
        self.model = model.eval() if hasattr(model, "eval") else model
        config = getattr(model, "config", None)
        self.name = name or str(getattr(config, "name_or_path", "") or type(model).__name__)
        self.vocab_size: int | None = _config_int(config, "vocab_size") if config is not None else None
        self.max_positions: int | None = _config_int(config, "max_position_embeddings") if config is not None else None
        self.device = self._find_device(model)
        self.cache: DynamicCache | None = None
        self.tokens: list[int] = []
        self.forward_calls = 0
        self.forward_ms = 0.0
        self.last_forward_ms = 0.0
        self._sliding = False
        self._checkpoint = 0
        self._deferred: list[int] = []
        try:
            params = inspect.signature(model.forward).parameters
            self._accepts_logits_to_keep = "logits_to_keep" in params or any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
            )
        except (TypeError, ValueError, AttributeError):
            self._accepts_logits_to_keep = False

    @staticmethod
    def _find_device(model: Any) -> torch.device:
        device = getattr(model, "device", None)
        if isinstance(device, torch.device):
            return device
        try:
            return next(model.parameters()).device
        except (AttributeError, StopIteration, TypeError):
            return torch.device("cpu")

    @property
    def length(self) -> int:
        """Number of tokens held in the cache, counting a deferred prefill as held."""
        return len(self.tokens) + len(self._deferred)

    def reset(self) -> None:
        """Drop the cache (the counters are kept; use :meth:`reset_counters` for those)."""
        self.cache = None
        self.tokens = []
        self._deferred = []
        self._checkpoint = 0

    def defer_prefill(self, ids: Sequence[int]) -> None:
        """Start a fresh cache whose first ``ids`` are fed together with the next :meth:`forward` call.

        That call then returns the logits of its own tokens only. Speculative decoding uses it to verify the first
        draft inside the prefill's forward, as HF's assisted generation does, instead of paying a forward for it.
        Past recording is switched on before that forward so the draft tokens can still be rolled back.
        """
        self.reset()
        self._deferred = [int(t) for t in ids]

    def reset_counters(self) -> None:
        self.forward_calls = 0
        self.forward_ms = 0.0
        self.last_forward_ms = 0.0

    def _new_cache(self) -> DynamicCache:
        config = getattr(self.model, "config", None)
        try:
            return DynamicCache(config=config) if config is not None else DynamicCache()
        except Exception:  # configs that the cache cannot introspect: a plain full-attention cache works for them
            return DynamicCache()

    def _run(self, ids: Sequence[int], logits_to_keep: int, **extra: Any) -> torch.Tensor:
        if self.cache is None:
            self.cache = self._new_cache()
        input_ids = torch.tensor([list(ids)], dtype=torch.long, device=self.device)
        kwargs: dict[str, Any] = {"past_key_values": self.cache, "use_cache": True, **extra}
        if logits_to_keep and self._accepts_logits_to_keep:
            kwargs["logits_to_keep"] = logits_to_keep
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model(input_ids=input_ids, **kwargs)
            logits = out.logits if hasattr(out, "logits") else out[0]
            logits = logits[0].float()
            if logits_to_keep:
                logits = logits[-logits_to_keep:]
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elapsed = (time.perf_counter() - start) * 1000.0
        self.forward_calls += 1
        self.forward_ms += elapsed
        self.last_forward_ms = elapsed
        self.tokens.extend(int(t) for t in ids)
        return logits

    def prefill(self, ids: Sequence[int]) -> torch.Tensor:
        """Start a fresh cache with ``ids`` and return the logits after the last one, shape ``[V]``.

        Only the last position's logits are materialised (``logits_to_keep=1``): a 500-token prompt times Gemma's
        262k vocabulary would otherwise allocate half a gigabyte.
        """
        if not ids:
            raise ValueError("prefill needs at least one token")
        self.reset()
        logits = self._run(ids, logits_to_keep=1)[-1]
        self._enable_rollback()
        return logits

    def _enable_rollback(self) -> None:
        """Switch sliding-window layers to past recording. Done after the prefill, as HF does: recording during a
        long prefill would keep states that the window makes useless."""
        assert self.cache is not None
        self._sliding = any(getattr(layer, "is_sliding", False) for layer in self.cache.layers)
        if hasattr(self.cache, "activate_past_recording"):
            self.cache.activate_past_recording()
        self._checkpoint = self.length

    def forward(
        self,
        ids: Sequence[int],
        *,
        position_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Feed ``ids`` after the cached tokens and return their logits, shape ``[len(ids), V]`` (float32).

        ``position_ids`` / ``attention_mask`` pass straight to the model, for tree verification (a 4-D mask over the
        cached prefix plus the flattened tree). Without a cache this is a prefill that keeps every position's logits.
        """
        if not ids:
            raise ValueError("forward needs at least one token")
        if self._deferred:
            return self._forward_with_prefill(ids, position_ids=position_ids, attention_mask=attention_mask)
        fresh = self.cache is None
        extra: dict[str, Any] = {}
        if position_ids is not None:
            extra["position_ids"] = position_ids
        if attention_mask is not None:
            extra["attention_mask"] = attention_mask
        logits = self._run(ids, logits_to_keep=0, **extra)
        if fresh:
            self._enable_rollback()
        return logits

    def _forward_with_prefill(
        self, ids: Sequence[int], *, position_ids: torch.Tensor | None, attention_mask: torch.Tensor | None
    ) -> torch.Tensor:
        if position_ids is not None or attention_mask is not None:
            raise ValueError("a deferred prefill cannot be combined with tree positions or masks")
        deferred, self._deferred = self._deferred, []
        self.cache = self._new_cache()
        if hasattr(self.cache, "activate_past_recording"):
            self.cache.activate_past_recording()
        logits = self._run([*deferred, *ids], logits_to_keep=len(ids))
        self._sliding = any(getattr(layer, "is_sliding", False) for layer in self.cache.layers)
        self._checkpoint = len(deferred)  # the states recorded since then can be rolled back
        return logits

    def crop(self, length: int) -> int:
        """Roll the cache back to its first ``length`` tokens; returns how many were removed.

        Always call this after a forward whose states may be discarded, even with ``length == self.length``: for
        sliding-window layers it also trims the recorded past back to the window.
        """
        if length < 0 or length > self.length:
            raise ValueError(f"cannot crop a cache of {self.length} tokens to {length}")
        if self.cache is None:
            return 0
        if self._sliding and length < self._checkpoint:
            raise ValueError(
                f"cannot roll back below {self._checkpoint} tokens: sliding-window layers only keep the states fed "
                "since the previous crop"
            )
        removed = self.length - length
        with torch.inference_mode():
            self.cache.crop(-removed)
        del self.tokens[length:]
        self._checkpoint = length
        return removed

    def keep_positions(self, keep: Sequence[int]) -> int:
        """Keep only the cached positions in ``keep`` (ascending absolute indices), e.g. the accepted path of a
        verified token tree. Positions before ``min(keep)`` must all be kept. Full-attention caches only."""
        if self.cache is None or not keep:
            return self.crop(0) if self.cache is not None else 0
        keep = sorted(int(k) for k in keep)
        full = list(range(keep[0])) + keep
        if full == list(range(len(full))):
            return self.crop(len(full))
        if self._sliding:
            raise ValueError("non-contiguous cache selection is not supported for sliding-window models")
        removed = self.length - len(full)
        index = torch.tensor(full, dtype=torch.long, device=self.device)
        with torch.inference_mode():
            layers: list[Any] = list(self.cache.layers)
            for layer in layers:
                if getattr(layer, "keys", None) is None or layer.keys.numel() == 0:
                    continue
                layer.keys = layer.keys.index_select(-2, index)
                layer.values = layer.values.index_select(-2, index)
        self.tokens = [self.tokens[i] for i in full]
        self._checkpoint = self.length
        return removed
