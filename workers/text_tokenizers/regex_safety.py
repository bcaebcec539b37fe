"""Static checks of the regular expressions an uploaded tokenizer brings (pre-tokenizer ``Split``, ``Replace``).

The tokenizers library runs them with Oniguruma, a backtracking engine: a pattern such as ``(a|aa)+$`` takes
exponential time on a run of ``a`` and then panics ("retry-limit-in-match over"). This module refuses the two shapes
that cause exponential backtracking (a quantifier inside a repeated group, and alternatives that can start with the
same character inside a repeated group) and measures the shortest text a pattern can match (for ``Replace``
expansion). It reads patterns with Python's own regex parser after translating the Oniguruma-only escapes; a
pattern it cannot read is left to the time-limited probe at upload and the sandbox's limits at use.
"""

from __future__ import annotations

import importlib
import re
import warnings
from dataclasses import dataclass
from typing import Any

# Python's regex parser (the module behind ``re.compile``); private but stable within a Python minor version.
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

REPEAT_IS_UNBOUNDED_FROM = 10  # an outer repeat allowing this many iterations or more can blow up exponentially
_CONCRETE_CLASS_LIMIT = 4096  # character classes up to this many code points are compared exactly

_ONIG_TO_PYTHON = [
    (re.compile(r"\\[pP]\{\^?[A-Za-z_ ]+\}|\\[pP][A-Za-z]"), lambda m: "\\w" if m.group(0)[1] == "p" else "\\W"),
    (re.compile(r"\\x\{([0-9A-Fa-f]{1,8})\}"), lambda m: f"\\U{int(m.group(1), 16):08X}"),
    (re.compile(r"\(\?<(?![=!])"), lambda m: "(?P<"),
    (re.compile(r"\\h"), lambda m: "[0-9A-Fa-f]"),
    (re.compile(r"\\H"), lambda m: "[^0-9A-Fa-f]"),
]


@dataclass(frozen=True)
class RegexProblem:
    """Why a pattern is refused, phrased for the person who wrote it."""

    reason: str


def _parse(pattern: str) -> Any | None:
    translated = pattern
    for finder, replacement in _ONIG_TO_PYTHON:
        translated = finder.sub(replacement, translated)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "possible nested set" for POSIX brackets
        try:
            return _parser.parse(translated)
        except (re.error, RecursionError, OverflowError, ValueError):
            return None


def min_match_length(pattern: str) -> int:
    """Fewest characters ``pattern`` can match (0 when unknown: the safe assumption for expansion bounds)."""
    parsed = _parse(pattern)
    return _min_width(list(parsed)) if parsed is not None else 0


def find_problem(pattern: str) -> RegexProblem | None:
    """A reason to refuse ``pattern``, or None when no exponential-backtracking shape is found (or it cannot be read)."""
    parsed = _parse(pattern)
    if parsed is None:
        return None
    try:
        return _scan(list(parsed), outer_repeat=False)
    except RecursionError:
        return RegexProblem("it is nested too deeply to check")


def _is_repeat(op: Any) -> bool:
    return op in (_c.MAX_REPEAT, _c.MIN_REPEAT)


def _scan(items: list[tuple[Any, Any]], *, outer_repeat: bool) -> RegexProblem | None:
    for op, av in items:
        problem: RegexProblem | None = None
        if _is_repeat(op):
            low, high, body = av
            if outer_repeat and high > 1 and _min_width(list(body)) > 0:
                return RegexProblem(
                    "it repeats a group that itself contains a repeat (like `(a+)+`), which backtracks exponentially"
                )
            repeats_a_lot = high == _c.MAXREPEAT or high >= REPEAT_IS_UNBOUNDED_FROM
            problem = _scan(list(body), outer_repeat=outer_repeat or repeats_a_lot)
        elif op == _c.POSSESSIVE_REPEAT:
            problem = _scan(list(av[2]), outer_repeat=False)  # a possessive repeat never gives characters back
        elif op == _c.ATOMIC_GROUP:
            problem = _scan(list(av), outer_repeat=False)
        elif op == _c.SUBPATTERN:
            problem = _scan(list(av[3]), outer_repeat=outer_repeat)
        elif op == _c.BRANCH:
            branches = [list(b) for b in av[1]]
            if outer_repeat and _branches_overlap(branches):
                return RegexProblem(
                    "inside a repeated group it has alternatives that can match the same text (like `(a|aa)+`), "
                    "which backtracks exponentially"
                )
            for branch in branches:
                problem = problem or _scan(branch, outer_repeat=outer_repeat)
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            problem = _scan(list(av[1]), outer_repeat=outer_repeat)
        if problem is not None:
            return problem
    return None


def _branches_overlap(branches: list[list[tuple[Any, Any]]]) -> bool:
    firsts = []
    for branch in branches:
        if _min_width(branch) == 0:
            return True  # an alternative that matches nothing lets the repeat loop without progress
        firsts.append(_first_chars(branch))
    for i, left in enumerate(firsts):
        for right in firsts[i + 1 :]:
            if left is None or right is None or left & right:
                return True
    return False


def _first_chars(items: list[tuple[Any, Any]]) -> set[int] | None:
    """Code points a match can start with; None when that set is too wide or unknown to compare."""
    found: set[int] = set()
    for op, av in items:
        first = _first_of(op, av)
        if first is None:
            return None
        found |= first
        if _min_width([(op, av)]) > 0:
            return found
    return found


def _first_of(op: Any, av: Any) -> set[int] | None:
    if op == _c.LITERAL:
        char = chr(av)
        return {av, ord(char.lower()[0]), ord(char.upper()[0])}
    if op == _c.IN:
        return _class_chars(av)
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return set()
    if op == _c.SUBPATTERN:
        return _first_chars(list(av[3]))
    if op == _c.ATOMIC_GROUP:
        return _first_chars(list(av))
    if _is_repeat(op) or op == _c.POSSESSIVE_REPEAT:
        return _first_chars(list(av[2]))
    if op == _c.BRANCH:
        union: set[int] = set()
        for branch in av[1]:
            first = _first_chars(list(branch))
            if first is None:
                return None
            union |= first
        return union
    return None


def _class_chars(items: list[tuple[Any, Any]]) -> set[int] | None:
    chars: set[int] = set()
    for op, av in items:
        if op == _c.LITERAL:
            chars.add(av)
        elif op == _c.RANGE and av[1] - av[0] < _CONCRETE_CLASS_LIMIT:
            chars.update(range(av[0], av[1] + 1))
        else:  # negation, categories (\w, \s, \p{...}), huge ranges
            return None
        if len(chars) > _CONCRETE_CLASS_LIMIT:
            return None
    return chars


def _min_width(items: list[tuple[Any, Any]]) -> int:
    total = 0
    for op, av in items:
        if op in (_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN):
            total += 1
        elif op == _c.SUBPATTERN:
            total += _min_width(list(av[3]))
        elif op == _c.ATOMIC_GROUP:
            total += _min_width(list(av))
        elif _is_repeat(op) or op == _c.POSSESSIVE_REPEAT:
            total += av[0] * _min_width(list(av[2]))
        elif op == _c.BRANCH:
            total += min(_min_width(list(b)) for b in av[1])
        # anchors, look-arounds and back references may match nothing
    return total
