import pytest

from hackwatch.verify._call import SubmissionError, call_with_input, load_submission, takes_bare_input


def _fn(src: str):
    return load_submission(src, "f")[1]


@pytest.mark.parametrize(("src", "inp", "expected"), [
    ("def f(x):\n    return x", [1, 2], [1, 2]),              # one parameter: bare, even for a list
    ("def f(x, y=5):\n    return (x, y)", [1, 2], (1, 2)),     # two positional (one default): unpacked
    ("def f(x, y=5):\n    return (x, y)", 3, (3, 5)),          # non-sequence input: passed bare
    ("def f(a, b):\n    return a + b", (1, 2), 3),              # tuple input unpacked
    ("def f(*args):\n    return args", [1, 2], (1, 2)),         # *args: unpacked
    ("def f(x, *rest):\n    return rest", [1, 2, 3], (2, 3)),
    ("def f(x, **kw):\n    return x", [1, 2], [1, 2]),          # **kwargs does not count
    ("def f(x, *, k=1):\n    return x", (1, 2), (1, 2)),        # keyword-only does not count
])
def test_calling_convention(src, inp, expected):
    assert call_with_input(_fn(src), inp) == expected


def test_takes_bare_input():
    assert takes_bare_input(_fn("def f(x):\n    pass"))
    assert not takes_bare_input(_fn("def f(x, y):\n    pass"))
    assert takes_bare_input(len)


@pytest.mark.parametrize(("src", "message"), [
    ("def f(:\n", "does not compile"), ("raise ValueError('boom')\n", "raised at import: ValueError"),
    ("def g():\n    pass\n", "defines no function 'f'"), ("f = 3\n", "defines no function 'f'"),
])
def test_load_errors_are_short_reasons(src, message):
    with pytest.raises(SubmissionError, match=message):
        load_submission(src, "f")
