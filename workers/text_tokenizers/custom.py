"""User-supplied tokenizers: an uploaded ``tokenizer.json``, SentencePiece ``.model`` or ``.tiktoken`` file, or an
``hf:`` reference (a local folder, or a hub id where the machine has network access).

Every failure becomes a ``TokenizerError`` whose message tells the user what is wrong with *their* file, because
upload validation shows it verbatim.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path
from typing import Any

from workers.text_tokenizers.adapters import HFTokenizer, SentencePieceTokenizer, TextTokenizer, TiktokenTokenizer
from workers.text_tokenizers.catalog import cached, loaded_from
from workers.text_tokenizers.errors import TokenizerError
from workers.text_tokenizers.sandbox import SandboxCrash, SandboxedTokenizer, SandboxTimeout, Source
from workers.text_tokenizers.spec import TokenizerSpec
from workers.text_tokenizers.validation import (
    PROBE_SECONDS,
    check_token_id,
    check_vocab_size,
    parse_tokenizer_json,
    probe_texts,
)

KINDS = ("tokenizer_json", "sentencepiece", "tiktoken", "hf")
MAX_UPLOAD_BYTES = 64 * 1024 * 1024

# .tiktoken files hold ranks only; the pre-tokenization regex must come from elsewhere (cl100k's by default).
TIKTOKEN_PATTERNS = {
    "r50k_base": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "o200k_base": "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
}
DEFAULT_TIKTOKEN_PATTERN = "cl100k_base"
_TIKTOKEN_LINE = re.compile(rb"^([A-Za-z0-9+/=]+) (\d+)$")


def detect_kind(filename: str, head: bytes) -> str:
    """The kind of an uploaded file from its name, or failing that its first bytes."""
    lower = filename.lower()
    if lower.endswith(".json"):
        return "tokenizer_json"
    if lower.endswith(".model"):
        return "sentencepiece"
    if lower.endswith(".tiktoken"):
        return "tiktoken"
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        return "tokenizer_json"
    first_line = stripped.split(b"\n", 1)[0].rstrip(b"\r")
    if _TIKTOKEN_LINE.match(first_line):
        return "tiktoken"
    if head[:1] == b"\n":  # SentencePiece ModelProto: field 1 (pieces), length-delimited
        return "sentencepiece"
    raise TokenizerError(
        f"{filename!r} is not a tokenizer file we recognise. Upload a Hugging Face tokenizer.json, a SentencePiece "
        ".model file or a .tiktoken rank file."
    )


def _custom_spec(tokenizer_id: str, name: str, **fields: Any) -> TokenizerSpec:
    return TokenizerSpec(id=tokenizer_id, name=name, builtin=False, licence="as stated by its uploader", **fields)


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise TokenizerError(f"The tokenizer file {path.name!r} is missing on the server; upload it again.")
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        raise TokenizerError(
            f"{path.name!r} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; that is not a tokenizer file."
        )
    if path.stat().st_size == 0:
        raise TokenizerError(f"{path.name!r} is empty.")


# ---------------------------------------------------------------------------- per kind


def load_tokenizer_json(tokenizer_id: str, path: Path, name: str) -> HFTokenizer:
    from tokenizers import Tokenizer

    _check_file(path)
    raw = path.read_bytes()
    config = parse_tokenizer_json(raw, path.name)  # depth, vocabulary, ids, regexes, expansion: before the library
    try:
        tokenizer = Tokenizer.from_str(raw.decode("utf-8"))
    except Exception as exc:
        raise TokenizerError(f"{path.name!r} could not be read by the tokenizers library: {exc}.") from None
    model_type = str(config["model"].get("type") or type(tokenizer.model).__name__)
    algorithm = {
        "BPE": "BPE",
        "WordPiece": "WordPiece",
        "Unigram": "Unigram (SentencePiece-style)",
        "WordLevel": "Word-level",
    }.get(model_type, model_type)
    spec = _custom_spec(
        tokenizer_id,
        name,
        family="Custom",
        algorithm=algorithm,
        library="tokenizers",
        vocab_size=int(tokenizer.get_vocab_size(with_added_tokens=True)),
        special_tokens=tuple(t.content for t in tokenizer.get_added_tokens_decoder().values() if t.special)[:50],
        source=f"uploaded file {path.name}",
    )
    adapter = loaded_from(HFTokenizer(spec, tokenizer), path)
    if adapter.style == "bytelevel":
        adapter.spec = spec.with_(algorithm=f"{algorithm} (byte-level)")
    return adapter


def load_sentencepiece(tokenizer_id: str, path: Path, name: str) -> SentencePieceTokenizer:
    import sentencepiece

    _check_file(path)
    processor = sentencepiece.SentencePieceProcessor()
    try:
        processor.LoadFromSerializedProto(path.read_bytes())
    except Exception as exc:
        raise TokenizerError(
            f"{path.name!r} is not a SentencePiece model ({exc}). Upload the tokenizer.model file itself."
        ) from None
    size = int(processor.get_piece_size())
    if size == 0:
        raise TokenizerError(f"{path.name!r} is a SentencePiece model with an empty vocabulary.")
    check_vocab_size(size, path.name)
    specials = tuple(processor.id_to_piece(i) for i in range(min(size, 2000)) if processor.is_control(i))
    has_bytes = any(processor.is_byte(i) for i in range(min(size, 1000)))
    spec = _custom_spec(
        tokenizer_id,
        name,
        family="Custom",
        algorithm="SentencePiece" + (" with byte fallback" if has_bytes else ""),
        library="sentencepiece",
        vocab_size=size,
        special_tokens=specials[:50],
        source=f"uploaded file {path.name}",
    )
    return loaded_from(SentencePieceTokenizer(spec, processor), path)


def parse_tiktoken_ranks(data: bytes, filename: str = "file") -> dict[bytes, int]:
    """Ranks of a ``.tiktoken`` file (base64 token, space, rank per line), validated with line-precise errors."""
    ranks: dict[bytes, int] = {}
    seen: set[int] = set()
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        match = _TIKTOKEN_LINE.match(line.strip())
        if not match:
            raise TokenizerError(
                f"{filename!r} line {number} is not `<base64 token> <rank>`; this is not a .tiktoken file."
            )
        try:
            token = base64.b64decode(match.group(1), validate=True)
        except binascii.Error:
            raise TokenizerError(f"{filename!r} line {number}: the token is not valid base64.") from None
        rank = check_token_id(int(match.group(2)), f"line {number}", filename)
        if token in ranks or rank in seen:
            raise TokenizerError(f"{filename!r} line {number}: duplicate token or rank {rank}.")
        ranks[token] = rank
        seen.add(rank)
    if not ranks:
        raise TokenizerError(f"{filename!r} has no tokens.")
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise TokenizerError(
            f"{filename!r} lacks single-byte tokens for {len(missing)} of the 256 byte values (e.g. 0x{missing[0]:02X}), "
            "so byte-level BPE cannot encode arbitrary text with it."
        )
    return ranks


def load_tiktoken_file(tokenizer_id: str, path: Path, name: str, pattern: str | None = None) -> TiktokenTokenizer:
    import tiktoken

    _check_file(path)
    ranks = parse_tiktoken_ranks(path.read_bytes(), path.name)
    preset = pattern or DEFAULT_TIKTOKEN_PATTERN
    pat_str = TIKTOKEN_PATTERNS.get(preset, preset)
    try:
        encoding = tiktoken.Encoding(
            name=f"custom-{tokenizer_id}", pat_str=pat_str, mergeable_ranks=ranks, special_tokens={}
        )
        encoding.encode_ordinary("Test 123 ✓")
    except Exception as exc:
        raise TokenizerError(
            f"{path.name!r} could not be used with the pre-tokenization pattern {preset!r}: {exc}."
        ) from None
    described = f"{preset}'s regex" if preset in TIKTOKEN_PATTERNS else "a custom regex"
    spec = _custom_spec(
        tokenizer_id,
        name,
        family="Custom",
        algorithm="BPE (byte-level), tiktoken ranks",
        library="tiktoken",
        vocab_size=int(encoding.n_vocab),
        source=f"uploaded file {path.name}",
        description=f".tiktoken files carry no pre-tokenization rule; {described} is assumed.",
    )
    return loaded_from(TiktokenTokenizer(spec, encoding), path)


def _load_folder(tokenizer_id: str, folder: Path, name: str) -> TextTokenizer:
    if (folder / "tokenizer.json").is_file():
        return load_tokenizer_json(tokenizer_id, folder / "tokenizer.json", name)
    for candidate in ("tokenizer.model", "spiece.model", "sentencepiece.bpe.model"):
        if (folder / candidate).is_file():
            return load_sentencepiece(tokenizer_id, folder / candidate, name)
    tiktoken_files = sorted(folder.glob("*.tiktoken"))
    if tiktoken_files:
        return load_tiktoken_file(tokenizer_id, tiktoken_files[0], name)
    raise TokenizerError(
        f"The folder {str(folder)!r} has no tokenizer.json, tokenizer.model or .tiktoken file. Tokenizers that exist "
        "only as Python code or vocab.txt need to be saved with a fast tokenizer first (`save_pretrained`)."
    )


def _download(repo_id: str) -> Path:
    """Fetch tokenizer.json (or tokenizer.model) of a hub repository; needs network access to the hub."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            GatedRepoError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
        )
    except ImportError:
        raise TokenizerError(
            "Loading from the Hugging Face Hub needs the huggingface_hub package on the server."
        ) from None
    from huggingface_hub import try_to_load_from_cache

    from workers.models.hub import hub_unavailable_reason

    unreachable = TokenizerError(
        f"Could not download {repo_id!r} from the Hugging Face Hub: this server has no network access to the hub "
        "(or it is switched off). Download the repository's tokenizer.json yourself and upload the file instead."
    )
    for filename in ("tokenizer.json", "tokenizer.model"):  # already downloaded: no network call at all
        try:
            cached_file = try_to_load_from_cache(repo_id, filename)
        except ValueError:  # huggingface_hub's own id check (e.g. "a--b", "a..b")
            raise TokenizerError(f"{repo_id!r} is not a valid Hugging Face hub id (owner/name).") from None
        if isinstance(cached_file, str):
            return Path(cached_file)
    if hub_unavailable_reason() is not None:  # fail in about a second, not after the client's retries (23 s)
        raise unreachable
    for filename in ("tokenizer.json", "tokenizer.model"):
        try:
            return Path(hf_hub_download(repo_id, filename))
        except LocalEntryNotFoundError:  # offline, or the hub could not be reached (a subclass of the next one)
            raise unreachable from None
        except EntryNotFoundError:
            continue
        except GatedRepoError:
            raise TokenizerError(
                f"{repo_id!r} is gated on the Hugging Face Hub; accept its licence and upload its tokenizer.json instead."
            ) from None
        except RepositoryNotFoundError:
            raise TokenizerError(f"There is no Hugging Face repository {repo_id!r} (or it is private).") from None
        except Exception:
            raise unreachable from None
    raise TokenizerError(
        f"{repo_id!r} has neither tokenizer.json nor tokenizer.model; upload its tokenizer file instead."
    )


def load_hf(reference: str) -> TextTokenizer:
    """``hf:<local folder>`` or ``hf:<owner/name>`` (hub; needs network where it runs), run in a sandbox like an upload
    (a hub repository's tokenizer.json is no more trustworthy than an uploaded one). Cached per process."""
    target = reference.removeprefix("hf:").strip()
    if not target:
        raise TokenizerError("An hf: reference needs a hub id (owner/name) or a folder path after the colon.")

    def build() -> TextTokenizer:
        folder = Path(target)
        if folder.is_absolute():  # a folder the caller resolved and allowed; anything else is a hub id, never a path
            return _sandboxed(reference, folder, "hf", folder.name)
        if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", target):
            raise TokenizerError(
                f"{target!r} is neither a folder on the server nor a Hugging Face hub id (owner/name)."
            )
        path = _download(target)
        return _sandboxed(
            reference, path, "tokenizer_json" if path.name == "tokenizer.json" else "sentencepiece", target
        )

    return cached(reference, build)


def _sandboxed(tokenizer_id: str, path: Path, kind: str, name: str, pattern: str | None = None) -> TextTokenizer:
    return SandboxedTokenizer(Source(tokenizer_id, str(path), kind, name, pattern))


def open_custom(tokenizer_id: str, path: str, kind: str, name: str, pattern: str | None = None) -> TextTokenizer:
    """Build a user-supplied tokenizer in this process. Only the sandbox child calls this (``sandbox_child.py``)."""
    file = Path(path)
    if kind == "tokenizer_json":
        return load_tokenizer_json(tokenizer_id, file, name)
    if kind == "sentencepiece":
        return load_sentencepiece(tokenizer_id, file, name)
    if kind == "tiktoken":
        return load_tiktoken_file(tokenizer_id, file, name, pattern)
    if kind == "hf" and file.is_absolute():
        return _load_folder(tokenizer_id, file, name)
    raise TokenizerError(f"Unknown tokenizer kind {kind!r}; expected one of {', '.join(KINDS)}.")


def probe_texts_for(kind: str, path: str) -> list[tuple[str, str]]:
    """Texts the upload check runs through the tokenizer under a time limit (``validation.probe_texts``)."""
    config = None
    if kind == "tokenizer_json":
        config = parse_tokenizer_json(Path(path).read_bytes(), Path(path).name)
    return probe_texts(config)


def load_custom(
    tokenizer_id: str,
    path: str | os.PathLike[str],
    kind: str | None = None,
    name: str | None = None,
    options: dict[str, Any] | None = None,
) -> TextTokenizer:
    """Load a team-uploaded tokenizer into a sandbox process; cached per process by id, path, size and mtime."""
    file = Path(path)
    if kind is None:
        _check_file(file)
        with file.open("rb") as handle:
            kind = detect_kind(file.name, handle.read(512))
    if kind not in KINDS:
        raise TokenizerError(f"Unknown tokenizer kind {kind!r}; expected one of {', '.join(KINDS)}.")
    if kind == "hf" and not file.is_absolute():  # a relative reference is a hub id, never a path
        return load_hf(f"hf:{path}")
    label = name or file.name
    pattern = (options or {}).get("pattern")
    stamp = f"{file.stat().st_size}:{file.stat().st_mtime_ns}" if file.exists() else "missing"
    if kind != "hf":
        _check_file(file)
    return cached(
        f"{tokenizer_id}|{file}|{kind}|{stamp}|{pattern}",
        lambda: _sandboxed(tokenizer_id, file, str(kind), label, pattern),
    )


SAMPLE_TEXT = "Hello, world! 123 héllo 中文 🙂"


def validate_upload(
    path: str | os.PathLike[str], filename: str | None = None, kind: str | None = None, name: str | None = None
) -> TokenizerSpec:
    """Check an uploaded file: returns its spec (vocab size, specials) or raises TokenizerError saying what to fix.

    Everything runs in a one-off sandbox process (``sandbox.py``): the bounds of ``validation.py`` while loading, then
    a sample text, then probe texts that make badly backtracking patterns slow, each under ``PROBE_SECONDS``.
    """
    file = Path(path)
    _check_file(file)
    if kind is None:
        with file.open("rb") as handle:
            kind = detect_kind(filename or file.name, handle.read(512))
    if kind not in ("tokenizer_json", "sentencepiece", "tiktoken"):
        raise TokenizerError(f"Uploads must be a tokenizer.json, SentencePiece .model or .tiktoken file, not {kind!r}.")
    label = name or filename or file.name
    source = Source("custom:validation", str(file), kind, label)
    with SandboxedTokenizer(source, pooled=False, probes=True) as tokenizer:
        for description, text in [("the sample text " + repr(SAMPLE_TEXT), SAMPLE_TEXT), *tokenizer.probes]:
            try:
                tokenizer.encode(text, time_limit_s=PROBE_SECONDS)
            except SandboxTimeout:
                raise TokenizerError(
                    f"{label!r} is refused: it took more than {PROBE_SECONDS:g} s to tokenize {description} "
                    "(sane tokenizers take about a millisecond). A pre-tokenizer or normalizer pattern backtracks "
                    "too much; make it simpler (possessive quantifiers, no nested repeats) and upload it again."
                ) from None
            except SandboxCrash as exc:
                raise TokenizerError(f"{label!r} is refused: it crashes on {description}. {exc.message}") from None
        return tokenizer.spec.with_(id="", source=f"uploaded file {filename or file.name}")
