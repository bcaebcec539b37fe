"""The cross-modal budget: how many tokens one second of audio, one image and one page of text cost in each
tokenizer, as rows of one chart.

Computed in the web process without torch: media figures come from each tokenizer's declared rates and sizes
(frame rate x codebooks per frame; tokens per image at its working size), the text figure from counting the shipped
page with each bundled text tokenizer (loaded once per process, as the tokenize API does).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

PAGE_PATH = Path(__file__).resolve().parent / "data" / "page.txt"


@functools.cache
def page_text() -> str:
    return PAGE_PATH.read_text(encoding="utf-8")


@functools.cache
def text_rows() -> tuple[dict[str, Any], ...]:
    """One row per available bundled text tokenizer: the page's token count (cached: the page never changes)."""
    from workers.text_tokenizers.catalog import builtin_specs, load_tokenizer
    from workers.text_tokenizers.errors import TokenizerError

    text = page_text()
    rows = []
    for spec in builtin_specs():
        if not spec.available:
            continue
        try:
            tokens: int | None = int(load_tokenizer(spec.id).encode_ids(text).size)
            note = ""
        except TokenizerError as exc:
            tokens, note = None, str(exc)
        rows.append(
            {"modality": "text", "id": spec.id, "label": spec.name, "unit": "page", "tokens": tokens, "note": note}
        )
    return tuple(rows)


def media_row(described: dict[str, Any]) -> dict[str, Any]:
    """A media tokenizer's row from its catalogue description (``apps.media.selectors.entry_describe``)."""
    sizes = described.get("codebook_sizes") or []
    row: dict[str, Any] = {"id": described["id"], "label": described.get("label"), "modality": described["modality"]}
    if described["modality"] == "audio":
        rate = described.get("frame_rate")
        per_frame = len(sizes) if described.get("layout") == "frames" else 1
        row.update(
            unit="second",
            tokens=float(rate) * per_frame if rate else None,
            note="" if rate else "variable rate: as many units as the speech has (no fixed frame rate)",
        )
    else:
        tokens = described.get("max_tokens")
        size = described.get("image_size")
        row.update(
            unit="image",
            tokens=int(tokens) if tokens else None,
            note=(f"at {size}x{size}" if size else "")
            if tokens
            else "depends on the image's size (a grid over its patches)",
        )
    status = described.get("status") or {}
    row["installed"] = bool(status.get("installed"))
    return row


def budget(tokenizers: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"page": {chars, sha256}, "rows": [{modality, id, label, unit, tokens, note, installed?}]}``."""
    text = page_text()
    return {
        "page": {"chars": len(text), "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()},
        "rows": [media_row(item) for item in tokenizers] + [dict(row) for row in text_rows()],
    }
