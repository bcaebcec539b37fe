"""FrequencyTable: counts per tokenizer, npz storage without pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.workers.detection.bigram import bigram_tokenizer
from workers.detection import DetectionInputError, FrequencyTable, tokenizer_fingerprint


def test_build_counts_every_token_and_save_load_round_trips(tmp_path: Path) -> None:
    """Catches lost counts, a truncation limit that is ignored, or metadata lost on save/load."""
    tokenizer = bigram_tokenizer()
    table = FrequencyTable.build(tokenizer, ["a b b", "c a b d"], corpus_name="toy", max_tokens_per_text=4)
    # <bos> a b b | <bos> c a b (d cut at 4 tokens)
    assert table.counts.tolist() == [2, 3, 1, 0, 2, 0]
    assert table.total == 8
    np.testing.assert_allclose(table.smoothed(), (np.array([2, 3, 1, 0, 2, 0]) + 1) / (8 + 6))
    table.save(tmp_path / "t.npz")
    loaded = FrequencyTable.load(tmp_path / "t.npz")
    assert loaded.counts.tolist() == table.counts.tolist()
    assert loaded.tokenizer_hash == tokenizer_fingerprint(tokenizer)
    assert (loaded.corpus_name, loaded.corpus_sha256, loaded.max_tokens_per_text) == ("toy", table.corpus_sha256, 4)


def test_load_refuses_pickles_and_foreign_files(tmp_path: Path) -> None:
    """Catches np.load with pickles allowed (an uploaded table could run code) and garbage taken as a table."""
    evil = tmp_path / "evil.npz"
    np.savez(evil, counts=np.array([object()], dtype=object), meta=np.array("{}"))
    with pytest.raises(DetectionInputError, match="not a frequency table"):
        FrequencyTable.load(evil)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(DetectionInputError, match="not a frequency table"):
        FrequencyTable.load(garbage)
    negative = tmp_path / "negative.npz"
    np.savez(negative, counts=np.array([-1, 2]), meta=np.array('{"format": 1, "tokenizer_hash": "x"}'))
    with pytest.raises(DetectionInputError, match="not a frequency table"):
        FrequencyTable.load(negative)
