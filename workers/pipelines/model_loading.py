"""What model pipelines share: the loaded-model protocol, the default loader, and a no-op progress report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from workers.decoding.errors import DecodingInputError


class Loaded(Protocol):
    """What a pipeline needs from ``workers.models.registry.LoadedModel``."""

    @property
    def model(self) -> Any: ...

    @property
    def tokenizer(self) -> Any: ...

    @property
    def spec(self) -> Any: ...


Loader = Callable[[str], Loaded]


def noop_report(progress: float, message: str = "", partial: Any = None) -> None:
    return None


def default_loader(ref: str) -> Loaded:
    """Load through the worker's registry (once per process); unknown or missing models are user errors."""
    from workers.models.catalog import ModelNotFoundError, ModelUnavailableError
    from workers.models.registry import get_model

    try:
        return get_model(ref)
    except (ModelNotFoundError, ModelUnavailableError) as exc:
        raise DecodingInputError(f"Model {ref!r} cannot be used: {exc}") from exc
