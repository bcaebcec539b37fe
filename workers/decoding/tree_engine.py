"""Tree and multi-draft speculative decoding end to end: drafters that build token trees, plus ``generate_tree``.

Methods (all lossless; greedy output is token-identical to greedy autoregressive decoding):

* ``multi_draft`` - ``k`` chain drafts of length ``gamma`` from a draft model, sharing only the root (SpecTr /
  SpecInfer / RSD setting). ``rule`` picks the verifier: ``rrs`` (i.i.d. chains, recursive rejection sampling),
  ``spectr`` (i.i.d. chains, K-SEQ), ``rsd_without_replacement`` (first tokens drawn without replacement by
  Gumbel-top-k, RSD). Each level records ``alpha*``, the optimal i.i.d. multi-draft acceptance (Hu et al. 2025).
* ``tree_fixed`` - a static Medusa/Sequoia-style template of rank paths filled from the draft model.
* ``tree_dyspec`` - DySpec's dynamic tree: best-first expansion by path draft probability up to a node budget.
* ``token_recycling`` - the training-free adjacency-matrix drafter (``workers.decoding.token_recycling``).

The step loop is ``engine.generate`` itself (the drafters and ``TreeVerifier`` are its plug-ins), so traces and
summaries have exactly the autoregressive / speculative format; only the method label differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from workers.decoding import verification as V
from workers.decoding.drafters import ModelDrafter
from workers.decoding.engine import Decode, MethodConfig, StepCallback, generate
from workers.decoding.errors import DecodingInputError
from workers.decoding.lm import CausalLM
from workers.decoding.protocols import Draft, Drafter, Verification
from workers.decoding.sampling import SamplingConfig, probabilities
from workers.decoding.token_recycling import TokenRecyclingDrafter
from workers.decoding.trace import StepRecord, Trace
from workers.decoding.tree import (
    Children,
    ChildSampling,
    Template,
    TokenTree,
    TreeRule,
    TreeVerifier,
    branching_template,
    check_tree_fits,
    dyspec_tree,
    expected_draft_probs,
    greedy_template,
    model_dtype,
    tree_attention_mask,
    truncate_template,
    validate_template,
)

TreeMethod = Literal["multi_draft", "tree_fixed", "tree_dyspec", "token_recycling"]
MultiDraftRule = Literal["rrs", "rsd_without_replacement", "spectr"]
TREE_METHODS: tuple[TreeMethod, ...] = ("multi_draft", "tree_fixed", "tree_dyspec", "token_recycling")
MAX_NODES = 64
DEFAULT_TEMPLATE = branching_template((3, 2, 1, 1))


# ----------------------------------------------------------------------------------------------------------------
# draft-model tree drafting


def _candidates(q: torch.Tensor, count: int, kind: ChildSampling, gen: torch.Generator) -> Children:
    """``count`` children of a node whose draft distribution is ``q``: top-k, Gumbel-top-k or i.i.d. draws, with
    the priority of trying each one (its own q only when nothing about it is random; see ``Children``)."""
    count = min(count, int((q > 0).sum()))
    if count <= 0:
        return Children([], [], [])
    if kind == "deterministic":
        ids = torch.topk(q, count).indices
    elif kind == "without_replacement":
        ids = V.sample_without_replacement(q, count, gen)
    else:
        ids = V.sample_iid(q, count, gen)
    tokens = [int(t) for t in ids.tolist()]
    probs = [float(v) for v in q[ids].tolist()]
    if kind == "deterministic":
        return Children(tokens, probs, probs)
    priority = expected_draft_probs(q, tokens, without_replacement=kind == "without_replacement")
    return Children(tokens, probs, priority)


class ModelTreeDrafter:
    """Base for drafters that grow a token tree with a draft model over the target's vocabulary.

    The draft model's cache is synchronised with the committed context (``ModelDrafter.logits_after``), tree nodes
    are fed in batches with a tree attention mask, and the cache is cropped back to the context afterwards (the next
    step re-feeds whatever was accepted).
    """

    shares_target_vocab = True

    def __init__(self, model: Any, *, name: str | None = None, kind: str) -> None:
        self.inner = ModelDrafter(model, name=name, kind=kind)
        self.kind = kind
        self.model_name: str | None = self.inner.model_name
        self._prefix = 0
        self._slots: dict[int, int] = {}

    @property
    def lm(self) -> CausalLM:
        return self.inner.lm

    def start(self, prompt_ids: Sequence[int]) -> None:
        self.inner.start(prompt_ids)

    def limit_vocab(self, width: int) -> None:
        self.inner.limit_vocab(width)

    def observe(self, context: Sequence[int], verification: Verification) -> None:
        return None

    def child_sampling(self, sampling: SamplingConfig) -> ChildSampling:
        raise NotImplementedError

    def build(
        self, root_q: torch.Tensor, max_tokens: int, sampling: SamplingConfig, gen: torch.Generator
    ) -> tuple[TokenTree, dict[int, torch.Tensor], dict[str, Any]]:
        """Grow the tree; returns it, the draft distribution at every expanded node (``-1`` = root) and trace info."""
        raise NotImplementedError

    def propose(self, context: Sequence[int], max_tokens: int, sampling: SamplingConfig, gen: torch.Generator) -> Draft:
        calls, ms = self.lm.forward_calls, self.lm.forward_ms
        if max_tokens <= 0 or not context:
            return Draft([])
        logits, rollback = self.inner.logits_after(context)
        self._prefix = self.lm.length
        self._slots = {}
        root_q = probabilities(self.inner.within_vocab(logits), sampling)
        tree, dists, info = self.build(root_q, max_tokens, sampling, gen)
        rollback += self.lm.crop(self._prefix)
        q = torch.stack([dists[p] for p in tree.parents]) if len(tree) else None
        info.update(child_sampling=self.child_sampling(sampling), path_q=tree.path_q, scores=tree.scores)
        return Draft(
            tokens=tree.tokens,
            q=q,
            parents=tree.parents,
            forward_calls=self.lm.forward_calls - calls,
            forward_ms=self.lm.forward_ms - ms,
            kv_rollback=rollback,
            extra={"tree": info},
        )

    def evaluate(self, tree: TokenTree, nodes: Sequence[int], sampling: SamplingConfig) -> list[torch.Tensor]:
        """Draft distributions after each of ``nodes`` (their ancestors must already be fed), one forward call."""
        if not nodes:
            return []
        check_tree_fits(self.lm, len(nodes))
        start = self.lm.length
        for i, node in enumerate(nodes):
            self._slots[node] = start + i
        slots = [self._slots.get(i, -1) for i in range(len(tree))]
        mask = tree_attention_mask(
            tree.parents, nodes, slots, self._prefix, start + len(nodes), model_dtype(self.lm), self.lm.device
        )
        positions = torch.tensor(
            [[self._prefix + tree.depths[n] - 1 for n in nodes]], dtype=torch.long, device=self.lm.device
        )
        logits = self.lm.forward([tree.tokens[n] for n in nodes], position_ids=positions, attention_mask=mask)
        return list(probabilities(self.inner.within_vocab(logits), sampling))


class MultiDraftDrafter(ModelTreeDrafter):
    """``k`` chains of length ``gamma`` sharing only the root: i.i.d. chains (RRS, SpecTr), or first tokens drawn
    without replacement (RSD-C with branching ``(k, 1, 1, ...)``). Greedy mode: the top-k first tokens, each
    continued greedily."""

    def __init__(
        self, model: Any, k: int, gamma: int, *, without_replacement: bool = False, name: str | None = None
    ) -> None:
        super().__init__(model, name=name, kind="draft_model_multi")
        self.k, self.gamma, self.without_replacement = k, gamma, without_replacement

    def child_sampling(self, sampling: SamplingConfig) -> ChildSampling:
        if sampling.greedy:
            return "deterministic"
        return "without_replacement" if self.without_replacement else "iid"

    def build(
        self, root_q: torch.Tensor, max_tokens: int, sampling: SamplingConfig, gen: torch.Generator
    ) -> tuple[TokenTree, dict[int, torch.Tensor], dict[str, Any]]:
        k = min(self.k, max_tokens)
        depth = max(1, min(self.gamma, max_tokens // k))
        kind = self.child_sampling(sampling)
        tree = TokenTree()
        dists: dict[int, torch.Tensor] = {-1: root_q}
        roots = _candidates(root_q, k, kind, gen)
        leaves = [tree.add(-1, t, pr) for t, pr in zip(roots.tokens, roots.q, strict=True)]
        for _ in range(depth - 1):
            for leaf, q in zip(leaves, self.evaluate(tree, leaves, sampling), strict=True):
                dists[leaf] = q
            step_kind: ChildSampling = "deterministic" if sampling.greedy else "iid"
            new = []
            for leaf in leaves:
                child = _candidates(dists[leaf], 1, step_kind, gen)
                new.append(tree.add(leaf, child.tokens[0], child.q[0]))
            leaves = new
        return tree, dists, {"builder": "multi_draft", "num_drafts": k, "draft_length": depth}


class FixedTreeDrafter(ModelTreeDrafter):
    """A static template of rank paths (Medusa / Sequoia style) filled level by level from the draft model: rank
    ``r`` is the ``r``-th best token (greedy), the ``r``-th Gumbel-top-k draw, or the ``r``-th i.i.d. draw."""

    def __init__(
        self,
        model: Any,
        template: Template,
        *,
        children: ChildSampling = "without_replacement",
        name: str | None = None,
    ) -> None:
        super().__init__(model, name=name, kind="draft_model_tree")
        self.template = validate_template(template)
        self.children = children

    def child_sampling(self, sampling: SamplingConfig) -> ChildSampling:
        return "deterministic" if sampling.greedy else self.children

    def build(
        self, root_q: torch.Tensor, max_tokens: int, sampling: SamplingConfig, gen: torch.Generator
    ) -> tuple[TokenTree, dict[int, torch.Tensor], dict[str, Any]]:
        template = truncate_template(self.template, max_tokens)
        kind = self.child_sampling(sampling)
        tree = TokenTree()
        dists: dict[int, torch.Tensor] = {-1: root_q}
        node_of: dict[tuple[int, ...], int] = {(): -1}
        max_depth = max((len(p) for p in template), default=0)
        for depth in range(1, max_depth + 1):
            level = [p for p in template if len(p) == depth]
            parents = sorted({node_of[p[:-1]] for p in level})
            to_eval = [n for n in parents if n not in dists]
            for n, q in zip(to_eval, self.evaluate(tree, to_eval, sampling), strict=True):
                dists[n] = q
            drawn: dict[int, Children] = {}
            for path in level:
                parent = node_of[path[:-1]]
                if parent not in drawn:
                    width = 1 + max(p[-1] for p in level if node_of[p[:-1]] == parent)
                    drawn[parent] = _candidates(dists[parent], width, kind, gen)
                children = drawn[parent]
                if path[-1] < len(children.tokens):
                    node_of[path] = tree.add(parent, children.tokens[path[-1]], children.q[path[-1]])
            template = tuple(p for p in template if len(p) <= depth or p[:depth] in node_of)
        return tree, dists, {"builder": "template", "template_size": len(template)}


class DySpecDrafter(ModelTreeDrafter):
    """DySpec dynamic tree: best-first expansion scored by the product of draft probabilities along the path.

    Children of a node are its top tokens (greedy) or a Gumbel-top-k sample (sampling, verified with RSD), at most
    ``max_children`` each; ``budget`` caps the node count and ``max_depth`` the depth. When sampling, a child not yet
    in the tree is scored by its expected draft probability given its earlier siblings, never by its own (see
    ``tree.Children``), so the tree's shape cannot bias RSD.
    """

    def __init__(
        self, model: Any, budget: int, max_depth: int, *, max_children: int = 8, name: str | None = None
    ) -> None:
        super().__init__(model, name=name, kind="draft_model_dyspec")
        self.budget, self.max_depth, self.max_children = budget, max_depth, max_children

    def child_sampling(self, sampling: SamplingConfig) -> ChildSampling:
        return "deterministic" if sampling.greedy else "without_replacement"

    def build(
        self, root_q: torch.Tensor, max_tokens: int, sampling: SamplingConfig, gen: torch.Generator
    ) -> tuple[TokenTree, dict[int, torch.Tensor], dict[str, Any]]:
        dists: dict[int, torch.Tensor] = {-1: root_q}
        kind = self.child_sampling(sampling)
        batches: list[int] = []

        def expand(tree: TokenTree, nodes: list[int]) -> list[Children]:
            fresh = [n for n in nodes if n not in dists]
            for n, q in zip(fresh, self.evaluate(tree, fresh, sampling), strict=True):
                dists[n] = q
            batches.append(len(fresh))
            return [_candidates(dists[n], self.max_children, kind, gen) for n in nodes]

        tree = dyspec_tree(expand, min(self.budget, max_tokens), self.max_depth)
        return tree, dists, {"builder": "dyspec", "budget": self.budget, "eval_batches": batches}


# ----------------------------------------------------------------------------------------------------------------
# configuration and the loop


@dataclass(frozen=True)
class TreeMethodConfig:
    """How to decode with a tree / multi-draft method (see the module docstring)."""

    method: TreeMethod = "tree_fixed"
    sampling: SamplingConfig = SamplingConfig()
    rule: MultiDraftRule = "rrs"
    """multi_draft and tree_fixed (sampling mode): how children are drawn and verified."""
    num_drafts: int = 3
    draft_length: int = 4
    template: Template | None = None
    """tree_fixed / token_recycling: rank paths; defaults to ``DEFAULT_TEMPLATE`` / a greedy 32-node template."""
    node_budget: int = 16
    max_depth: int = 6
    max_children: int = 8
    recycling_k: int = 8
    eos_token_ids: tuple[int, ...] = ()
    trace_top_k: int = 5

    def __post_init__(self) -> None:
        if self.method not in TREE_METHODS:
            raise DecodingInputError(f"Unknown tree method {self.method!r}: use one of {', '.join(TREE_METHODS)}.")
        if self.rule not in ("rrs", "rsd_without_replacement", "spectr"):
            raise DecodingInputError(f"Unknown multi-draft rule {self.rule!r}.")
        if not 1 <= self.num_drafts <= 16 or not 1 <= self.draft_length <= 32:
            raise DecodingInputError("num_drafts must be in [1, 16] and draft_length in [1, 32].")
        if not 1 <= self.max_depth <= 32 or not 1 <= self.max_children <= 64 or not 1 <= self.recycling_k <= 64:
            raise DecodingInputError("max_depth, max_children and recycling_k are out of range.")
        if not 1 <= self.nodes() <= MAX_NODES:
            raise DecodingInputError(f"The tree must have between 1 and {MAX_NODES} nodes (got {self.nodes()}).")

    def resolved_template(self) -> Template:
        if self.template is not None:
            return validate_template(self.template)
        if self.method == "token_recycling":
            return greedy_template((0.55, 0.2, 0.1, 0.06, 0.04, 0.03, 0.02), budget=32, max_depth=6)
        return DEFAULT_TEMPLATE

    def nodes(self) -> int:
        """Node budget per step (the engine's ``gamma``)."""
        if self.method == "multi_draft":
            return self.num_drafts * self.draft_length
        if self.method == "tree_dyspec":
            return self.node_budget
        return len(self.resolved_template())

    def verifier_rule(self) -> TreeRule:
        return _VERIFIER_RULES[self.rule]


_VERIFIER_RULES: dict[MultiDraftRule, TreeRule] = {"rrs": "rrs", "spectr": "spectr", "rsd_without_replacement": "rsd"}


def build_method(config: TreeMethodConfig, draft_model: Any | None = None, vocab_size: int | None = None) -> Drafter:
    """The drafter for ``config.method`` (token recycling needs no draft model)."""
    if config.method == "token_recycling":
        return TokenRecyclingDrafter(vocab_size, k=config.recycling_k, template=config.resolved_template())
    if draft_model is None:
        raise DecodingInputError(f"The {config.method} method needs a draft model.")
    wor = config.rule == "rsd_without_replacement"
    if config.method == "multi_draft":
        return MultiDraftDrafter(draft_model, config.num_drafts, config.draft_length, without_replacement=wor)
    if config.method == "tree_fixed":
        children: ChildSampling = "without_replacement" if wor else "iid"
        return FixedTreeDrafter(draft_model, config.resolved_template(), children=children)
    return DySpecDrafter(draft_model, config.node_budget, config.max_depth, max_children=config.max_children)


def generate_tree(
    target: CausalLM | Any,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    config: TreeMethodConfig,
    seed: int = 0,
    on_step: StepCallback | None = None,
    *,
    draft_model: Any | None = None,
    drafter: Drafter | None = None,
    decode: Decode | None = None,
) -> tuple[list[int], Trace]:
    """Generate with a tree / multi-draft method; returns (new token ids, trace) like ``engine.generate``.

    ``drafter`` overrides the one built from ``config`` (e.g. a :class:`TokenRecyclingDrafter` whose matrix persists
    across requests).
    """
    vocab = getattr(getattr(target, "config", None), "vocab_size", None) or getattr(target, "vocab_size", None)
    active = drafter or build_method(config, draft_model, vocab)
    rule: TreeRule = "auto" if config.method in ("tree_dyspec", "token_recycling") else config.verifier_rule()
    engine_config = MethodConfig(
        method="speculative",
        sampling=config.sampling,
        gamma=config.nodes(),
        adaptive_gamma=False,
        max_gamma=MAX_NODES,
        eos_token_ids=config.eos_token_ids,
        trace_top_k=config.trace_top_k,
    )

    def relabel(record: StepRecord) -> None:
        record.method = config.method
        if on_step is not None:
            on_step(record)

    output, trace = generate(
        target,
        active,
        prompt_ids,
        max_new_tokens,
        engine_config,
        seed,
        relabel,
        verifier=TreeVerifier(rule),
        decode=decode,
    )
    trace.method = config.method
    trace.notes.append(
        f"{config.method}: {config.nodes()} draft nodes per step, verified with the lossless tree rule "
        f"{'greedy' if config.sampling.greedy else rule}."
    )
    return output, trace
