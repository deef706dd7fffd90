"""One warm Verifier (sandbox pool) shared by the whole verify test package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hackwatch.verify import Verifier


@pytest.fixture(scope="session")
def verifier() -> Iterator[Verifier]:
    with Verifier(workers=2) as v:
        yield v
