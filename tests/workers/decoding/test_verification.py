"""Multi-draft verification rules: losslessness, closed-form acceptance, and the optimal-acceptance bound.

Statistical bound used throughout (toy vocabulary of K = 6 tokens, N = 200,000 samples per rule). For the empirical
distribution p̂ of N i.i.d. draws from p, E[TV(p̂, p)] = ½ Σ E|p̂ᵢ − pᵢ| ≤ ½ Σ sqrt(pᵢ(1 − pᵢ)/N) ≤ ½ sqrt(K/N)
(Cauchy–Schwarz) = 0.0027, and TV changes by at most 1/N when one sample changes, so McDiarmid gives
P(TV ≥ E[TV] + t) ≤ exp(−2Nt²) = exp(−10) ≈ 5e-5 for t = 0.005. Hence a lossless rule passes TV < 0.01 except with
probability < 1e-4, while a rule off by 0.01 in TV fails. Acceptance rates have standard deviation ≤ 0.5/sqrt(N) =
0.0011, so the 0.01 tolerance on closed forms is 9 standard deviations.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

import pytest
import torch

from workers.decoding import verification as V

VOCAB = 6
N = 200_000
TV_BOUND = 0.01
ACC_TOL = 0.01


def dirichlet(gen: torch.Generator, size: int = VOCAB, alpha: float = 1.0) -> torch.Tensor:
    return torch._sample_dirichlet(torch.full((size,), alpha, dtype=torch.float64), generator=gen)


def toy_pair(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return dirichlet(gen), dirichlet(gen)


PAIRS = {"seed0": toy_pair(0), "seed7": toy_pair(7)}


def tv(samples: torch.Tensor, p: torch.Tensor) -> float:
    empirical = torch.bincount(samples, minlength=p.numel()).double() / samples.numel()
    return 0.5 * float((empirical - p).abs().sum())


def run_rule(rule: str, p: torch.Tensor, q: torch.Tensor, k: int, seed: int) -> V.BatchVerification:
    gen = torch.Generator().manual_seed(seed)
    if rule == "rrs":
        return V.rrs_batch(p, q, V.sample_iid(q.expand(N, -1), k, gen), gen)
    if rule == "rsd":
        return V.rsd_batch(p, q, V.sample_without_replacement(q.expand(N, -1), k, gen), gen)
    if rule == "spectr":
        return V.spectr_batch(p, q, V.sample_iid(q.expand(N, -1), k, gen), gen)
    if rule == "deterministic":
        return V.deterministic_batch(p, q.topk(k).indices.expand(N, -1), gen)
    raise AssertionError(rule)


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("rule", ["rrs", "rsd", "spectr", "deterministic"])
def test_rule_is_lossless(rule: str, k: int, pair: str) -> None:
    p, q = PAIRS[pair]
    out = run_rule(rule, p, q, k, seed=100 + k)
    assert tv(out.token, p) < TV_BOUND
    # The accepted draft is the emitted token, and only trials that ran carry a probability and a draw.
    took = out.accepted >= 0
    assert bool((out.accept_prob[:, 0] >= 0).all())
    ran = ~out.accept_prob.isnan()
    assert bool((ran == ~out.uniform.isnan()).all())
    assert bool(out.residual_uniform[took].isnan().all()) and not bool(out.residual_uniform[~took].isnan().any())


@pytest.mark.parametrize("pair", list(PAIRS))
def test_single_draft_acceptance_is_overlap(pair: str) -> None:
    p, q = PAIRS[pair]
    out = run_rule("rrs", p, q, 1, seed=1)
    measured = float((out.accepted >= 0).double().mean())
    assert abs(measured - float(V.overlap(p, q))) < ACC_TOL
    assert V.optimal_acceptance_iid(p, q, 1) == pytest.approx(float(V.overlap(p, q)), abs=1e-12)  # alpha* = 1 - TV


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("k", [2, 3, 4])
def test_spectr_acceptance_matches_closed_form(pair: str, k: int) -> None:
    p, q = PAIRS[pair]
    rho = float(V.spectr_rho(p, q, k))
    beta = float(V.spectr_beta(p[None], q[None], torch.tensor([rho], dtype=torch.float64)))
    assert 1.0 <= rho <= k
    assert 1 - (1 - beta) ** k == pytest.approx(rho * beta, abs=1e-9)  # rho* solves the K-SEQ equation
    out = run_rule("spectr", p, q, k, seed=2)
    measured = float((out.accepted >= 0).double().mean())
    assert abs(measured - float(V.spectr_acceptance(p, q, k))) < ACC_TOL
    assert out.rho is not None and torch.allclose(out.rho, torch.tensor(rho, dtype=torch.float64))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_deterministic_acceptance_is_target_mass_of_the_set(k: int) -> None:
    p, q = PAIRS["seed0"]
    out = run_rule("deterministic", p, q, k, seed=3)
    measured = float((out.accepted >= 0).double().mean())
    assert abs(measured - float(p[q.topk(k).indices].sum())) < ACC_TOL


def test_greedy_rule_accepts_the_argmax_draft() -> None:
    p = torch.tensor([0.1, 0.6, 0.3])
    result = V.verify("greedy", p, None, [2, 1, 1])
    assert (result.token, result.accepted_index, result.source) == (1, 1, "greedy")
    assert result.accept_probs == (0.0, 1.0)
    rejected = V.verify("greedy", p, None, [0, 2])
    assert rejected.token == 1 and rejected.accepted_index is None


def test_single_position_verify_reports_the_trace_fields() -> None:
    p, q = PAIRS["seed0"]
    gen = torch.Generator().manual_seed(5)
    seen_residual = seen_accept = False
    for _ in range(200):
        drafts = V.sample_iid(q, 3, gen)
        result = V.verify("rrs", p, q, drafts, gen, keep_residuals=True)
        assert len(result.accept_probs) == len(result.draws) >= 1
        if result.accepted_index is None:
            seen_residual = True
            assert result.source == "residual" and result.residual_draw is not None and result.residual is not None
            assert len(result.residuals) == 3 and result.residual[result.token] > 0
        else:
            seen_accept = True
            assert result.token == result.drafts[result.accepted_index]
            assert len(result.accept_probs) == result.accepted_index + 1
            assert result.draws[-1] < result.accept_probs[-1]
    assert seen_residual and seen_accept


# ----------------------------------------------------------------------------------------------------------------
# the optimal acceptance bound


def max_flow(capacity: list[list[float]], source: int, sink: int) -> float:
    """Edmonds–Karp on a dense float capacity matrix (test-only primal solver)."""
    n = len(capacity)
    residual = [row[:] for row in capacity]
    total = 0.0
    while True:
        parent = [-1] * n
        parent[source] = source
        queue = deque([source])
        while queue and parent[sink] < 0:
            u = queue.popleft()
            for v in range(n):
                if parent[v] < 0 and residual[u][v] > 1e-15:
                    parent[v] = u
                    queue.append(v)
        if parent[sink] < 0:
            return total
        flow = math.inf
        v = sink
        while v != source:
            flow = min(flow, residual[parent[v]][v])
            v = parent[v]
        v = sink
        while v != source:
            residual[parent[v]][v] -= flow
            residual[v][parent[v]] += flow
            v = parent[v]
        total += flow


def primal_optimal_acceptance(p: torch.Tensor, set_probs: dict[frozenset[int], float]) -> float:
    """The LP itself: the largest P(target token in draft set) over couplings of the draft-set law and p, as a max
    flow source -> draft set (capacity P(S)) -> its tokens -> sink (capacity p(x))."""
    sets = [s for s, v in set_probs.items() if v > 0]
    vocab = p.numel()
    n = 2 + len(sets) + vocab
    cap = [[0.0] * n for _ in range(n)]
    for i, s in enumerate(sets):
        cap[0][2 + i] = set_probs[s]
        for x in s:
            cap[2 + i][2 + len(sets) + x] = 2.0
    for x in range(vocab):
        cap[2 + len(sets) + x][1] = float(p[x])
    return max_flow(cap, 0, 1)


def iid_set_probs(q: torch.Tensor, k: int) -> dict[frozenset[int], float]:
    out: dict[frozenset[int], float] = {}
    qv = q.tolist()
    for seq in itertools.product(range(len(qv)), repeat=k):
        key = frozenset(seq)
        out[key] = out.get(key, 0.0) + math.prod(qv[i] for i in seq)
    return out


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("k", [2, 3])
def test_subset_dual_equals_the_primal_lp(pair: str, k: int) -> None:
    p, q = PAIRS[pair]
    iid = V.optimal_acceptance_exact(p, q, k)
    assert V.optimal_acceptance_iid(p, q, k) == pytest.approx(iid, abs=1e-12)
    assert primal_optimal_acceptance(p, iid_set_probs(q, k)) == pytest.approx(iid, abs=1e-9)
    wor = V.optimal_acceptance_exact(p, q, k, replacement=False)
    assert primal_optimal_acceptance(p, V.without_replacement_set_probs(q, k)) == pytest.approx(wor, abs=1e-9)


def test_sorted_prefix_search_is_exact_on_random_instances() -> None:
    """The O(V log V) level-set search equals enumeration of all 2^V subsets, including zeros and ties."""
    gen = torch.Generator().manual_seed(11)
    for trial in range(150):
        vocab = 2 + trial % 9
        p = dirichlet(gen, vocab, alpha=0.3 + (trial % 3))
        q = dirichlet(gen, vocab, alpha=0.5)
        if trial % 7 == 0:
            q[: vocab // 2] = p[: vocab // 2]  # ties in p/q
        if trial % 5 == 0 and vocab > 3:
            p[0] = 0.0
            q[vocab - 1] = 0.0
        p, q = p / p.sum(), q / q.sum()
        k = 1 + trial % 4
        assert V.optimal_acceptance_iid(p, q, k) == pytest.approx(V.optimal_acceptance_exact(p, q, k), abs=1e-12)


def test_top_m_restriction_is_exact_when_it_covers_the_support_and_an_upper_bound_otherwise() -> None:
    gen = torch.Generator().manual_seed(12)
    p = torch.zeros(14, dtype=torch.float64)
    p[[1, 4, 6, 9, 13]] = dirichlet(gen, 5)
    q = dirichlet(gen, 14)
    for k in (1, 2, 3, 5):
        exact = V.optimal_acceptance_exact(p, q, k)
        assert V.optimal_acceptance_iid(p, q, k, top_m=5) == pytest.approx(exact, abs=1e-12)
        for m in (1, 2, 3, 4):
            assert V.optimal_acceptance_iid(p, q, k, top_m=m) >= exact - 1e-12


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_bound_dominates_every_rule(pair: str, k: int) -> None:
    p, q = PAIRS[pair]
    iid_bound = V.optimal_acceptance_iid(p, q, k)
    wor_bound = V.optimal_acceptance_exact(p, q, k, replacement=False)
    noise = 4 * 0.5 / math.sqrt(N)
    for rule, bound in (("rrs", iid_bound), ("spectr", iid_bound), ("rsd", wor_bound)):
        measured = float((run_rule(rule, p, q, k, seed=9).accepted >= 0).double().mean())
        assert measured <= bound + noise, (rule, measured, bound)
    assert float(V.spectr_acceptance(p, q, k)) <= iid_bound + 1e-12
    assert iid_bound <= wor_bound + 1e-12  # without replacement can only help (Hu et al.)
