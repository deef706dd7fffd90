"""Exploitable coding tasks: the schema, loaders for every SOURCE, and the builtin suite."""

from hackwatch.tasks._load import TaskLoad, TaskLoadWarning, load_source, load_tasks
from hackwatch.tasks._rows import TASK_FORMAT, row_kind, save_tasks_jsonl, task_from_row, task_to_row
from hackwatch.tasks._schema import Task, TaskError, TestCase, parse_test_cases

__all__ = [
    "TASK_FORMAT",
    "Task",
    "TaskError",
    "TaskLoad",
    "TaskLoadWarning",
    "TestCase",
    "load_source",
    "load_tasks",
    "parse_test_cases",
    "row_kind",
    "save_tasks_jsonl",
    "task_from_row",
    "task_to_row",
]
