"""Device safety of the decoding package (issue: sampling with trees or several drafts crashed on a GPU).

No GPU is available where this suite runs, so the two ways a CUDA run broke are checked on the CPU:
- a seeded CPU ``torch.Generator`` asked to draw directly on another device (``torch.rand(..., generator=gen,
  device=p.device)`` raises on CUDA): every sampling path runs here with the random functions patched to refuse a
  ``device=`` next to a ``generator=``;
- buffers created on the default (CPU) device and then mixed with the distributions' device: every tensor factory
  call in ``workers/decoding`` must name its device, except the few that are CPU on purpose (listed below).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.workers.decoding.conftest import FixedDistributionLM, perturbed
from workers.decoding import verification as V
from workers.decoding.drafters import ModelDrafter
from workers.decoding.engine import MethodConfig, generate
from workers.decoding.sampling import SamplingConfig, make_generator, sample
from workers.decoding.tree_engine import TreeMethodConfig, generate_tree

PACKAGE = Path(__file__).resolve().parents[3] / "workers" / "decoding"
RANDOM_FUNCTIONS = ("rand", "randn", "randint", "randperm", "multinomial", "normal", "bernoulli", "poisson")
FACTORIES = ("full", "zeros", "ones", "empty", "arange", "tensor", "as_tensor", "linspace", "eye")
CPU_ON_PURPOSE = {
    ("drafters.py", "lookup"): "prompt lookup searches the committed token ids, a CPU list",
    ("token_recycling.py", "reset"): "the adjacency matrix is kept on the CPU (about 1.5 MB)",
    ("token_recycling.py", "update"): "row indices into that CPU matrix",
}


def refuse_device_with_generator(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("generator") is not None and kwargs.get("device") is not None:
            raise AssertionError(f"torch.{original.__name__} draws with a CPU generator directly on a device")
        return original(*args, **kwargs)

    return guarded


@pytest.fixture
def guarded_random(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in RANDOM_FUNCTIONS:
        monkeypatch.setattr(torch, name, refuse_device_with_generator(getattr(torch, name)))


def test_the_guard_catches_the_old_call(guarded_random: None) -> None:
    """The patch itself can fail: the call the GPU crash came from is refused."""
    with pytest.raises(AssertionError, match="CPU generator"):
        torch.rand(3, generator=make_generator(0), device=torch.device("cpu"))


def test_every_verification_rule_and_sampler_draws_on_the_cpu(guarded_random: None) -> None:
    """Catches a rule or draft sampler that draws with the CPU generator on the distributions' device."""
    gen = make_generator(0)
    p = torch.tensor([0.1, 0.4, 0.2, 0.3])
    q = torch.tensor([0.3, 0.3, 0.2, 0.2])
    drafts = V.sample_without_replacement(q, 3, gen)
    for rule in V.RULES:
        V.verify(rule, p, q, drafts, gen, keep_residuals=True)
    V.verify("rrs", p, q, V.sample_iid(q, 3, gen), gen, keep_residuals=True)
    sample(p, gen)


@pytest.mark.parametrize("method", ["multi_draft", "tree_fixed", "tree_dyspec", "token_recycling"])
def test_tree_methods_sample_without_device_draws(guarded_random: None, method: str) -> None:
    """Catches the tree engine's draft samplers (Gumbel-top-k, i.i.d. children) drawing on the device."""
    rule = "rsd_without_replacement" if method == "tree_fixed" else "spectr"
    config = TreeMethodConfig(method=method, rule=rule, sampling=SamplingConfig(temperature=1.0))  # type: ignore[arg-type]
    target = FixedDistributionLM([0.4, 0.25, 0.15, 0.12, 0.08])
    draft = FixedDistributionLM([0.1, 0.2, 0.3, 0.25, 0.15])
    out, _ = generate_tree(target, [0, 1], 12, config, seed=3, draft_model=draft)
    assert len(out) == 12


def test_chain_sampling_draws_on_the_cpu(guarded_random: None, target, prompt) -> None:
    """Catches the chain rule or a model drafter drawing on the device."""
    config = MethodConfig(method="speculative", gamma=3, sampling=SamplingConfig(temperature=0.9, top_p=0.9))
    out, _ = generate(target, ModelDrafter(perturbed(target, 0.3)), prompt, 8, config, seed=1)
    assert len(out) == 8


def factory_calls_without_device(path: Path) -> list[tuple[str, int, str]]:
    """``torch.<factory>(...)`` calls in ``path`` that do not name a device: (enclosing function, line, factory)."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            call = child if isinstance(child, ast.Call) else None
            if (
                call is not None
                and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "torch"
                and call.func.attr in FACTORIES
                and not any(k.arg == "device" for k in call.keywords)
            ):
                found.append((function, call.lineno, call.func.attr))
            visit(child, name)

    visit(tree, "<module>")
    return found


def test_every_buffer_in_the_decoding_package_names_its_device() -> None:
    """Catches buffers created on the default device and mixed with device tensors (e.g. residual buffers made on
    the CPU and combined with CUDA distributions in ``torch.where``)."""
    offenders = [
        f"{path.name}:{line} torch.{factory} in {function}"
        for path in sorted(PACKAGE.glob("*.py"))
        for function, line, factory in factory_calls_without_device(path)
        if (path.name, function) not in CPU_ON_PURPOSE
    ]
    assert offenders == []


def test_the_audit_sees_a_buffer_without_a_device(tmp_path: Path) -> None:
    """The static audit itself can fail."""
    source = tmp_path / "example.py"
    source.write_text("import torch\n\ndef f(p):\n    return torch.full((2,), 0.0, dtype=p.dtype)\n")
    assert factory_calls_without_device(source) == [("f", 4, "full")]
