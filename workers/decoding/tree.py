"""Token trees: structure, templates, DySpec expansion, tree attention and lossless tree verification.

A :class:`TokenTree` holds drafted nodes (token, parent, depth, draft probability ``q`` of the token and the path
probability, i.e. the product of ``q`` along the root-to-node path). Node ``-1`` is the implicit root: the pending
token (the last committed token, not yet in the target's cache). Parents always precede children, so the node order
is a valid flattening for one target forward pass (SpecInfer / Medusa tree attention, reference §2.2): every node
attends to the cached prefix, the root and its own ancestors, at position ``prefix_len + depth``.

Verification walks down from the root. At each level the candidates are the children of the current node and the
chosen multi-draft rule (``workers.decoding.verification``) either accepts one of them (walk on) or emits a residual
token (stop); a node without children emits a bonus token from ``p``. For i.i.d. children (RRS, SpecTr) nodes with
an equal root-to-node token path are merged virtually: their children are all i.i.d. draws from the same conditional,
so the union is again an i.i.d. sample (this is how SpecTr continues "among the drafts that share the accepted
prefix"). In greedy mode the walk keeps every child equal to the target's argmax, which yields the longest accepted
path.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch

from workers.decoding import verification as V
from workers.decoding.chain import top_k_lists
from workers.decoding.errors import DecodingInputError
from workers.decoding.lm import CausalLM
from workers.decoding.protocols import Draft, Verification
from workers.decoding.sampling import SamplingConfig, align_vocab, check_draft_ids, entropy, probabilities, sample
from workers.decoding.trace import Decision, DraftTokenRecord, NextSource, TopK

ChildSampling = Literal["iid", "without_replacement", "deterministic"]
"""How a node's children were drafted: i.i.d. from q, without replacement from q (Gumbel-top-k), or chosen
deterministically (top-k of q, a Token Recycling row, ...). The verification rule must match it."""
TreeRule = Literal["auto", "rrs", "spectr", "rsd", "deterministic"]
Template = tuple[tuple[int, ...], ...]
"""Medusa-style static tree: one rank path per node, e.g. ``((0,), (1,), (0, 0))`` = the two best candidates after
the root and the best candidate after the first of them."""


# ----------------------------------------------------------------------------------------------------------------
# structure


@dataclass
class TokenTree:
    """Drafted nodes in creation order (parents first). ``parent == -1`` means a child of the root."""

    tokens: list[int] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)
    q: list[float] = field(default_factory=list)
    path_q: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tokens)

    def add(self, parent: int, token: int, q: float = 1.0, score: float | None = None) -> int:
        if not -1 <= parent < len(self):
            raise ValueError(f"parent {parent} does not exist (tree has {len(self)} nodes)")
        base = 1.0 if parent < 0 else self.path_q[parent]
        self.tokens.append(int(token))
        self.parents.append(parent)
        self.depths.append(1 if parent < 0 else self.depths[parent] + 1)
        self.q.append(float(q))
        self.path_q.append(base * float(q))
        self.scores.append(base * float(q) if score is None else float(score))
        return len(self) - 1

    def children(self, node: int) -> list[int]:
        return [i for i, p in enumerate(self.parents) if p == node]

    def path(self, node: int) -> list[int]:
        """Node ids from the first level down to ``node`` (empty for the root)."""
        out: list[int] = []
        while node >= 0:
            out.append(node)
            node = self.parents[node]
        return out[::-1]

    @classmethod
    def from_parents(cls, tokens: Sequence[int], parents: Sequence[int], q: Sequence[float] | None = None) -> TokenTree:
        tree = cls()
        for i, (token, parent) in enumerate(zip(tokens, parents, strict=True)):
            if parent >= i:
                raise ValueError("tree nodes must be listed parents first")
            tree.add(parent, token, 1.0 if q is None else q[i])
        return tree


def chain_parents(n: int) -> list[int]:
    return [i - 1 for i in range(n)]


# ----------------------------------------------------------------------------------------------------------------
# templates


def validate_template(template: Sequence[Sequence[int]]) -> Template:
    """Sort rank paths breadth-first and check that every path's prefix is present."""
    paths = sorted({tuple(int(r) for r in path) for path in template}, key=lambda t: (len(t), t))
    present = set(paths)
    for path in paths:
        if not path or min(path) < 0:
            raise ValueError(f"bad template path {path}")
        if len(path) > 1 and path[:-1] not in present:
            raise ValueError(f"template path {path} has no parent {path[:-1]}")
        if path[-1] > 0 and path[:-1] + (path[-1] - 1,) not in present:
            # without-replacement verification tries draws in order: a node's ranks must be 0, 1, ..., r
            raise ValueError(f"template path {path} skips rank {path[-1] - 1}")
    return tuple(paths)


def branching_template(widths: Sequence[int]) -> Template:
    """Full tree with ``widths[d]`` children per node at depth ``d`` (e.g. ``(3, 2, 1)``: 3 + 6 + 6 nodes)."""
    paths: list[tuple[int, ...]] = []
    level: list[tuple[int, ...]] = [()]
    for width in widths:
        level = [prefix + (r,) for prefix in level for r in range(width)]
        paths.extend(level)
    return validate_template(paths)


def greedy_template(rank_accept: Sequence[float], budget: int, max_depth: int) -> Template:
    """Static tree of the ``budget`` rank paths with the highest prior acceptance (Medusa sparse trees / Sequoia).

    ``rank_accept[r]`` is an assumed probability that the rank-``r`` candidate is the accepted one; a path's value is
    the product along it, and since values shrink along a path the best-first pick is always a valid tree.
    """
    heap: list[tuple[float, tuple[int, ...]]] = [(-rank_accept[r], (r,)) for r in range(len(rank_accept))]
    heapq.heapify(heap)
    chosen: list[tuple[int, ...]] = []
    while heap and len(chosen) < budget:
        neg, path = heapq.heappop(heap)
        chosen.append(path)
        if len(path) < max_depth:
            for r, a in enumerate(rank_accept):
                heapq.heappush(heap, (neg * a, path + (r,)))
    return validate_template(chosen)


def truncate_template(template: Template, budget: int) -> Template:
    """The first ``budget`` nodes breadth-first (still a tree, because parents come first)."""
    return template[: max(0, budget)]


# ----------------------------------------------------------------------------------------------------------------
# DySpec dynamic tree


@dataclass(frozen=True)
class Children:
    """A node's candidate children in the order they must be tried, with the priority of trying each one.

    ``priority[r]`` scores the decision to add rank ``r`` and must not depend on ``tokens[r]`` itself: recursive
    rejection sampling without replacement is exact only when the decision to try a draft is independent of that
    draft (it may depend on the earlier ranks). Sampled children therefore use :func:`expected_draft_probs`;
    deterministic children (top-k of q) may use their own ``q``, since nothing about them is random.
    """

    tokens: list[int]
    q: list[float]
    priority: list[float]


Expander = Callable[[TokenTree, list[int]], list[Children]]
"""Given the tree and nodes (``-1`` = root), return each node's :class:`Children`."""


def expected_draft_probs(q: torch.Tensor, tokens: Sequence[int], *, without_replacement: bool) -> list[float]:
    """``E[q(x_r) | x_1 .. x_{r-1}]`` for each rank ``r`` of a sample ``tokens`` from ``q``: the expected draft
    probability of the ``r``-th draw given only the earlier ones (``sum q^2`` for i.i.d. draws; without replacement,
    ``sum_{y not drawn} q(y)^2 / (1 - q(drawn))``). A priority that never looks at the draw it decides on."""
    qd = q.to(torch.float64)
    total = float((qd * qd).sum())
    if not without_replacement:
        return [total] * len(tokens)
    drawn = qd[torch.as_tensor(list(tokens), dtype=torch.long, device=qd.device)]
    zero = torch.zeros(1, dtype=torch.float64, device=qd.device)
    square_before = torch.cat([zero, (drawn * drawn).cumsum(0)[:-1]])
    mass_before = torch.cat([zero, drawn.cumsum(0)[:-1]])
    left = (1.0 - mass_before).clamp_min(1e-300)
    return [float(v) for v in ((total - square_before).clamp_min(0.0) / left).tolist()]


def dyspec_tree(expand: Expander, budget: int, max_depth: int) -> TokenTree:
    """DySpec greedy expansion (Xiong et al. 2024): repeatedly add the candidate with the highest estimated acceptance,
    the parent's path probability times the candidate's priority, until ``budget`` nodes.

    Each node exposes only its next untried candidate (children must be a prefix of the node's candidate order for
    the without-replacement rule). The priority of a sampled candidate is its expected draft probability given the
    earlier ranks, not its own (see :class:`Children`): DySpec's original rule scores a sampled sibling by its own
    q, which makes the tree's shape depend on the draws it verifies and biases the output (measured: total
    variation 0.03 on a 4-token example). A node's own candidates are unknown until the draft model has run on it;
    its path probability bounds every child's score (priorities are at most 1), so it sits in the queue with that
    bound and, when it reaches the top, every node waiting for evaluation is evaluated in one batched ``expand``
    call. The result is exactly the tree of sequential best-first expansion.
    """
    tree = TokenTree()
    counter = itertools.count()
    heap: list[tuple[float, int, str, int, int]] = []  # (-score, tiebreak, kind, node, rank)
    candidates: dict[int, Children] = {}
    waiting: list[int] = [-1]
    heapq.heappush(heap, (-1.0, next(counter), "eval", -1, 0))

    def base(node: int) -> float:
        return 1.0 if node < 0 else tree.path_q[node]

    while heap and len(tree) < budget:
        neg, _, kind, node, rank = heapq.heappop(heap)
        if kind == "eval":
            if node in candidates:
                continue
            batch = list(waiting)
            waiting.clear()
            for n, children in zip(batch, expand(tree, batch), strict=True):
                candidates[n] = children
                if children.tokens:
                    heapq.heappush(heap, (-base(n) * children.priority[0], next(counter), "child", n, 0))
            continue
        children = candidates[node]
        child = tree.add(node, children.tokens[rank], children.q[rank], score=-neg)
        if rank + 1 < len(children.tokens):
            heapq.heappush(heap, (-base(node) * children.priority[rank + 1], next(counter), "child", node, rank + 1))
        if tree.depths[child] < max_depth:
            waiting.append(child)
            heapq.heappush(heap, (-tree.path_q[child], next(counter), "eval", child, 0))
    return tree


# ----------------------------------------------------------------------------------------------------------------
# tree attention


def sliding_window_of(model: object) -> int | None:
    """The attention window of a model with sliding-window layers (Gemma 2/3, Mistral), else None."""
    config = getattr(model, "config", None)
    if config is None:
        return None
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    window = getattr(text, "sliding_window", None)
    if not isinstance(window, int) or window <= 0:
        return None
    types = getattr(text, "layer_types", None)
    if types is not None:
        return window if any("sliding" in str(t) for t in types) else None
    return window if getattr(text, "use_sliding_window", True) else None


def check_tree_fits(lm: CausalLM, new_tokens: int) -> None:
    """Tree attention uses one custom mask for every layer; on sliding-window layers that is exact only while the
    whole sequence fits in the window (no state dropped, no key out of reach). Refuse longer sequences."""
    window = sliding_window_of(lm.model)
    if window is not None and lm.length + new_tokens > window:
        raise DecodingInputError(
            f"Tree decoding on {lm.name} (sliding-window attention) is limited to {window} tokens of context plus "
            "tree; use a shorter prompt, fewer new tokens, or a chain method."
        )


def model_dtype(lm: CausalLM) -> torch.dtype:
    try:
        return next(lm.model.parameters()).dtype
    except (AttributeError, StopIteration, TypeError):
        return torch.float32


def tree_attention_mask(
    parents: Sequence[int],
    query: Sequence[int],
    slots: Sequence[int],
    prefix_len: int,
    kv_len: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Additive 4-D mask ``[1, 1, len(query), kv_len]``: query node ``n`` sees cache columns ``[0, prefix_len)`` and
    the slots of ``n`` and its ancestors (``slots[i]`` = cache column of node ``i``; ``parents[i] == -1`` ends a path).
    """
    blocked = torch.finfo(dtype).min
    mask = torch.full((len(query), kv_len), blocked, dtype=dtype, device=device)
    mask[:, :prefix_len] = 0.0
    for row, node in enumerate(query):
        while node >= 0:
            mask[row, slots[node]] = 0.0
            node = parents[node]
    return mask[None, None]


def target_tree_inputs(
    tree_parents: Sequence[int], depths: Sequence[int], prefix_len: int, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Position ids ``[1, n + 1]`` and mask for one forward over ``[pending, *nodes]`` after ``prefix_len`` cached
    tokens (the pending token is node 0 of the extended tree, at depth 0)."""
    ext_parents = [-1, *[p + 1 for p in tree_parents]]
    n = len(ext_parents)
    slots = [prefix_len + i for i in range(n)]
    mask = tree_attention_mask(ext_parents, range(n), slots, prefix_len, prefix_len + n, dtype, device)
    positions = torch.tensor([[prefix_len, *[prefix_len + d for d in depths]]], dtype=torch.long, device=device)
    return positions, mask


def forward_tree(lm: CausalLM, pending: int, tree_tokens: Sequence[int], parents: Sequence[int]) -> torch.Tensor:
    """One forward of ``lm`` over the pending token plus a flattened tree; logits ``[n + 1, V]`` (row 0 = pending).

    The cache then holds the prefix, the pending token and every tree node; call :func:`keep_path` afterwards.
    """
    if not tree_tokens:
        return lm.forward([pending])
    check_tree_fits(lm, len(tree_tokens) + 1)
    depths = _depths(parents)
    positions, mask = target_tree_inputs(parents, depths, lm.length, model_dtype(lm), lm.device)
    return lm.forward([pending, *tree_tokens], position_ids=positions, attention_mask=mask)


def keep_path(lm: CausalLM, base: int, pending: int, tokens: Sequence[int], path: Sequence[int]) -> tuple[int, int]:
    """Roll the cache back to ``prefix + pending + accepted path`` after :func:`forward_tree`.

    Re-selects the accepted nodes' cache entries (positions were ``base + depth``, so they stay consistent); where
    the cache cannot be re-indexed (sliding-window layers) it crops to ``base`` and recomputes the path instead.
    Returns (entries discarded, extra forward calls).
    """
    keep = [base, *[base + 1 + i for i in path]]
    try:
        return lm.keep_positions(keep), 0
    except ValueError:
        removed = lm.crop(base)
        lm.forward([pending, *[tokens[i] for i in path]])
        return removed - len(path) - 1, 1


def _depths(parents: Sequence[int]) -> list[int]:
    depths: list[int] = []
    for p in parents:
        depths.append(1 if p < 0 else depths[p] + 1)
    return depths


# ----------------------------------------------------------------------------------------------------------------
# verification walk


@dataclass
class LevelDecision:
    """One level of the walk: the candidates tried (node ids, trial order) and the rule's decision."""

    depth: int
    candidates: list[int]
    rule: V.Rule
    accepted_node: int | None
    result: V.Verification
    alpha_star: float | None
    """Optimal acceptance for this candidate set's distribution (Hu et al.); None when not computable."""

    def to_dict(self, tokens: Sequence[int]) -> dict[str, object]:
        return {
            "depth": self.depth,
            "candidates": self.candidates,
            "tokens": [tokens[c] for c in self.candidates],
            "rule": self.rule,
            "accepted_node": self.accepted_node,
            "accept_probs": list(self.result.accept_probs),
            "draws": list(self.result.draws),
            "rho": self.result.rho,
            "alpha_star": self.alpha_star,
            "residuals_top": [_top(r, 5) for r in self.result.residuals],
        }


@dataclass
class TreeOutcome:
    path: list[int]
    next_token: int
    source: NextSource
    next_prob: float
    next_u: float | None
    levels: list[LevelDecision]
    residual: torch.Tensor | None = None


def resolve_rule(requested: TreeRule, child_sampling: ChildSampling, greedy: bool) -> V.Rule:
    """The verification rule for a tree whose children were drafted as ``child_sampling``; refuses lossy pairs."""
    if greedy:
        return "greedy"
    natural: dict[ChildSampling, V.Rule] = {
        "iid": "rrs",
        "without_replacement": "rsd",
        "deterministic": "deterministic",
    }
    rule: V.Rule = natural[child_sampling] if requested == "auto" else requested
    allowed: dict[ChildSampling, tuple[V.Rule, ...]] = {
        "iid": ("rrs", "spectr"),
        "without_replacement": ("rsd",),
        "deterministic": ("deterministic",),
    }
    if rule not in allowed[child_sampling]:
        raise ValueError(f"rule {rule!r} is not lossless for {child_sampling} children (use {allowed[child_sampling]})")
    return rule


def alpha_star(rule: V.Rule, p: torch.Tensor, q: torch.Tensor | None, tokens: Sequence[int]) -> float | None:
    """Per-level acceptance bound: ``alpha*`` for i.i.d. drafts, ``p(D)`` (attained) for a deterministic set ``D``."""
    if rule in ("rrs", "spectr") and q is not None:
        return V.optimal_acceptance_iid(p, q, len(tokens))
    if rule == "deterministic":
        return float(p[list(set(tokens))].sum())
    return None


def walk_tree(
    tree: TokenTree,
    p: torch.Tensor,
    q: torch.Tensor | None,
    rule: V.Rule,
    gen: torch.Generator,
    argmax: torch.Tensor | None = None,
    *,
    bounds: bool = True,
    keep_residuals: bool = False,
) -> TreeOutcome:
    """Verify a drafted tree: ``p[0]`` is the target distribution at the root, ``p[i + 1]`` at node ``i``; ``q[i]``
    is the draft distribution node ``i`` was drawn from (None for deterministic drafts). ``argmax`` (greedy mode)
    gives the target's argmax per row, taken from the logits so that ties match plain greedy decoding. ``bounds``
    computes ``alpha*`` per level; ``keep_residuals`` keeps every recursive residual in the level results."""
    merge = rule in ("rrs", "spectr", "greedy")
    frontier = [-1]
    path: list[int] = []
    levels: list[LevelDecision] = []
    while True:
        row = 0 if not path else path[-1] + 1
        cands = [c for c in range(len(tree)) if tree.parents[c] in frontier]
        if path:  # merged nodes share their token path: report the real root-to-node chain of the last one
            path = tree.path(path[-1])
        if not cands:
            if rule == "greedy":
                assert argmax is not None
                token = int(argmax[row])
                return TreeOutcome(path, token, "bonus", float(p[row, token]), None, levels)
            token, u = sample(p[row], gen)
            return TreeOutcome(path, token, "bonus", float(p[row, token]), u, levels)
        toks = [tree.tokens[c] for c in cands]
        q_row = q[cands[0]] if q is not None else None
        if rule == "greedy":
            assert argmax is not None
            target = torch.zeros_like(p[row])
            target[int(argmax[row])] = 1.0
            result = V.verify("greedy", target, None, toks, gen)
        else:
            result = V.verify(rule, p[row], q_row, toks, gen, keep_residuals=keep_residuals)
        bound = alpha_star(rule, p[row], q_row, toks) if bounds and rule != "greedy" else None
        accepted = None if result.accepted_index is None else cands[result.accepted_index]
        levels.append(LevelDecision(len(path) + 1, cands, rule, accepted, result, bound))
        if accepted is None:
            res = result.residual
            source: NextSource = "greedy" if rule == "greedy" else "residual"
            prob = float(res[result.token]) if res is not None else float(p[row, result.token])
            return TreeOutcome(path, result.token, source, prob, result.residual_draw, levels, res)
        path.append(accepted)
        frontier = [c for c in cands if tree.tokens[c] == tree.tokens[accepted]] if merge else [accepted]


# ----------------------------------------------------------------------------------------------------------------
# the Verifier plug-in for engine.generate


class TreeVerifier:
    """Verifies chain or tree drafts with a multi-draft rule per level (lossless; greedy at temperature 0).

    The drafter says how children were drawn in ``draft.extra["tree"]["child_sampling"]`` (default: deterministic
    when ``draft.q`` is None, else i.i.d.); ``rule="auto"`` picks RRS / RSD / the deterministic rule accordingly,
    ``"spectr"`` selects K-SEQ for i.i.d. children.
    """

    lossless = True
    supports_tree = True

    def __init__(self, rule: TreeRule = "auto") -> None:
        self.rule = rule
        self.name = f"tree_{rule}"

    def verify(
        self,
        target: CausalLM,
        pending: int,
        draft: Draft,
        sampling: SamplingConfig,
        gen: torch.Generator,
        *,
        top_k: int = 5,
    ) -> Verification:
        n = len(draft.tokens)
        parents = draft.parents if draft.parents is not None else chain_parents(n)
        info = draft.extra.get("tree", {})
        sampling_kind: ChildSampling = info.get("child_sampling", "deterministic" if draft.q is None else "iid")
        rule = resolve_rule(self.rule if n else "auto", sampling_kind, sampling.greedy)
        tree = TokenTree.from_parents(draft.tokens, parents)
        base = target.length
        check_draft_ids(draft.tokens, target.vocab_size)  # before the embedding lookup
        logits = forward_tree(target, pending, draft.tokens, parents)
        forward_ms = target.last_forward_ms
        check_draft_ids(draft.tokens, logits.shape[-1])
        p = probabilities(logits, sampling)
        q = align_vocab(draft.q.to(p.device, torch.float32), p.shape[-1]) if draft.q is not None and n else None
        argmax = logits.argmax(dim=-1) if sampling.greedy else None
        outcome = walk_tree(tree, p, q, rule, gen, argmax, keep_residuals=True)
        rollback, extra_calls = keep_path(target, base, pending, draft.tokens, outcome.path)
        records, first_rejection = _records(tree, p, q, outcome, top_k)
        residual_top = top_k_lists(outcome.residual[None].float(), top_k)[0] if outcome.residual is not None else None
        return Verification(
            accepted=[tree.tokens[i] for i in outcome.path],
            next_token=outcome.next_token,
            next_source=outcome.source,
            next_prob=outcome.next_prob,
            next_u=outcome.next_u,
            records=records,
            first_rejection=first_rejection,
            kv_rollback=rollback,
            target_forwards=1 + extra_calls,
            target_ms=forward_ms,
            residual_top=residual_top,
            target_logits=logits,
            extra={
                "tree_verification": {
                    "rule": rule,
                    "child_sampling": sampling_kind,
                    "nodes": n,
                    "accepted_path": outcome.path,
                    "levels": [level.to_dict(tree.tokens) for level in outcome.levels],
                }
            },
        )


def _top(dist: torch.Tensor, k: int) -> dict[str, list[float] | list[int]]:
    values, ids = torch.topk(dist, min(k, dist.shape[-1]))
    return {"ids": [int(i) for i in ids.tolist()], "probs": [float(v) for v in values.tolist()]}


def _records(
    tree: TokenTree, p: torch.Tensor, q: torch.Tensor | None, outcome: TreeOutcome, top_k: int
) -> tuple[list[DraftTokenRecord], int | None]:
    n = len(tree)
    if n == 0:
        return [], None
    tried: dict[int, tuple[float, float | None, bool]] = {}
    first_rejection: int | None = None
    for level in outcome.levels:
        draws = list(level.result.draws) + [math.nan] * len(level.candidates)
        for j, prob in enumerate(level.result.accept_probs):
            node = level.candidates[j]
            ok = node == level.accepted_node
            draw = draws[j]
            tried[node] = (prob, None if math.isnan(draw) else draw, ok)
            if not ok and first_rejection is None:
                first_rejection = node
    rows = torch.tensor([par + 1 for par in tree.parents], dtype=torch.long, device=p.device)
    x = torch.tensor(tree.tokens, dtype=torch.long, device=p.device)
    p_at = p.index_select(0, rows)
    p_x = p_at.gather(1, x[:, None])[:, 0]
    q_x = q.gather(1, x[:, None])[:, 0] if q is not None else torch.ones_like(p_x)
    beta = V.overlap(p_at, q).float() if q is not None else p_x
    h_p = entropy(p_at)
    h_q = entropy(q) if q is not None else torch.zeros_like(h_p)
    top_p = top_k_lists(p_at, top_k)
    top_q = top_k_lists(q, top_k) if q is not None else [TopK([t], [1.0]) for t in tree.tokens]
    on_path = set(outcome.path)
    records = []
    cols = [t.tolist() for t in (p_x, q_x, beta, h_p, h_q)]
    for i, (pi, qi, bi, hpi, hqi) in enumerate(zip(*cols, strict=True)):
        prob, u, ok = tried.get(i, (math.nan, None, False))
        # A tried node whose token was accepted is "accepted" even when the walk continued through an identical
        # sibling (i.i.d. children with an equal token path are merged), so it is off the reported path.
        decision: Decision = "accepted" if i in on_path or ok else ("rejected" if i in tried else "unverified")
        records.append(
            DraftTokenRecord(
                node=i,
                parent=tree.parents[i],
                depth=tree.depths[i],
                token=tree.tokens[i],
                q=qi,
                p=pi,
                accept_prob=0.0 if math.isnan(prob) else prob,
                u=u,
                decision=decision,
                beta=bi,
                entropy_p=hpi,
                entropy_q=hqi,
                top_p=top_p[i],
                top_q=top_q[i],
            )
        )
    return records, first_rejection
