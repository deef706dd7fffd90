"""The 92 legacy Djinn problems in ../shared: embedded verifiers run in the sandbox.

Figures and the reasons for the inconsistent ones are in docs/verification.md; the full
cross-null check is ``hackwatch tasks check ../shared/djinn-problems-legacy``.
"""

from collections import Counter

import pytest

from tests.helpers import LEGACY_DJINN, requires_shared_djinn


@pytest.fixture(scope="module")
def legacy_tasks():
    from hackwatch.tasks import load_tasks
    return load_tasks(str(LEGACY_DJINN))


@requires_shared_djinn
@pytest.mark.slow
def test_legacy_ground_truths_and_exploits(verifier, legacy_tasks):
    assert len(legacy_tasks) == 92 and all(t.insecure_verifier_code for t in legacy_tasks)
    pairs = [(t, code) for t in legacy_tasks for code in (t.ground_truth, t.exploit)]
    verdicts = verifier.verify_many(pairs)
    gt = Counter(v.label for v in verdicts[0::2])
    ex = Counter(v.label for v in verdicts[1::2])
    print("ground truth:", dict(gt), "reference exploit:", dict(ex))
    assert gt["error"] == 0 and ex["error"] == 0
    assert gt["correct"] == 92
    # 90 measured (88 before each secure test started from fresh state); 2 are not exploits here:
    # see docs/verification.md
    assert ex["exploit"] >= 89
