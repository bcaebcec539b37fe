"""Framework-free text tokenizer engine: one adapter protocol over tiktoken, Hugging Face ``tokenizers``,
SentencePiece, mistral-common and built-in byte/character levels, with exact character offsets.

Never imports Django, torch or transformers (the web process uses it in-process).
"""

from workers.text_tokenizers.adapters import TextTokenizer
from workers.text_tokenizers.catalog import builtin_specs, get_spec, is_builtin, load_tokenizer
from workers.text_tokenizers.encoding import KIND_NAMES, Encoding
from workers.text_tokenizers.errors import AssetMissingError, TokenizerError
from workers.text_tokenizers.spec import TokenizerSpec
from workers.text_tokenizers.textindex import TextIndex

__all__ = [
    "KIND_NAMES",
    "AssetMissingError",
    "Encoding",
    "TextIndex",
    "TextTokenizer",
    "TokenizerError",
    "TokenizerSpec",
    "builtin_specs",
    "get_spec",
    "is_builtin",
    "load_tokenizer",
]
