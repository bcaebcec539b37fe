"""The detection pipelines on the bundled SmolLM2 with a few short texts: results, signs, manifests, exports, tables."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from workers.detection import FrequencyTable
from workers.models.catalog import resolve_model
from workers.models.registry import get_model
from workers.pipelines import detection_dataset, detection_frequency, detection_text
from workers.pipelines.detection_common import DetectionJobError
from workers.pipelines.model_loading import noop_report

MODEL = "smollm2-135m-instruct"
TEXTS = ["The quick brown fox jumps over the lazy dog.", "Paris is the capital and largest city of France."]


@pytest.fixture(scope="module")
def smollm2() -> Any:
    if not resolve_model(MODEL).available:
        pytest.fail(f"{MODEL} is not in the model store (python -m workers.model_store prepare)")
    return get_model(MODEL)


def plain_loss(loaded: Any, text: str) -> float:
    """Mean next-token NLL from a plain forward of one text (written out here, independent of workers.detection)."""
    import torch

    ids = loaded.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        logits = loaded.model(input_ids=ids).logits.float()
    logp = torch.log_softmax(logits[0, :-1], dim=-1).gather(1, ids[0, 1:, None])[:, 0]
    return float(-logp.mean())


@pytest.fixture
def corpus_table(smollm2: Any, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "table.npz"
    corpus = "\n".join(["the cat sat on the mat", "a dog ran in the park", "", "Paris is a city in France"])
    result = detection_frequency.run(
        {"model": MODEL, "corpus": {"upload": "mini.txt", "text": corpus}, "output_path": str(path)}, noop_report
    )
    return {"result": result, "path": path, "corpus": corpus}


def test_frequency_table_counts_every_token_of_each_line(smollm2: Any, corpus_table: dict[str, Any]) -> None:
    """Catches a table that skips lines, counts the blank one, or is saved somewhere other than asked."""
    table = FrequencyTable.load(corpus_table["path"])
    lines = [line for line in corpus_table["corpus"].splitlines() if line.strip()]
    expected = sum(len(smollm2.tokenizer(line)["input_ids"]) for line in lines)
    assert table.total == expected == corpus_table["result"]["total_tokens"]
    assert corpus_table["result"]["texts"] == 3
    assert corpus_table["result"]["manifest"]["output"]["sha256"]


def test_detect_text_matches_a_plain_forward_and_states_its_signs(smollm2: Any, corpus_table: dict[str, Any]) -> None:
    """Catches a pipeline that scores the wrong text or model, drops the per-token values or the sign conventions,
    or writes a CSV whose values differ from the result."""
    result = detection_text.run(
        {
            "texts": TEXTS,
            "models": [MODEL],
            "scores": ["loss", "min_k", "dcpdd", "binoculars"],
            "second_model": MODEL,
            "frequency_table": {"id": "t1", "path": str(corpus_table["path"])},
        },
        noop_report,
    )
    (run,) = result["runs"]
    for text, entry in zip(TEXTS, run["results"], strict=True):
        assert entry["scores"]["loss"] == pytest.approx(plain_loss(smollm2, text), abs=1e-5)
        assert len(entry["per_token"]["logp"]) == entry["n_tokens"] == len(entry["tokens"])
        assert len(entry["per_token"]["dcpdd"]) == entry["n_tokens"]
        assert entry["scores"]["binoculars"] is not None
    signs = {s["name"]: s["higher_means"] for s in result["scores"]}
    assert signs == {"loss": "non-member", "min_k": "member", "dcpdd": "member", "binoculars": "human"}
    assert result["frequency_table"]["corpus_name"] == "mini.txt" and "path" not in str(result["frequency_table"])
    roles = [(m["role"], m["id"]) for m in result["manifest"]["models"]]
    assert roles == [("scored", MODEL), ("second", MODEL)] and result["manifest"]["models"][0]["files"]
    rows = list(csv.DictReader(io.StringIO(detection_text.to_csv(result))))
    loss_rows = [r for r in rows if r["score"] == "loss"]
    assert [float(r["value"]) for r in loss_rows] == [e["scores"]["loss"] for e in run["results"]]


def test_a_frequency_table_for_another_tokenizer_fails_the_job_with_a_clear_message(
    smollm2: Any, corpus_table: dict[str, Any], tmp_path: Path
) -> None:
    """Catches DC-PDD silently indexing a table built for another vocabulary (the worker-side check)."""
    table = FrequencyTable.load(corpus_table["path"])
    table.tokenizer_hash = "0" * 64
    other = tmp_path / "other.npz"
    table.save(other)
    with pytest.raises(DetectionJobError, match="another tokenizer"):
        detection_text.run(
            {
                "texts": TEXTS,
                "models": [MODEL],
                "scores": ["dcpdd"],
                "frequency_table": {"id": "t2", "path": str(other)},
            },
            noop_report,
        )


DATASET = [
    ("The quick brown fox jumps over the lazy dog.", 1),
    ("Paris is the capital and largest city of France.", 1),
    ("Water boils at one hundred degrees Celsius at sea level.", 1),
    ("Zorblat quiffed seventeen marmosets beneath a plaid umbrella yesterday.", 0),
    ("Grumpy teaspoons negotiated with the lighthouse about Tuesday's weather.", 0),
    ("My cousin's ferret composed an opera for accordion and kazoo.", 0),
]


def test_detect_dataset_metrics_agree_with_scikit_learn_and_thresholds_reproduce_the_roc(smollm2: Any) -> None:
    """Catches metrics computed on unoriented scores (an AUROC below 0.5 for a good loss), ROC thresholds in the wrong
    units or rule, or per-row scores that do not line up with their labels."""
    inputs = {
        "rows": [{"text": t, "label": y} for t, y in DATASET],
        "models": [MODEL],
        "scores": ["loss", "min_k"],
        "bootstrap": 50,
        "dataset": {"filename": "six.jsonl"},
    }
    result = detection_dataset.run(inputs, noop_report)
    labels = np.array([y for _, y in DATASET])
    for name, sign in (("loss", -1.0), ("min_k", 1.0)):
        values = np.array([row["results"][MODEL]["scores"][name] for row in result["rows"]])
        metrics = result["metrics"][MODEL][name]
        assert metrics["auroc"] == pytest.approx(roc_auc_score(labels, sign * values))
        low, high = metrics["ci"]["auroc"]["low"], metrics["ci"]["auroc"]["high"]
        assert low <= metrics["auroc"] <= high
        roc = metrics["roc"]
        assert roc["rule"] == ("<=" if sign < 0 else ">=")
        for fpr, tpr, threshold in zip(roc["fpr"], roc["tpr"], roc["threshold"], strict=True):
            if threshold is None:
                continue
            predicted = values <= threshold if sign < 0 else values >= threshold
            assert (predicted & (labels == 1)).sum() / 3 == pytest.approx(tpr)
            assert (predicted & (labels == 0)).sum() / 3 == pytest.approx(fpr)
    assert [row["label"] for row in result["rows"]] == labels.tolist()
    exported = list(csv.reader(io.StringIO(detection_dataset.to_csv(result))))
    assert exported[0][-2:] == [f"{MODEL}:loss", f"{MODEL}:min_k"] and len(exported) == len(DATASET) + 1


class Cancelled(Exception):
    pass


def test_a_dataset_run_stops_at_the_first_report_after_a_cancel(smollm2: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a dataset job that swallows the cancel signal (raised by its report callback) and scores on."""
    monkeypatch.setattr(detection_dataset, "CHUNK_ROWS", 2)
    messages: list[str] = []

    def report(progress: float, message: str = "", partial: Any = None) -> None:
        messages.append(message)
        if "scored 2 of" in message:
            raise Cancelled()

    inputs = {"rows": [{"text": t, "label": y} for t, y in DATASET], "models": [MODEL], "scores": ["loss"]}
    with pytest.raises(Cancelled):
        detection_dataset.run(inputs, report)
    assert not any("scored 4 of" in m for m in messages)
