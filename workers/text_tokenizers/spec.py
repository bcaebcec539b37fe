"""What the catalogue says about a tokenizer (shown in the UI before anything is loaded)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class TokenizerSpec:
    """Description of one tokenizer. ``available`` is False when its files are missing on this machine."""

    id: str
    name: str
    family: str
    algorithm: str
    library: str
    vocab_size: int | None
    special_tokens: tuple[str, ...] = ()
    source: str = ""
    licence: str = ""
    description: str = ""
    available: bool = True
    builtin: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The catalogue entry of ``GET /api/v1/tokenizers/`` (docs/api.md)."""
        data = asdict(self)
        data["special_tokens"] = list(self.special_tokens)
        data.pop("extra")
        return data

    def summary(self) -> dict[str, Any]:
        """The short form embedded in each tokenize result."""
        return {
            "id": self.id,
            "name": self.name,
            "family": self.family,
            "algorithm": self.algorithm,
            "vocab_size": self.vocab_size,
        }

    def with_(self, **changes: Any) -> TokenizerSpec:
        return replace(self, **changes)
