"""The training corpus: the target's own continuations of varied prompts, with its top-k logits at every step.

Why target-generated data (FastDraft's alignment step, also "sequence-level KD"): the acceptance rate rewards the
draft for predicting *the target's* next token, so the best data is the target's own output on the kind of prompts
it will serve. Greedy continuations teach exactly what greedy speculative decoding verifies; sampled continuations
of repeated prompts widen coverage; the recorded top-k logits let the loss match the target's whole distribution
(word-level KD), which is what sampling-mode acceptance, min(1, p/q), depends on.

Generation is batched with left padding and our own cached loop rather than ``generate``: it records the raw logits'
top-k at each step (``generate``'s processors would see them already warped) and keeps memory to ``[batch, k]`` per
step, which matters with Gemma's 262k vocabulary.

Held-out sequences use prompts never used for training and are greedy, so the draft's agreement with the target's
greedy token on them is the per-token acceptance rate of greedy speculative decoding on unseen prompts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import DynamicCache

from workers.decoding.sampling import SamplingConfig, warp_logits

SEED_PROMPTS: tuple[str, ...] = (
    # instructions and questions
    "Explain how a refrigerator keeps food cold, in simple terms.",
    "Give me three tips for getting better sleep.",
    "What are the main differences between a virus and a bacterium?",
    "How do I make a basic tomato sauce for pasta?",
    "List five ways to reduce plastic waste at home.",
    "Why is the sky blue? Answer in a short paragraph.",
    "What should I pack for a three-day hiking trip?",
    "Describe the water cycle step by step.",
    "How does compound interest work? Give an example with numbers.",
    "What is the difference between weather and climate?",
    "Suggest a weekly workout plan for a beginner.",
    "Explain what a neural network is to a twelve-year-old.",
    "What are the pros and cons of working from home?",
    "How do vaccines train the immune system?",
    "Give a short history of the printing press.",
    "What is photosynthesis and why does it matter?",
    # code
    "Write a Python function that checks whether a string is a palindrome.",
    "Write a Python function that returns the n-th Fibonacci number using iteration.",
    "Explain what this code does:\n\nfor i in range(1, 16):\n    print('FizzBuzz' if i % 15 == 0 else i)",
    "Write a SQL query that returns the ten customers with the highest total order value.",
    "How do I read a CSV file with pandas and compute the mean of one column?",
    "Write a JavaScript function that removes duplicate values from an array.",
    "What is the difference between a list and a tuple in Python?",
    "Write a bash command that counts the lines of every .py file in a folder.",
    "Fix the bug in this function:\n\ndef average(xs):\n    return sum(xs) / len(xs) + 1",
    "Explain recursion with a short code example.",
    "Write a Python class for a simple bank account with deposit and withdraw methods.",
    "How do I reverse a linked list? Show the algorithm in Python.",
    # prose and creative writing
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Write a poem about autumn leaves.",
    "Describe a busy market in a small coastal town.",
    "Write the opening paragraph of a mystery novel.",
    "Write a friendly email inviting colleagues to a team lunch on Friday.",
    "Write a product description for a reusable water bottle.",
    "Describe your ideal weekend in a few sentences.",
    "Write a short speech thanking volunteers at a community event.",
    # summarise / edit / rewrite requests
    "Summarize in one sentence: The city council met on Tuesday to discuss the new bike lanes. Residents raised "
    "concerns about parking, while cyclists argued the lanes would make streets safer. The council will vote next "
    "month after a public survey.",
    "Summarize the main idea: Regular exercise improves mood, strengthens the heart and helps people sleep better. "
    "Even a short daily walk has measurable benefits, according to several long-term studies.",
    "Rewrite this sentence to be more formal: hey, can u send me the report by tmrw?",
    "Correct the grammar: She don't like going to the store because it have too many people.",
    "Make this paragraph shorter: The meeting, which was scheduled to begin at nine o'clock in the morning, actually "
    "started at a quarter past nine because several of the participants arrived late due to heavy traffic.",
    "Translate into French: The weather is nice today and we are going to the beach.",
    "Turn these notes into a paragraph: launch delayed - supplier issue - new date March 3 - no extra cost.",
    "Rewrite this for a five-year-old: The moon orbits the Earth and reflects light from the Sun.",
    "Give this article a title: Scientists have found that octopuses can recognise individual human faces and "
    "react differently to people who treated them kindly.",
    "Extract the dates from this text: The project starts on May 4, the review is on June 12 and the final "
    "report is due on July 30.",
    "Continue the list: apples, bananas, cherries,",
    "Classify the sentiment of this review as positive or negative: The food was cold and the waiter ignored us.",
)


@dataclass
class GeneratedSequence:
    """One prompt and the target's continuation of it."""

    prompt_ids: list[int]
    output_ids: list[int]
    greedy: bool
    prompt_index: int
    topk_ids: torch.Tensor
    """``[len(output_ids), k]`` int64: the target's k most likely next tokens before each output token (column 0 is
    its greedy token)."""
    topk_logits: torch.Tensor
    """``[len(output_ids), k]`` float32: their raw (unwarped) logits."""


@dataclass
class Corpus:
    train: list[GeneratedSequence]
    heldout: list[GeneratedSequence]
    chat: bool
    seconds: float = 0.0
    stopped_early: bool = False
    """The time budget ran out before every planned sequence was generated."""
    prompts: list[str] = field(default_factory=list)

    @property
    def train_tokens(self) -> int:
        return sum(len(s.output_ids) for s in self.train)

    @property
    def heldout_tokens(self) -> int:
        return sum(len(s.output_ids) for s in self.heldout)


@dataclass(frozen=True)
class DataConfig:
    num_sequences: int = 128
    """Training sequences plus held-out ones."""
    max_new_tokens: int = 96
    heldout_fraction: float = 0.125
    max_heldout: int = 32
    temperature: float = 0.8
    """For repeated prompts (the first continuation of each prompt is greedy)."""
    top_p: float = 0.95
    top_k_logits: int = 32
    batch_size: int = 32
    chat: bool | None = None
    """Wrap prompts in the chat template; None = when the tokenizer has one."""
    seed: int = 0


@dataclass(frozen=True)
class _Job:
    prompt_index: int
    prompt_ids: list[int]
    greedy: bool
    heldout: bool


Progress = Callable[[float, str], None]


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def encode_prompt(tokenizer: Any, text: str, chat: bool) -> list[int]:
    """Token ids the target would see for ``text``: one user turn plus the generation prompt for chat models, plain
    text (with the tokenizer's special tokens, e.g. BOS) otherwise."""
    if chat:
        encoded = tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=True
        )
        if hasattr(encoded, "keys"):
            encoded = encoded["input_ids"]
        if encoded and isinstance(encoded[0], list):
            encoded = encoded[0]
        return [int(t) for t in encoded]
    return [int(t) for t in tokenizer.encode(text, add_special_tokens=True)]


def eos_token_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), getattr(model, "config", None), tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value if isinstance(v, int))
    return ids


def _plan(prompt_ids: list[list[int]], config: DataConfig) -> list[_Job]:
    """Held-out prompts first (disjoint from training prompts, greedy), then training prompts cycled: the first
    pass greedy, later passes sampled."""
    order = list(range(len(prompt_ids)))
    random.Random(config.seed).shuffle(order)
    wanted = max(1, min(config.max_heldout, round(config.num_sequences * config.heldout_fraction)))
    n_heldout = max(1, min(wanted, len(order) - 1, config.num_sequences - 1))
    heldout, train = order[:n_heldout], order[n_heldout:]
    jobs = [_Job(i, prompt_ids[i], True, True) for i in heldout]
    for n in range(config.num_sequences - n_heldout):
        i = train[n % len(train)]
        jobs.append(_Job(i, prompt_ids[i], n < len(train), False))
    return jobs


def generate_corpus(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    config: DataConfig,
    *,
    deadline: float | None = None,
    progress: Progress | None = None,
) -> Corpus:
    """Generate ``config.num_sequences`` continuations of ``prompts`` with the target.

    ``deadline`` (a ``time.monotonic()`` value) stops starting new batches once passed; the held-out batch and at
    least one training batch are always generated.
    """
    if len(prompts) < 2:
        raise ValueError("need at least two prompts: one for held-out evaluation, one for training")
    started = time.monotonic()
    chat = has_chat_template(tokenizer) if config.chat is None else config.chat
    encoded = [encode_prompt(tokenizer, text, chat) for text in prompts]
    limit = getattr(model.config, "max_position_embeddings", None)
    longest = max(len(ids) for ids in encoded)
    if limit is not None and longest + config.max_new_tokens > limit:
        raise ValueError(f"a prompt of {longest} tokens plus {config.max_new_tokens} new ones exceeds {limit}")
    jobs = _plan(encoded, config)
    heldout_jobs = [j for j in jobs if j.heldout]
    train_jobs = sorted((j for j in jobs if not j.heldout), key=lambda j: len(j.prompt_ids))  # less padding
    batches = _batches(heldout_jobs, config.batch_size) + _batches(train_jobs, config.batch_size)
    gen = torch.Generator(device="cpu").manual_seed(config.seed)
    eos = eos_token_ids(model, tokenizer)
    pad = _pad_id(tokenizer, eos)
    sequences: list[tuple[_Job, GeneratedSequence]] = []
    stopped = False
    done_train = 0
    for batch in batches:
        is_train = not batch[0].heldout
        if is_train and done_train and deadline is not None and time.monotonic() >= deadline:
            stopped = True
            break
        outputs = generate_batch(model, batch, config, eos=eos, pad_id=pad, gen=gen)
        sequences.extend(zip(batch, outputs, strict=True))
        done_train += len(batch) if is_train else 0
        if progress is not None:
            progress(len(sequences) / len(jobs), f"Generated {len(sequences)}/{len(jobs)} target continuations")
    return Corpus(
        train=[s for j, s in sequences if not j.heldout],
        heldout=[s for j, s in sequences if j.heldout],
        chat=chat,
        seconds=time.monotonic() - started,
        stopped_early=stopped,
        prompts=list(prompts),
    )


def _batches(jobs: list[_Job], size: int) -> list[list[_Job]]:
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]


def _pad_id(tokenizer: Any, eos: set[int]) -> int:
    pad = getattr(tokenizer, "pad_token_id", None)
    if isinstance(pad, int):
        return pad
    return min(eos) if eos else 0


@torch.inference_mode()
def generate_batch(
    model: Any,
    jobs: Sequence[_Job],
    config: DataConfig,
    *,
    eos: set[int],
    pad_id: int,
    gen: torch.Generator,
) -> list[GeneratedSequence]:
    """Continue a batch of prompts (left-padded, one KV cache) until each emits EOS or ``max_new_tokens``."""
    device = next(model.parameters()).device
    width = max(len(j.prompt_ids) for j in jobs)
    ids = torch.full((len(jobs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(jobs), width), dtype=torch.long)
    for row, job in enumerate(jobs):
        ids[row, width - len(job.prompt_ids) :] = torch.tensor(job.prompt_ids)
        mask[row, width - len(job.prompt_ids) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp_min(0)
    greedy = torch.tensor([j.greedy for j in jobs], device=device)
    sampling = SamplingConfig(temperature=config.temperature, top_p=config.top_p)
    cache = DynamicCache(config=model.config)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache, logits_to_keep=1)
    logits = out.logits[:, -1].float()
    finished = torch.zeros(len(jobs), dtype=torch.bool, device=device)
    eos_tensor = torch.tensor(sorted(eos), dtype=torch.long, device=device)
    k = min(config.top_k_logits, logits.shape[-1])
    tokens_out: list[torch.Tensor] = []
    top_ids: list[torch.Tensor] = []
    top_logits: list[torch.Tensor] = []
    alive: list[torch.Tensor] = []
    for _ in range(config.max_new_tokens):
        top = logits.topk(k, dim=-1)
        token = top.indices[:, 0].clone()
        sampled = (~greedy & ~finished).nonzero()[:, 0]
        if sampled.numel():  # the top-p sort over the vocabulary is the costliest op of a step: only where needed
            token[sampled] = _sample(warp_logits(logits[sampled], sampling), gen)
        token = torch.where(finished, torch.full_like(token, pad_id), token)
        tokens_out.append(token.cpu())
        top_ids.append(top.indices.cpu())
        top_logits.append(top.values.cpu())
        alive.append((~finished).cpu())
        finished = finished | torch.isin(token, eos_tensor)
        if bool(finished.all()):
            break
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=-1)
        positions = positions[:, -1:] + 1
        out = model(input_ids=token[:, None], attention_mask=mask, position_ids=positions, past_key_values=cache)
        logits = out.logits[:, -1].float()
    tokens, alive_t = torch.stack(tokens_out, 1), torch.stack(alive, 1)
    top_i, top_v = torch.stack(top_ids, 1), torch.stack(top_logits, 1)
    results = []
    for row, job in enumerate(jobs):
        n = int(alive_t[row].sum())
        results.append(
            GeneratedSequence(
                prompt_ids=list(job.prompt_ids),
                output_ids=tokens[row, :n].tolist(),
                greedy=job.greedy,
                prompt_index=job.prompt_index,
                topk_ids=top_i[row, :n].clone(),
                topk_logits=top_v[row, :n].clone(),
            )
        )
    return results


def _sample(logits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One draw per row of ``[B, V]`` warped logits, by inverse CDF with a CPU generator (reproducible anywhere)."""
    probs = logits.softmax(dim=-1).cpu()
    cdf = probs.cumsum(dim=-1)
    u = torch.rand((probs.shape[0], 1), generator=gen)
    index = torch.searchsorted(cdf, cdf[:, -1:] * u, right=True).clamp_max(probs.shape[-1] - 1)
    return index[:, 0].to(logits.device)
