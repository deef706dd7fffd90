"""A sandbox worker's preload in the djinn mode: importing it imports Djinn's insecure verifiers.

Jobs cannot import them themselves when the Djinn checkout lies outside the interpreter's
installation (the filesystem view hides it), so the worker loads them before its jobs fork.
"""

from hackwatch.verify._djinn import load_all

load_all()
