"""Token frequencies of a reference corpus for one tokenizer (DC-PDD's f), stored as npz without pickle."""

from __future__ import annotations

import contextlib
import hashlib
import json
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.detection.errors import DetectionInputError

_FORMAT = 1


_fingerprints: weakref.WeakKeyDictionary[Any, tuple[int, str]] = weakref.WeakKeyDictionary()


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """sha256 of the tokenizer's vocabulary (token -> id, added tokens included): two tokenizers with the same
    fingerprint give the same ids to the same tokens. Cached per tokenizer object and size (hashing Gemma's 262k
    entries takes seconds; a dataset job asks once per chunk)."""
    size = len(tokenizer)
    try:
        cached = _fingerprints.get(tokenizer)
    except TypeError:  # not weak-referenceable
        cached = None
    if cached is not None and cached[0] == size:
        return cached[1]
    vocab = tokenizer.get_vocab()
    payload = json.dumps(sorted(vocab.items(), key=lambda item: item[1]), ensure_ascii=False).encode("utf-8")
    digest = hashlib.sha256(payload).hexdigest()
    with contextlib.suppress(TypeError):  # not weak-referenceable: computed again next time
        _fingerprints[tokenizer] = (size, digest)
    return digest


@dataclass
class FrequencyTable:
    counts: np.ndarray
    """int64 [V]: how often each token id occurs in the corpus."""
    tokenizer_hash: str
    tokenizer_name: str
    corpus_name: str
    corpus_sha256: str
    max_tokens_per_text: int | None = None

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def vocab_size(self) -> int:
        return int(self.counts.shape[0])

    def smoothed(self) -> np.ndarray:
        """Laplace-smoothed frequencies f(v) = (count(v) + 1) / (N + |V|) (DC-PDD, eq. for f)."""
        return (self.counts.astype(np.float64) + 1.0) / (self.total + self.vocab_size)

    @classmethod
    def build(
        cls,
        tokenizer: Any,
        texts: Iterable[str],
        *,
        corpus_name: str,
        tokenizer_name: str = "",
        max_tokens_per_text: int | None = None,
        report: Callable[[int], None] | None = None,
    ) -> FrequencyTable:
        """Count the token ids of every text (tokenized as the scorer tokenizes them, special tokens included;
        the first ``max_tokens_per_text`` only when given, as DC-PDD's 1024). ``report(n_texts_done)`` every 100."""
        size = len(tokenizer)
        counts = np.zeros(size, dtype=np.int64)
        digest = hashlib.sha256()
        for done, text in enumerate(texts, start=1):
            digest.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
            ids = tokenizer(text, add_special_tokens=True)["input_ids"]
            if max_tokens_per_text is not None:
                ids = ids[:max_tokens_per_text]
            if ids:
                counts += np.bincount(np.asarray(ids, dtype=np.int64), minlength=size)[:size]
            if report is not None and done % 100 == 0:
                report(done)
        return cls(
            counts=counts,
            tokenizer_hash=tokenizer_fingerprint(tokenizer),
            tokenizer_name=tokenizer_name or str(getattr(tokenizer, "name_or_path", "")),
            corpus_name=corpus_name,
            corpus_sha256=digest.hexdigest(),
            max_tokens_per_text=max_tokens_per_text,
        )

    def save(self, path: str | Path) -> None:
        meta = {
            "format": _FORMAT,
            "tokenizer_hash": self.tokenizer_hash,
            "tokenizer_name": self.tokenizer_name,
            "corpus_name": self.corpus_name,
            "corpus_sha256": self.corpus_sha256,
            "max_tokens_per_text": self.max_tokens_per_text,
        }
        with open(path, "wb") as handle:
            np.savez_compressed(handle, counts=self.counts, meta=np.array(json.dumps(meta)))

    @classmethod
    def load(cls, path: str | Path) -> FrequencyTable:
        try:
            with np.load(path, allow_pickle=False) as data:
                counts = np.asarray(data["counts"])
                meta = json.loads(str(data["meta"]))
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise DetectionInputError(f"not a frequency table file: {exc}") from exc
        if meta.get("format") != _FORMAT or counts.ndim != 1 or counts.dtype.kind not in "iu" or np.any(counts < 0):
            raise DetectionInputError("not a frequency table file (wrong format, shape or counts)")
        return cls(
            counts=counts.astype(np.int64),
            tokenizer_hash=str(meta["tokenizer_hash"]),
            tokenizer_name=str(meta.get("tokenizer_name", "")),
            corpus_name=str(meta.get("corpus_name", "")),
            corpus_sha256=str(meta.get("corpus_sha256", "")),
            max_tokens_per_text=meta.get("max_tokens_per_text"),
        )

    def check_tokenizer(self, tokenizer_hash: str) -> None:
        if tokenizer_hash != self.tokenizer_hash:
            raise DetectionInputError(
                f"the frequency table was built for another tokenizer ({self.tokenizer_name or self.tokenizer_hash[:12]})"
                "; build one for this model's tokenizer"
            )
