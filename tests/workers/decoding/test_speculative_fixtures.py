"""The front end's speculative fixtures have the fields of a real pipeline result (they were stale: no
``trace_limits``, no ``verify_cost_ratio``, ...), and the front end's form limits are the server's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.workers.decoding.speculative_fixtures import CASES, path
from tests.workers.decoding.test_pipeline import run
from workers.decoding.errors import DecodingInputError
from workers.decoding.tree_engine import MAX_NODES, TreeMethodConfig
from workers.pipelines import speculative

LIMITS = path("limits").parent.parent / "lib" / "speculativeLimits.json"


def shape(value: Any) -> Any:
    """The field names of a JSON value: a dict's keys (recursively), a list's elements merged; None for leaves
    and nulls (a null field says nothing about the fields it would have)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        merged: Any = None
        for item in value:
            merged = merge(merged, shape(item))
        return merged
    return None


def merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {key: merge(a.get(key), b.get(key)) for key in a.keys() | b.keys()}
    return a if b is None else b


def differences(fixture: Any, fresh: Any, where: str = "") -> list[str]:
    if not isinstance(fixture, dict) or not isinstance(fresh, dict):
        return []
    out = [f"{where}.{key}: missing in the fixture" for key in sorted(fresh.keys() - fixture.keys())]
    out += [f"{where}.{key}: no longer in a result" for key in sorted(fixture.keys() - fresh.keys())]
    for key in sorted(fixture.keys() & fresh.keys()):
        out += differences(fixture[key], fresh[key], f"{where}.{key}")
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_fixture_has_the_fields_of_a_real_pipeline_result(name: str) -> None:
    """Catches a stale fixture: every field a fresh result has (at every depth, list elements merged) must be in
    the fixture, and nothing else. The fresh run uses the same inputs on tiny models."""
    inputs = dict(CASES[name])
    if "model" in inputs["drafter"]:
        inputs["drafter"] = {**inputs["drafter"], "model": "same-vocab-draft"}
    inputs["prompt"] = "the cat sat on the mat. the cat sat on the"
    fresh, _ = run(**inputs)
    fixture = json.loads(path(name).read_text())
    assert differences(shape(fixture), shape(fresh)) == []


def test_the_shape_comparison_sees_a_missing_field() -> None:
    """The comparison itself can fail."""
    fresh = {"trace": {"steps": [{"a": 1}, {"a": 2, "b": {"c": 3}}]}, "trace_limits": {}}
    stale = {"trace": {"steps": [{"a": 1}]}}
    assert differences(shape(stale), shape(fresh)) == [
        ".trace_limits: missing in the fixture",
        ".trace.steps.b: missing in the fixture",
    ]


def limits() -> dict[str, Any]:
    return json.loads(LIMITS.read_text())


def accepts(check: Any, value: int) -> bool:
    try:
        check(value)
    except DecodingInputError:
        return False
    return True


def pipeline_check(key: str, drafter: dict[str, Any] | None = None) -> Any:
    def check(value: int) -> None:
        base: dict[str, Any] = {"target": "t", "prompt": "p", "drafter": {"kind": "prompt_lookup"}}
        if drafter is None:
            speculative.parse_inputs({**base, key: value})
        else:
            speculative.parse_inputs({**base, "drafter": {**drafter, key: value}})

    return check


def tree_check(kind: str, key: str, companions: dict[str, int]) -> Any:
    return lambda value: TreeMethodConfig(method=kind, **{**companions, key: value})  # type: ignore[arg-type]


def test_the_front_end_form_limits_are_the_servers() -> None:
    """Catches the form allowing what the server refuses (or the reverse): each limit in
    ``frontend/src/lib/speculativeLimits.json`` (which the form uses) is probed against the server's validation."""
    data = limits()
    assert data["node_limit"] == MAX_NODES
    checks: dict[tuple[str, str], Any] = {
        ("run", "max_new_tokens"): pipeline_check("max_new_tokens"),
        ("run", "gamma"): pipeline_check("gamma"),
        ("prompt_lookup", "max_ngram_size"): pipeline_check(
            "max_ngram_size", {"kind": "prompt_lookup", "min_ngram_size": 1}
        ),
        ("prompt_lookup", "min_ngram_size"): pipeline_check(
            "min_ngram_size", {"kind": "prompt_lookup", "max_ngram_size": 8}
        ),
        ("prompt_lookup", "num_pred_tokens"): pipeline_check("num_pred_tokens", {"kind": "prompt_lookup"}),
        ("multi_draft", "num_drafts"): tree_check("multi_draft", "num_drafts", {"draft_length": 1}),
        ("multi_draft", "draft_length"): tree_check("multi_draft", "draft_length", {"num_drafts": 1}),
        ("tree_dyspec", "node_budget"): tree_check("tree_dyspec", "node_budget", {}),
        ("tree_dyspec", "max_depth"): tree_check("tree_dyspec", "max_depth", {}),
        ("tree_dyspec", "max_children"): tree_check("tree_dyspec", "max_children", {}),
        ("token_recycling", "recycling_k"): tree_check("token_recycling", "recycling_k", {}),
    }
    listed = {(group, key) for group, fields in data["fields"].items() for key in fields}
    assert listed == set(checks)
    for (group, key), check in checks.items():
        low, high = data["fields"][group][key]
        assert accepts(check, low) and accepts(check, high), (group, key)
        assert not accepts(check, low - 1) and not accepts(check, high + 1), (group, key)
