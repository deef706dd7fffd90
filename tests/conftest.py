"""Shared fixtures and skip markers (see ``tests/helpers.py``)."""
