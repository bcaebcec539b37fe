"""The cross-modal budget: how many tokens one second of audio, one image and one page of text cost in each
tokenizer, as rows of one chart.

Computed in the web process without torch and without loading a tokenizer: media figures come from each tokenizer's
declared rates and sizes (frame rate x codebooks per frame; tokens per image at its working size); the page's token
counts were computed once with every bundled text tokenizer and are shipped with the page
(``data/page_counts.json``: ``python -m apps.media.budget`` writes it; a test checks it against fresh counts).
Loading all 17 text tokenizers in a web process took 88 s and 1 GB on the shared 2-core machine.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
PAGE_PATH = DATA / "page.txt"
COUNTS_PATH = DATA / "page_counts.json"


@functools.cache
def page_text() -> str:
    return PAGE_PATH.read_text(encoding="utf-8")


def page_sha256() -> str:
    return hashlib.sha256(page_text().encode("utf-8")).hexdigest()


def count_page() -> dict[str, int]:
    """The page's token count in every available bundled text tokenizer (loads each one: slow, for the file)."""
    from workers.text_tokenizers.catalog import builtin_specs, load_tokenizer

    return {
        spec.id: int(load_tokenizer(spec.id).encode_ids(page_text()).size) for spec in builtin_specs() if spec.available
    }


@functools.cache
def _shipped_counts() -> dict[str, int]:
    try:
        data = json.loads(COUNTS_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return dict(data.get("counts") or {}) if data.get("page_sha256") == page_sha256() else {}


def text_rows() -> list[dict[str, Any]]:
    """One row per available bundled text tokenizer, from the shipped counts (no tokenizer is loaded here)."""
    from workers.text_tokenizers.catalog import builtin_specs

    counts = _shipped_counts()
    rows = []
    for spec in builtin_specs():
        if not spec.available:
            continue
        tokens = counts.get(spec.id)
        note = "" if tokens is not None else "not counted yet: python -m apps.media.budget"
        rows.append(
            {"modality": "text", "id": spec.id, "label": spec.name, "unit": "page", "tokens": tokens, "note": note}
        )
    return rows


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
        "rows": [media_row(item) for item in tokenizers] + text_rows(),
    }


if __name__ == "__main__":
    COUNTS_PATH.write_text(json.dumps({"page_sha256": page_sha256(), "counts": count_page()}, indent=1) + "\n")
    print(f"wrote {COUNTS_PATH}", file=sys.stderr)
