"""The frequency_table pipeline: count a corpus's tokens with a model's tokenizer (DC-PDD's reference frequencies).

Inputs: ``{"model": ref, "corpus": {"shipped": id} | {"upload": filename, "text": str}, "max_tokens_per_text",
"output_path"}``. The table is saved as npz without pickle at ``output_path`` (the team's folder, chosen by the app).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workers.detection import FrequencyTable
from workers.manifest import MODEL_LIBRARIES, build_manifest, file_sha256, model_identity, torch_runtime
from workers.pipelines.detection_common import DetectionJobError, Report, user_errors
from workers.pipelines.detection_corpora import shipped_corpus
from workers.pipelines.model_loading import Loader, default_loader, noop_report


def _corpus(corpus: dict[str, Any]) -> tuple[str, list[str], dict[str, Any]]:
    """(name, texts, its description for the result)."""
    if "shipped" in corpus:
        found = shipped_corpus(str(corpus["shipped"]))
        texts = list(found.texts())
        return found.id, texts, {**found.describe(), "kind": "shipped"}
    text = corpus.get("text")
    if not isinstance(text, str):
        raise DetectionJobError("The corpus must be a shipped corpus id or an uploaded text file.")
    texts = [line for line in text.splitlines() if line.strip()]
    name = str(corpus.get("upload") or "uploaded corpus")
    return name, texts, {"kind": "upload", "name": name, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def run(inputs: dict[str, Any], report: Report = noop_report, *, load: Loader | None = None) -> dict[str, Any]:
    load = load or default_loader
    model_ref = str(inputs["model"])
    output = Path(str(inputs["output_path"]))
    limit = inputs.get("max_tokens_per_text")
    report(0.0, f"Loading {model_ref}'s tokenizer")
    loaded = load(model_ref)
    name, texts, described = _corpus(dict(inputs["corpus"]))
    if not texts:
        raise DetectionJobError("The corpus has no text.")

    def counted(done: int) -> None:
        report(done / len(texts), f"counted {done:,} of {len(texts):,} texts")

    def stream() -> Iterator[str]:
        yield from texts

    with user_errors():
        table = FrequencyTable.build(
            loaded.tokenizer,
            stream(),
            corpus_name=name,
            tokenizer_name=str(getattr(loaded.spec, "id", model_ref)),
            max_tokens_per_text=int(limit) if limit else None,
            report=counted,
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".partial")
    table.save(partial)
    os.replace(partial, output)  # never a half-written table under the listed name
    report(1.0, "Done")
    identity = model_identity("tokenizer", model_ref, loaded)
    manifest = build_manifest(
        kind="frequency_table",
        parameters={"model": model_ref, "corpus": name, "max_tokens_per_text": limit},
        libraries=MODEL_LIBRARIES,
        runtime=torch_runtime(identity["device"]),
        models=[identity],
        input={"corpus": described.get("id") or name, "corpus_sha256": table.corpus_sha256, "texts": len(texts)},
        output={"sha256": file_sha256(output), "bytes": output.stat().st_size},
    )
    return {
        "model": {
            "ref": model_ref,
            "id": getattr(loaded.spec, "id", model_ref),
            "name": getattr(loaded.spec, "name", model_ref),
        },
        "corpus": {**described, "corpus_sha256": table.corpus_sha256},
        "texts": len(texts),
        "total_tokens": table.total,
        "vocab_size": table.vocab_size,
        "tokenizer_hash": table.tokenizer_hash,
        "nonzero_tokens": int((table.counts > 0).sum()),
        "manifest": manifest,
        "versions": manifest["libraries"],
    }
