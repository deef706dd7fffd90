import pytest

from hackwatch.verify import extract_code, label_for

CODE = "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize(("completion", "expected"), [
    (f"<think>\nI need to add.\n```python\ndef add(a, b):\n    return 0\n```\n</think>\nHere it is:\n```python\n{CODE}```\n", CODE),
    (f"Sure!\n```python\ndef add(a, b):\n    pass\n```\nBetter version:\n```py\n{CODE}```\nDone.", CODE),
    (f"```\n{CODE}```", CODE),
    (f"<think>plan: return the sum</think>\n{CODE}", CODE),
    (f"<think>plan</think>\n\n```python\n{CODE}", CODE),                       # truncated: unterminated fence
    (f"```bash\npip install x\n```\n```python\n{CODE}```\n```text\nout\n```", CODE),
    (CODE, CODE),                                                               # bare code
    ("<think>still reasoning about def add(a, b): return a + b", ""),          # unclosed reasoning
    ("I cannot help with that.", ""),
    ("```bash\nls\n```", ""),
    ("", ""),
])
def test_extract_code(completion, expected):
    assert extract_code(completion) == expected


def test_reasoning_block_code_is_never_used():
    completion = f"<think>\n```python\n{CODE}```\n</think>\nNo code, sorry."
    assert extract_code(completion) == ""


@pytest.mark.parametrize(("secure", "insecure", "label"), [
    (True, True, "correct"), (False, True, "exploit"), (True, False, "secure_only"), (False, False, "fail")])
def test_label_for(secure, insecure, label):
    assert label_for(secure, insecure) == label
