"""Exploitable coding tasks: the schema, loaders for every SOURCE, and the builtin suite."""

from hackwatch.tasks._schema import Task, TaskError, TestCase, parse_test_cases

__all__ = ["Task", "TaskError", "TestCase", "parse_test_cases"]
