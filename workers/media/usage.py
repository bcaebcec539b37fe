"""How a tokenizer uses its codebook, for any modality: entropy, perplexity, utilisation and the Zipf curve.

Definitions (over the codes of one input): ``p_i = count_i / n``; ``entropy_bits = -sum p_i log2 p_i``;
``perplexity = 2 ** entropy_bits`` (the number of equally likely codes with the same entropy);
``utilisation = used / codebook_size`` where ``used`` counts the distinct codes that occur; ``zipf`` is the
non-zero counts sorted in descending order (the rank-frequency curve), truncated to ``ZIPF_LIMIT`` ranks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ZIPF_LIMIT = 1024


def codebook_usage(codes: np.ndarray, codebook_size: int) -> dict[str, Any]:
    """Raises ValueError for codes that are not integers in ``[0, codebook_size)`` (a tokenizer bug, never input)."""
    if codebook_size < 1:
        raise ValueError(f"codebook_size must be positive, got {codebook_size}")
    flat = np.asarray(codes).ravel()
    if flat.size and not np.issubdtype(flat.dtype, np.integer):
        raise ValueError(f"codes must be integers, got {flat.dtype}")
    if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= codebook_size):
        raise ValueError(f"codes must lie in [0, {codebook_size}), got [{int(flat.min())}, {int(flat.max())}]")
    counts = np.bincount(flat.astype(np.int64), minlength=codebook_size)
    present = np.sort(counts[counts > 0])[::-1]
    n = int(flat.size)
    entropy = float(-(present / n * np.log2(present / n)).sum()) if n else 0.0
    entropy = max(entropy, 0.0)  # -0.0 for a single code
    return {
        "n_tokens": n,
        "codebook_size": int(codebook_size),
        "entropy_bits": entropy,
        "max_entropy_bits": float(np.log2(codebook_size)),
        "perplexity": float(2.0**entropy),
        "used": int(present.size),
        "utilisation": present.size / codebook_size,
        "zipf": [int(c) for c in present[:ZIPF_LIMIT]],
    }
