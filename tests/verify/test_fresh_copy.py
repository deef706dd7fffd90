"""The secure runner (fresh-module path) copies each test input in C (pickle) instead of ``copy.deepcopy``: same copies."""

from __future__ import annotations

import copy
import math

import pytest

from hackwatch.verify._isolate import _fresh_copy

shared = [1, 2]


class Local:  # pickled by reference to this module: fine
    def __init__(self, v: int) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Local) and other.v == self.v


CASES = [
    3, -0.0, 1e308, "héllo", b"\x00\xff", None, True, (1, (2, [3])), [[1, 2], {"a": [3]}], {1, 2},
    frozenset({3}), bytearray(b"ab"), {"k": (1.5, [None])}, [shared, shared], Local(4), 2 ** 100, 1 + 2j,
]


@pytest.mark.parametrize("value", CASES, ids=lambda v: type(v).__name__)
def test_same_value_and_types_as_deepcopy(value):
    fresh, deep = _fresh_copy(value), copy.deepcopy(value)
    assert fresh == deep and type(fresh) is type(deep)
    assert repr(fresh) == repr(deep) or isinstance(value, Local)


def test_copies_are_independent_and_keep_sharing():
    value = [shared, shared, {"x": [1]}]
    fresh = _fresh_copy(value)
    fresh[0].append(9)
    fresh[2]["x"].append(2)
    assert value == [[1, 2], [1, 2], {"x": [1]}]
    assert fresh[0] is fresh[1] and fresh[1] == [1, 2, 9]  # sharing inside one input kept, as deepcopy does


def test_nan_stays_nan_and_unpicklable_values_fall_back_to_deepcopy():
    assert math.isnan(_fresh_copy(float("nan")))

    class Unpicklable:  # a local class: pickle refuses it, deepcopy copies it
        def __init__(self) -> None:
            self.items = [1]

    original = Unpicklable()
    copied = _fresh_copy(original)
    assert type(copied) is Unpicklable and copied.items == [1] and copied.items is not original.items
