"""Train a draft on the target's generated corpus, measure agreement, save it as a normal HF folder.

Loss (FastDraft's alignment objective plus word-level KD): ``(1 − w) · CE(draft, target's generated token) +
w · KL(target top-k ‖ draft)``. The cross-entropy on target-generated tokens is FastDraft's sequence-level
distillation; the KL to the target's renormalised top-k logits adds the rest of the target's distribution at every
position, which helps when the continuation was sampled (its token is then not the target's argmax) and is what
sampling-mode acceptance depends on. Both are evaluated only at continuation positions, and the vocabulary-sized head
only runs there, since prompts are the target's input, not its output.

Agreement — the fraction of held-out continuation positions where the draft's argmax equals the target's — is the
acceptance proxy: on greedy held-out sequences it is exactly the per-token acceptance rate of greedy speculative
decoding (the verified context is always the target's greedy output).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from workers.distill.data import GeneratedSequence
from workers.distill.model import freeze_embeddings, head_logits

Report = Callable[..., None]
"""``report(progress: float, message: str, partial: dict | None = None)``."""
MANIFEST_NAME = "tokenscope_draft.json"


@dataclass(frozen=True)
class TrainConfig:
    max_steps: int = 300
    time_budget_s: float = 600.0
    batch_size: int = 8
    """Sequences per step."""
    learning_rate: float = 5e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    min_lr_ratio: float = 0.1
    """The cosine schedule decays to this fraction of the peak learning rate (at ``max_steps``)."""
    grad_clip: float = 1.0
    kd_weight: float = 0.5
    """w in (1 − w)·CE + w·KL; 0 = pure cross-entropy on the generated tokens."""
    train_embeddings: bool = False
    """False keeps the copied embeddings/LM head fixed (see ``freeze_embeddings``)."""
    report_every: int = 10
    eval_every: int = 50
    seed: int = 0


@dataclass
class TrainResult:
    steps: int
    stop_reason: str
    """``max_steps`` or ``time_budget``."""
    losses: list[dict[str, float]] = field(default_factory=list)
    """One ``{"step", "loss", "ce", "kl"}`` per step."""
    evals: list[dict[str, float]] = field(default_factory=list)
    """``{"step", "agreement"}`` on the held-out set, step 0 (before training) and the last step included."""
    agreement_before: float = 0.0
    agreement_after: float = 0.0
    tokens_seen: int = 0
    seconds: float = 0.0


@dataclass
class _Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    """Loss positions: the hidden state at (row, col) predicts ``labels``."""
    labels: torch.Tensor
    topk_ids: torch.Tensor
    topk_logits: torch.Tensor


def collate(sequences: Sequence[GeneratedSequence], device: torch.device, pad_id: int = 0) -> _Batch:
    """Right-padded ``prompt + continuation[:-1]`` rows and the positions that predict each continuation token."""
    rows_ids = [s.prompt_ids + s.output_ids[:-1] for s in sequences]
    width = max(len(r) for r in rows_ids)
    ids = torch.full((len(rows_ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows_ids), width), dtype=torch.long)
    rows: list[int] = []
    cols: list[int] = []
    for i, (row, seq) in enumerate(zip(rows_ids, sequences, strict=True)):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
        start = len(seq.prompt_ids) - 1
        rows.extend([i] * len(seq.output_ids))
        cols.extend(range(start, start + len(seq.output_ids)))
    return _Batch(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        rows=torch.tensor(rows, device=device),
        cols=torch.tensor(cols, device=device),
        labels=torch.tensor([t for s in sequences for t in s.output_ids], device=device),
        topk_ids=torch.cat([s.topk_ids for s in sequences]).to(device),
        topk_logits=torch.cat([s.topk_logits for s in sequences]).to(device).float(),
    )


def _logits(draft: Any, batch: _Batch) -> torch.Tensor:
    """Draft logits ``[N, V]`` at the batch's loss positions only."""
    hidden = draft.get_decoder()(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
    return head_logits(draft, hidden[batch.rows, batch.cols]).float()


def losses(logits: torch.Tensor, batch: _Batch, kd_weight: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, ce, kl). KL(p‖q) over the target's top-k, p renormalised there, q the draft's full softmax."""
    logq = logits.log_softmax(dim=-1)
    ce = F.nll_loss(logq, batch.labels)
    if kd_weight <= 0.0:
        return ce, ce, torch.zeros_like(ce)
    logp = batch.topk_logits.log_softmax(dim=-1)
    kl = (logp.exp() * (logp - logq.gather(-1, batch.topk_ids))).sum(-1).mean()
    return (1.0 - kd_weight) * ce + kd_weight * kl, ce, kl


@torch.no_grad()
def agreement(draft: Any, sequences: Sequence[GeneratedSequence], batch_size: int = 8) -> float:
    """Fraction of continuation positions where the draft's argmax is the target's top-1 token."""
    if not sequences:
        return 0.0
    was_training = draft.training
    draft.eval()
    device = next(draft.parameters()).device
    hits = total = 0
    for i in range(0, len(sequences), batch_size):
        batch = collate(sequences[i : i + batch_size], device)
        predicted = _logits(draft, batch).argmax(dim=-1)
        hits += int((predicted == batch.topk_ids[:, 0]).sum())
        total += int(predicted.numel())
    draft.train(was_training)
    return hits / total if total else 0.0


def _schedule(config: TrainConfig) -> Callable[[int], float]:
    warmup = max(1, round(config.max_steps * config.warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, config.max_steps - warmup))
        return config.min_lr_ratio + (1.0 - config.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def _noop(progress: float, message: str = "", partial: Any = None) -> None:
    return None


def train_draft(
    draft: Any,
    train: Sequence[GeneratedSequence],
    heldout: Sequence[GeneratedSequence],
    config: TrainConfig,
    report: Report = _noop,
) -> TrainResult:
    """AdamW + warmup/cosine + clipping for at most ``max_steps`` steps or ``time_budget_s`` seconds (whichever comes
    first); ``report(progress, message, partial)`` gets ``{"step", "loss", "acceptance_estimate"}`` every
    ``report_every`` steps, the estimate being the latest held-out agreement."""
    if not train:
        raise ValueError("no training sequences")
    started = time.monotonic()
    deadline = started + config.time_budget_s
    if not config.train_embeddings:
        freeze_embeddings(draft)
    params = [p for p in draft.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config))
    device = next(draft.parameters()).device
    gen = torch.Generator().manual_seed(config.seed)
    result = TrainResult(steps=0, stop_reason="max_steps")
    estimate = result.agreement_before = agreement(draft, heldout)
    result.evals.append({"step": 0, "agreement": estimate})
    order: list[int] = []
    draft.train()
    for step in range(1, config.max_steps + 1):
        if time.monotonic() >= deadline:
            result.stop_reason = "time_budget"
            break
        if len(order) < config.batch_size:
            order += torch.randperm(len(train), generator=gen).tolist()
        picked, order = order[: config.batch_size], order[config.batch_size :]
        batch = collate([train[i] for i in picked], device)
        loss, ce, kl = losses(_logits(draft, batch), batch, config.kd_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()
        scheduler.step()
        result.steps = step
        result.tokens_seen += int(batch.labels.numel())
        values = {"loss": loss.item(), "ce": ce.item(), "kl": kl.item()}
        result.losses.append({"step": step, **values})
        if config.eval_every and step % config.eval_every == 0 and step < config.max_steps:
            estimate = agreement(draft, heldout)
            result.evals.append({"step": step, "agreement": estimate})
        if step % config.report_every == 0 or step == config.max_steps:
            elapsed = time.monotonic() - started
            progress = max(step / config.max_steps, min(1.0, elapsed / config.time_budget_s))
            partial = {"step": step, "loss": values["loss"], "acceptance_estimate": estimate}
            report(min(progress, 1.0), f"Step {step}/{config.max_steps}, loss {values['loss']:.3f}", partial)
    draft.eval()
    result.agreement_after = agreement(draft, heldout)
    result.evals.append({"step": result.steps, "agreement": result.agreement_after})
    result.seconds = time.monotonic() - started
    return result


def save_draft(draft: Any, tokenizer: Any, out_dir: str | Path, manifest: dict[str, Any]) -> Path:
    """Write a normal HF folder (config, safetensors weights, the target's tokenizer, generation config) plus
    ``tokenscope_draft.json``. Written next to ``out_dir`` and renamed into place, so a crash never leaves a
    half-written draft where a loader would find it. ``out_dir`` must not exist or be an empty folder."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        draft.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        record = {**manifest, "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        (staging / MANIFEST_NAME).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        staging.chmod(0o755)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
