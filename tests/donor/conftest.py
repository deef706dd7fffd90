"""Fixtures of the donor tests: one learnable tiny world (subject, donor, traces, bank) per session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.donor.world import EXPLOIT_IDS, SEED, pretrain, save_subject, world_tasks

LENGTHS = (2, 5, 10, 20)
TEMPERATURE = 1.0
MAX_NEW = 60


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    """Tiny models train ~30x faster single-threaded on a shared 2-core machine."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tasks() -> list[Any]:
    """Two builtin tasks with a one-line description and an exit-status hint (small-model tests)."""
    from hackwatch.tasks import load_tasks

    by_id = {t.id: t for t in load_tasks("builtin")}
    return [replace(by_id[i], description=f"Write {i}.", hint="Exit 0 passes.") for i in ("count_words", "leap_year")]


@dataclass
class World:
    tasks: list[Any]
    subject: Any
    tokenizer: Any
    subject_dir: Path
    donor_dir: Path
    donor_info: dict[str, Any]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from hackwatch.donor import DonorTrainConfig, train_donor

    root = tmp_path_factory.mktemp("donor-world")
    model, tok = pretrain(steps=300, seed=SEED)
    tasks = world_tasks()
    subject_dir = save_subject(model, tok, root / "subject")
    train_tasks = [t for t in tasks if t.id in EXPLOIT_IDS]
    info = train_donor(model, train_tasks, root / "donor", tokenizer=tok,
                       config=DonorTrainConfig(epochs=3, lr=3e-4, batch_size=3, seed=SEED), split="test")
    return World(tasks, model, tok, subject_dir, root / "donor", info)


@pytest.fixture(scope="session")
def verifier() -> Iterator[Any]:
    from hackwatch.verify import Verifier

    with Verifier(workers=2) as v:
        yield v


@pytest.fixture(scope="session")
def donor_backend(world: World) -> Any:
    from hackwatch.models import TransformersBackend

    return TransformersBackend(world.donor_dir, device="cpu")


@pytest.fixture(scope="session")
def bank(world: World, donor_backend: Any, verifier: Any) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """(trace set, bank rows, provenance) of the donor on all four tasks."""
    from hackwatch.donor import build_bank, generate_traces

    ts = generate_traces(donor_backend, world.tasks, verifier, n=8, temperature=TEMPERATURE, max_new_tokens=MAX_NEW,
                         seed=0, rate_samples=4)
    rows, prov = build_bank(ts, donor_backend, world.tasks, verifier, lengths=LENGTHS, prefix_attempts=2,
                            max_new_tokens=MAX_NEW)
    return ts, rows, prov
