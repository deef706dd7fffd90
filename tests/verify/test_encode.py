import math

import pytest

from hackwatch.verify import EncodeError, decode, encode, outputs_equal

ROUND_TRIP = [
    None, True, False, 0, -7, 10**40, 1.5, float("inf"), -float("inf"), "héllo", b"\x00\xff",
    [1, [2, (3, 4)]], (1,), (), {1: "a", (2, 3): [4], "x": None, False: 1.0}, {1, 2, (3,)},
    frozenset({"a", "b"}), 2 + 3j, {frozenset({1}): {b"k": (None,)}},
]


@pytest.mark.parametrize("value", ROUND_TRIP, ids=lambda v: f"{type(v).__name__}")
def test_round_trip_keeps_types(value):
    back = decode(encode(value))
    assert back == value
    assert type(back) is type(value)
    assert outputs_equal(value, back)


def test_nan_round_trips_and_compares_equal():
    back = decode(encode(float("nan")))
    assert math.isnan(back)
    assert outputs_equal(float("nan"), back)
    assert not outputs_equal(float("nan"), 0.0)


def test_dict_keys_keep_their_types():
    back = decode(encode({1: "int", (1, 2): "tuple"}))
    assert set(back) == {1, (1, 2)}
    assert not outputs_equal({1: "a"}, {"1": "a"})
    assert not outputs_equal({1: "a"}, {True: "a"})


class Sneaky(int):
    def __eq__(self, other):
        return True


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


@pytest.mark.parametrize("value", [Sneaky(3), AlwaysEqual(), [1, AlwaysEqual()], {AlwaysEqual()},
                                   {"k": Sneaky(1)}, object(), type("S", (str,), {})("x")],
                         ids=["int-subclass", "always-equal", "list-of-always-equal", "set-of-always-equal",
                              "dict-of-int-subclass", "object", "str-subclass"])
def test_refuses_anything_but_exact_builtins(value):
    with pytest.raises(EncodeError):
        encode(value)


def test_refuses_self_reference():
    loop: list = []
    loop.append(loop)
    with pytest.raises(EncodeError):
        encode(loop)


@pytest.mark.parametrize(("expected", "actual", "equal"), [
    (1, True, False), (True, 1, False), (0, False, False),
    ([1, 2], (1, 2), False), ((1, 2), [1, 2], False),
    (1.0, 1, True), (1, 1.0, False), (0.1 + 0.2, 0.3, True), (1.0, 1.0 + 1e-6, False),
    (1e20, 1e20 * (1 + 1e-12), True), (0.0, 1e-10, True), (0.0, 1e-8, False),
    (float("inf"), float("inf"), True), (float("inf"), 1e308, False), (1.0, True, False),
    ("4", 4, False), ({1, 2}, {2, 1}, True), ({1}, frozenset({1}), False), (None, 0, False),
    ([1.0, 2.0], [1.0, 2.0 + 1e-12], True), ({"a": [1]}, {"a": [1], "b": 2}, False),
])
def test_outputs_equal_is_exact_with_float_tolerance(expected, actual, equal):
    assert outputs_equal(expected, actual) is equal
