"""Training lowers the loss and raises agreement; the saved folder is a normal HF model and a lossless drafter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.workers.distill.conftest import EOS, word_prompts
from workers.decoding.drafters import ModelDrafter
from workers.decoding.engine import MethodConfig, generate
from workers.distill.data import Corpus, DataConfig, generate_corpus
from workers.distill.model import build_draft
from workers.distill.train import MANIFEST_NAME, TrainConfig, agreement, collate, losses, save_draft, train_draft


@pytest.fixture(scope="module")
def corpus(target: Any, tokenizer: Any) -> Corpus:
    config = DataConfig(num_sequences=96, max_new_tokens=24, top_k_logits=8, heldout_fraction=0.2)
    return generate_corpus(target, tokenizer, word_prompts(60), config)


def test_collate_aligns_each_position_with_the_token_it_predicts(corpus: Corpus) -> None:
    batch = collate(corpus.train[:4], torch.device("cpu"))
    assert batch.labels.numel() == sum(len(s.output_ids) for s in corpus.train[:4]) == batch.rows.numel()
    seen = batch.cols + 1 < batch.attention_mask.sum(-1)[batch.rows]  # positions whose next input is real
    assert torch.equal(batch.input_ids[batch.rows[seen], batch.cols[seen] + 1], batch.labels[seen])
    assert torch.equal(batch.topk_ids, torch.cat([s.topk_ids for s in corpus.train[:4]]))


def test_kl_is_zero_when_the_draft_reproduces_the_targets_distribution(corpus: Corpus) -> None:
    batch = collate(corpus.train[:2], torch.device("cpu"))
    logits = torch.full((batch.labels.numel(), 64), -1e4).scatter(-1, batch.topk_ids, batch.topk_logits)
    _, ce, kl = losses(logits, batch, kd_weight=0.5)
    assert float(kl) == pytest.approx(0.0, abs=1e-5)
    assert float(ce) >= 0.0
    total, ce_only, _ = losses(logits, batch, kd_weight=0.0)
    assert float(total) == float(ce_only)


def test_training_reduces_loss_and_raises_heldout_agreement(target: Any, corpus: Corpus) -> None:
    draft = build_draft(target, 2, strategy="spread").model
    reports: list[tuple[float, str, Any]] = []
    config = TrainConfig(max_steps=120, learning_rate=3e-3, report_every=20, eval_every=40, seed=1)
    result = train_draft(
        draft, corpus.train, corpus.heldout, config, lambda p, m, partial=None: reports.append((p, m, partial))
    )
    assert result.steps == 120 and result.stop_reason == "max_steps"
    first = sum(p["loss"] for p in result.losses[:10]) / 10
    last = sum(p["loss"] for p in result.losses[-10:]) / 10
    assert last < 0.75 * first
    assert result.agreement_before == agreement(build_draft(target, 2, strategy="spread").model, corpus.heldout)
    assert result.agreement_after >= result.agreement_before + 0.1
    assert [e["step"] for e in result.evals] == [0, 40, 80, 120]
    partials = [partial for _, _, partial in reports]
    assert [p["step"] for p in partials] == [20, 40, 60, 80, 100, 120]
    assert set(partials[0]) == {"step", "loss", "acceptance_estimate"}
    assert partials[-1]["acceptance_estimate"] == result.evals[-2]["agreement"]  # the latest estimate available
    assert reports[-1][0] == 1.0
    assert not target.get_input_embeddings().weight.grad  # the target is never trained
    assert not draft.get_input_embeddings().weight.requires_grad


def test_time_budget_stops_training(target: Any, corpus: Corpus) -> None:
    draft = build_draft(target, 2).model
    result = train_draft(draft, corpus.train, corpus.heldout, TrainConfig(max_steps=1000, time_budget_s=0.0))
    assert result.steps == 0 and result.stop_reason == "time_budget"
    assert result.agreement_after == result.agreement_before


def test_saved_draft_loads_and_is_a_lossless_drafter(
    target: Any, tokenizer: Any, corpus: Corpus, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    draft = build_draft(target, 2, strategy="spread").model
    result = train_draft(draft, corpus.train, corpus.heldout, TrainConfig(max_steps=60, learning_rate=3e-3))
    out = save_draft(draft, tokenizer, tmp_path / "draft", {"target": "tiny-fixture", "steps": result.steps})
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["target"] == "tiny-fixture" and manifest["steps"] == 60 and "created_at" in manifest
    assert not [p.name for p in tmp_path.iterdir() if p.name != "draft"]  # no staging folder left behind

    loaded = AutoModelForCausalLM.from_pretrained(out).eval()
    assert type(loaded) is type(target) and loaded.config.num_hidden_layers == 2
    assert AutoTokenizer.from_pretrained(out).get_vocab() == tokenizer.get_vocab()
    assert torch.equal(loaded.get_input_embeddings().weight, target.get_input_embeddings().weight)

    config = MethodConfig(method="speculative", gamma=4, eos_token_ids=(EOS,))
    accepted = 0
    for seq in corpus.heldout[:4]:
        baseline, _ = generate(target, None, seq.prompt_ids, 24, MethodConfig(eos_token_ids=(EOS,)))
        output, trace = generate(target, ModelDrafter(loaded), seq.prompt_ids, 24, config)
        assert output == baseline
        assert trace.summary is not None
        accepted += trace.summary.accepted
    assert accepted > 0


def test_save_refuses_a_non_empty_folder(target: Any, tokenizer: Any, tmp_path: Path) -> None:
    (tmp_path / "draft").mkdir()
    (tmp_path / "draft" / "keep.txt").write_text("user data")
    with pytest.raises(OSError):
        save_draft(build_draft(target, 2).model, tokenizer, tmp_path / "draft", {})
    assert (tmp_path / "draft" / "keep.txt").read_text() == "user data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["draft"]
