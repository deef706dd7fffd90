"""Only the optional C extension lives here; everything else is in pyproject.toml.

``hackwatch.sandbox._fastjob`` (a sandbox job's fork and set-up in C) is built where a C compiler
and the Python headers exist; without them the install still succeeds and the sandbox uses the
same steps in Python (``hackwatch.sandbox._job``), a few percent slower per job.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("hackwatch.sandbox._fastjob", ["src/hackwatch/sandbox/_fastjob.c"], optional=True)])
