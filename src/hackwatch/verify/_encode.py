"""Type-tagged JSON transport of function outputs, and the exact comparison the host applies.

The secure verifier never sends expected outputs into the sandbox: the job calls the submitted
function on each input and sends back what it returned. Plain JSON would blur tuples and lists,
dict keys of non-string types, sets, bytes, ``nan``/``inf`` and ``bool`` versus ``int`` (Djinn's
verdicts change with its transport for exactly this reason), so every value travels as a tagged
pair. Only *exact* builtin types are encoded (``type(x) is int``, never a subclass): an object
with a rigged ``__eq__`` or an ``int`` subclass is refused inside the sandbox and never reaches a
comparison on the host.
"""

from __future__ import annotations

import base64
import json
import math
from itertools import repeat
from typing import Any

MAX_NODES = 1_000_000
"""Largest number of values one output may contain; bigger outputs are refused."""

FLOAT_REL_TOL = 1e-9
"""Relative tolerance used only when the expected value is a float."""
FLOAT_ABS_TOL = 1e-9
"""Absolute tolerance used only when the expected value is a float."""

_type = type  # bound at import, before any submission runs in the same process


class EncodeError(TypeError):
    """A value is not made only of exact builtin types (or is too large / self-referential)."""


def encode(value: Any) -> Any:
    """Encode ``value`` as JSON-compatible tagged data; raise :class:`EncodeError` on anything else."""
    budget = [MAX_NODES]
    try:
        return _enc(value, budget)
    except RecursionError:
        raise EncodeError("value is nested too deeply or refers to itself") from None


def _enc(v: Any, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise EncodeError(f"value has more than {MAX_NODES} elements")
    t = _type(v)
    if v is None:
        return ["n"]
    if t is bool:
        return ["b", bool(v)]
    if t is int:
        return ["i", int.__repr__(v)]
    if t is float:
        f = float.__float__(v)
        if math.isnan(f) or math.isinf(f):
            return ["f", float.__repr__(f)]
        return ["f", f]
    if t is str:
        return ["s", str.__str__(v)]
    if t is bytes:
        return ["y", base64.b64encode(v).decode("ascii")]
    if t is complex:
        return ["c", _enc(v.real, budget), _enc(v.imag, budget)]
    if t is list:
        return ["l", [_enc(x, budget) for x in list.__iter__(v)]]
    if t is tuple:
        return ["t", [_enc(x, budget) for x in tuple.__iter__(v)]]
    if t is dict:
        return ["d", [[_enc(k, budget), _enc(x, budget)] for k, x in dict.items(v)]]
    if t is set:
        return ["S", [_enc(x, budget) for x in set.__iter__(v)]]
    if t is frozenset:
        return ["F", [_enc(x, budget) for x in frozenset.__iter__(v)]]
    raise EncodeError(f"returned a {t.__module__}.{t.__qualname__}; only exact builtin types are accepted")


def decode(data: Any) -> Any:
    """Invert :func:`encode` (on the trusted host)."""
    tag = data[0]
    if tag == "n":
        return None
    if tag == "b":
        return bool(data[1])
    if tag == "i":
        return int(data[1])
    if tag == "f":
        return float(data[1])
    if tag == "s":
        return str(data[1])
    if tag == "y":
        return base64.b64decode(data[1])
    if tag == "c":
        return complex(decode(data[1]), decode(data[2]))
    if tag == "l":
        return [decode(x) for x in data[1]]
    if tag == "t":
        return tuple(decode(x) for x in data[1])
    if tag == "d":
        return {decode(k): decode(x) for k, x in data[1]}
    if tag == "S":
        return {decode(x) for x in data[1]}
    if tag == "F":
        return frozenset(decode(x) for x in data[1])
    raise ValueError(f"unknown value tag {tag!r} in sandbox output")


EXACT = "exact"
"""Comparison policy: types must match exactly (the default; hackwatch's own tasks keep tuples)."""
DJINN = "djinn"
"""Comparison policy of Djinn problems: a list equals a tuple with equal items, at any depth."""
COMPARISONS = (EXACT, DJINN)


def _key(v: Any) -> str:
    """Canonical text of a hashable value: equal only for values of identical types and contents."""
    return json.dumps(encode(v), sort_keys=True)


def outputs_equal(expected: Any, actual: Any, policy: str = EXACT, *, unordered: bool = False) -> bool:
    """Compare an expected and an actual output.

    Under :data:`EXACT` types must match exactly (``True`` is not ``1``, a tuple is not a list) with
    one allowance: where the expected value is a float, an int or float actual is accepted when
    ``math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)`` (``nan`` equals ``nan``;
    infinities must match). Dict keys and set members are compared exactly, without tolerance.

    :data:`DJINN` (Djinn problems, whose tests travel as JSON, where tuples become lists) differs in
    one way only: a list and a tuple with equal items are equal, at any depth (inside lists, tuples
    and dict values; dict keys and set members stay exact). ``unordered`` (a Djinn problem with
    ``order_dependent: false``) compares a top-level list or tuple as a multiset of items.
    """
    if unordered and _type(expected) in (list, tuple) and _type(actual) in (list, tuple):
        if policy == EXACT and _type(expected) is not _type(actual):
            return False
        return _same_items(expected, actual, policy)
    return _equal(expected, actual, policy)


def _same_items(expected: Any, actual: Any, policy: str) -> bool:
    """Multiset equality; float items within tolerance are matched one to one."""
    if len(expected) != len(actual):
        return False
    left = list(actual)
    for item in expected:
        for i, candidate in enumerate(left):
            if _equal(item, candidate, policy):
                del left[i]
                break
        else:
            return False
    return True


def _equal(expected: Any, actual: Any, policy: str) -> bool:
    te, ta = _type(expected), _type(actual)
    if te is float:
        if ta is not float and ta is not int:
            return False
        if math.isnan(expected):
            return ta is float and math.isnan(actual)
        if math.isinf(expected):
            return actual == expected
        return math.isclose(actual, expected, rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_ABS_TOL)
    if te is not ta and not (policy == DJINN and te in (list, tuple) and ta in (list, tuple)):
        return False
    if te is list or te is tuple:
        return len(expected) == len(actual) and all(map(_equal, expected, actual, repeat(policy)))
    if te is dict:
        if len(expected) != len(actual):
            return False
        try:
            act = {_key(k): v for k, v in actual.items()}
            return all(_key(k) in act and _equal(v, act[_key(k)], policy) for k, v in expected.items())
        except EncodeError:
            return False
    if te is set or te is frozenset:
        try:
            return {_key(x) for x in expected} == {_key(x) for x in actual}
        except EncodeError:
            return False
    if te is complex:
        return _equal(expected.real, actual.real, policy) and _equal(expected.imag, actual.imag, policy)
    return bool(expected == actual)
