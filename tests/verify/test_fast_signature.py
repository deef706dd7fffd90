"""The secure runner's fast calling-convention check agrees with the inspect-based rule everywhere."""

from __future__ import annotations

import functools

import pytest

from hackwatch.verify._call import takes_bare_input
from hackwatch.verify._runner import _takes_bare_input


def one(x): ...
def one_default(x=1): ...
def two(a, b): ...
def two_one_default(a, b=2): ...
def star(*args): ...
def one_star(a, *args): ...
def kw_only(a, *, b): ...
def kwargs(a, **kw): ...
def none(): ...
def pos_only(a, /): ...
def pos_only_two(a, /, b): ...
async def coro(x): ...
def gen(x):
    yield x


@functools.wraps(two)
def wrapped_two(*args, **kwargs): ...


class Method:
    def one(self, x): ...

    def two(self, a, b): ...


class Callable1:
    def __init__(self, x): ...


CALLABLES = {
    "one": one, "one_default": one_default, "two": two, "two_one_default": two_one_default, "star": star,
    "one_star": one_star, "kw_only": kw_only, "kwargs": kwargs, "none": none, "pos_only": pos_only,
    "pos_only_two": pos_only_two, "coro": coro, "gen": gen, "wrapped_two": wrapped_two,
    "bound_one": Method().one, "bound_two": Method().two, "partial_two": functools.partial(two, 1),
    "class_one_arg": Callable1, "lambda_one": lambda x: x, "lambda_two": lambda a, b: a, "builtin_len": len,
    "builtin_max": max,
}


@pytest.mark.parametrize("name", list(CALLABLES))
def test_fast_check_agrees_with_inspect(name: str) -> None:
    fn = CALLABLES[name]
    try:
        expected = takes_bare_input(fn)
    except (TypeError, ValueError) as exc:  # builtins without a signature: both must refuse alike
        with pytest.raises(type(exc)):
            _takes_bare_input(fn)
        return
    assert _takes_bare_input(fn) == expected
