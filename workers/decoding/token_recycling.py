"""Token Recycling (Luo et al., ACL 2025): a training-free tree drafter that needs only the target model.

The target's top-k candidates at every verified position are normally thrown away; they tend to recur. An adjacency
matrix ``M[|V|, k]`` keeps, for every token ``t``, the top-k next tokens the target last predicted after ``t``. Each
step drafts a tree by breadth-first expansion from the last committed token under a static template (rank ``r`` of
node ``t`` is ``M[t, r]``), the tree is verified in one target forward, and the rows of every token in the verified
tree are overwritten with that forward's fresh top-k. Rows never seen yet are empty (no children).

The drafts are deterministic (q is a point mass), so verification uses the deterministic multi-draft rule: lossless
in sampling mode, token-identical to greedy decoding at temperature 0. ``M`` is stored as int32: 49k × 8 entries is
about 1.5 MB, in line with the paper's "under 2 MB".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from workers.decoding.protocols import Draft, Verification
from workers.decoding.sampling import SamplingConfig
from workers.decoding.tree import Template, TokenTree, truncate_template, validate_template

UNKNOWN = -1


class TokenRecyclingDrafter:
    """Adjacency-matrix drafter. ``vocab_size`` may be None: the matrix is then sized on the first update."""

    kind = "token_recycling"
    model_name: str | None = None
    shares_target_vocab = True

    def __init__(
        self, vocab_size: int | None, k: int = 8, template: Template | None = None, *, persist: bool = True
    ) -> None:
        if k < 1:
            raise ValueError("k must be >= 1")
        self.k = k
        self.template = validate_template(template or ((0,), (1,), (0, 0), (0, 1), (1, 0), (0, 0, 0)))
        if max(p[-1] for p in self.template) >= k:
            raise ValueError(f"template ranks must be < k={k}")
        self.persist = persist
        """Keep the matrix across ``start`` calls (the paper's setting: candidates are recycled across requests)."""
        self.matrix: torch.Tensor | None = None
        if vocab_size is not None:
            self.reset(vocab_size)
        self._root: int | None = None
        self._tokens: list[int] = []

    def reset(self, vocab_size: int | None = None) -> None:
        size = vocab_size if vocab_size is not None else (self.matrix.shape[0] if self.matrix is not None else None)
        self.matrix = None if size is None else torch.full((size, self.k), UNKNOWN, dtype=torch.int32)

    def start(self, prompt_ids: Sequence[int]) -> None:
        if not self.persist:
            self.reset()
        self._root, self._tokens = None, []

    def build_tree(self, root: int, max_tokens: int) -> TokenTree:
        """Breadth-first expansion from ``root`` under the template (truncated to ``max_tokens`` nodes)."""
        tree = TokenTree()
        matrix = self.matrix
        if matrix is None or max_tokens <= 0:
            return tree
        node_of: dict[tuple[int, ...], int] = {}
        rows: dict[int, list[int]] = {}

        def row(token: int) -> list[int]:
            if token not in rows:
                inside = 0 <= token < matrix.shape[0]
                rows[token] = [int(t) for t in matrix[token].tolist()] if inside else [UNKNOWN] * self.k
            return rows[token]

        for path in truncate_template(self.template, max_tokens):
            parent = node_of.get(path[:-1], -1) if len(path) > 1 else -1
            if len(path) > 1 and path[:-1] not in node_of:
                continue
            parent_token = root if parent < 0 else tree.tokens[parent]
            token = row(parent_token)[path[-1]]
            if token != UNKNOWN:
                node_of[path] = tree.add(parent, token, 1.0)
        return tree

    def propose(self, context: Sequence[int], max_tokens: int, sampling: SamplingConfig, gen: torch.Generator) -> Draft:
        root = int(context[-1])
        tree = self.build_tree(root, max_tokens)
        self._root, self._tokens = root, list(tree.tokens)
        return Draft(
            tokens=tree.tokens,
            q=None,
            parents=tree.parents,
            extra={"tree": {"builder": "token_recycling", "child_sampling": "deterministic", "k": self.k}},
        )

    def update(self, tokens: Sequence[int], logits: torch.Tensor) -> None:
        """Overwrite ``M[tokens[i]]`` with the top-k of ``logits[i]`` (the target's raw logits after that token).

        Raw logits, not the warped p: with top-k or top-p sampling most of p is exactly zero, and the top-k of p would
        fill the row with arbitrary zero-probability ties instead of the target's next-best candidates."""
        if self.matrix is None:
            self.reset(logits.shape[-1])
        assert self.matrix is not None
        k = min(self.k, logits.shape[-1])
        top = torch.topk(logits.float(), k, dim=-1).indices.to(torch.int32).cpu()
        index = torch.tensor([int(t) for t in tokens], dtype=torch.long)
        valid = (index >= 0) & (index < self.matrix.shape[0])
        # later rows win for repeated tokens, as sequential overwrites would
        for i in valid.nonzero()[:, 0].tolist():
            self.matrix[index[i], :k] = top[i]

    def observe(self, context: Sequence[int], verification: Verification) -> None:
        """Refresh the rows of the root and of every node of the verified tree from the target's top-k."""
        logits = verification.target_logits
        if logits is None or self._root is None:
            return
        tokens = [self._root, *self._tokens][: logits.shape[0]]
        self.update(tokens, logits[: len(tokens)])
