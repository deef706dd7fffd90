"""Preloaded by sandbox workers only (never imported by the host): names reserved in ``sys.modules``.

``hackwatch.tasks`` holds expected outputs: it is blocked (``None``) in the worker itself, so no job
can import it, and the job's own check (``_runner._block_task_data``) finds it done. The modules a
job registers (the submission, the insecure verifiers' helper modules, a legacy verifier) get a
placeholder here: a forked job then replaces a value in ``sys.modules`` instead of inserting a key,
which can resize the dict and copy-on-write fault all of its pages.
"""

from __future__ import annotations

import sys

from hackwatch.verify._call import SUBMISSION_MODULE
from hackwatch.verify._insecure import HELPER_MODULE, MOCK_MODULE
from hackwatch.verify._runner import LEGACY_MODULE, TASK_PACKAGE

JOB_MODULES = (SUBMISSION_MODULE, LEGACY_MODULE, HELPER_MODULE, MOCK_MODULE)

if TASK_PACKAGE not in sys.modules:
    sys.modules[TASK_PACKAGE] = None  # type: ignore[assignment]
for _name in JOB_MODULES:
    sys.modules.setdefault(_name, None)  # type: ignore[arg-type]
