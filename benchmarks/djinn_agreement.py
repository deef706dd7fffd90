"""Agreement of hackwatch's insecure verifiers with Djinn's shared ones, type by type.

    python benchmarks/djinn_agreement.py --djinn /path/to/djinn-checkout [--rows FILE] [--legacy DIR]
        [--types T1,T2] [--workers N] [--json OUT] [--markdown]

For every (problem, submission) pair the task's insecure check runs twice in hackwatch's sandbox,
once with hackwatch's verifier for the task's exploit type and once with Djinn's shared verifier
module for that type (``Verifier(verifiers="djinn")``), on the same insecure tests. Pairs:

* ``builtin``: hackwatch's builtin tasks with their ground truth, reference exploit and nulls;
* ``djinn-ref``: Djinn's reference exploit of each type (``_references/<type>/ref_01/exploit.py``),
  applied to the builtin tasks of that type where it fits: its solution function renamed to the
  task's, its parameters renamed position by position when the arities match (or left alone when its
  body does not read them, e.g. ``*args, **kwargs``); refs that fit no task are reported;
* ``rows``: a Djinn dataset rows file (current schema; ground truth, exploit, nulls);
* ``legacy``: a directory of old-schema Djinn problems, each converted to the current schema (its
  embedded verifier dropped, its exploit type's shared verifier used, its tests as insecure tests),
  as Djinn's current problems are.

Prints per type: pairs, both accept, both reject, only Djinn, only hackwatch, agreement; then each
disagreement (source, task, role, both reasons). Nothing of Djinn is copied: its checkout is put on
``sys.path`` and its modules run as they are. Needs Linux (the sandbox), about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

COLUMNS = ("pairs", "both_accept", "both_reject", "only_djinn", "only_hackwatch")


@dataclasses.dataclass(frozen=True)
class Pair:
    """One (problem, submission) pair: where it came from and the code."""

    source: str
    task: Any
    role: str
    code: str


def _positional(fn: ast.FunctionDef) -> list[str]:
    return [a.arg for a in fn.args.posonlyargs + fn.args.args]


def _solution_def(tree: ast.Module, name: str | None = None) -> ast.FunctionDef | None:
    """The function a reference exploit submits: ``name``, or its last public top-level function."""
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if name is not None:
        return next((d for d in defs if d.name == name), None)
    public = [d for d in defs if not d.name.startswith("_") and d.name != "validate_submission"]
    return public[-1] if public else None


class _Rename(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.names.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.names.get(node.name, node.name)
        self.generic_visit(node)
        return node


def adapt_exploit(source: str, ground_truth: str, function_name: str) -> str | None:
    """Djinn's reference exploit ``source`` rewritten for a task, or ``None`` where it does not fit."""
    tree, target = ast.parse(source), ast.parse(ground_truth)
    ref, gt = _solution_def(tree), _solution_def(target, function_name)
    if ref is None or gt is None:
        return None
    ref_params, gt_params = _positional(ref), _positional(gt)
    used = {n.id for n in ast.walk(ref) if isinstance(n, ast.Name)}
    names = {ref.name: function_name}
    if len(ref_params) == len(gt_params):
        names.update({a: b for a, b in zip(ref_params, gt_params, strict=True) if a != b})
    elif used.intersection(ref_params):
        return None  # the body reads parameters the task's function does not have
    elif ref_params:  # (a ref taking only *args/**kwargs keeps them: any task can call it)
        ref.args.posonlyargs, ref.args.args, ref.args.defaults = [], [ast.arg(a) for a in gt_params], []
    clash = (set(names.values()) - set(names)) & {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if clash:
        return None  # a new name would capture one the exploit already uses
    return ast.unparse(_Rename(names).visit(tree)) + "\n"


def reference_exploits(djinn: Path) -> dict[str, str]:
    """Exploit type -> Djinn's first reference exploit for it."""
    base = djinn / "djinn" / "verifiers" / "insecure" / "_references"
    return {d.name: (d / "ref_01" / "exploit.py").read_text() for d in sorted(base.iterdir())
            if (d / "ref_01" / "exploit.py").is_file()}


def _with_code(task: Any, source: str, roles: bool = True) -> list[Pair]:
    pairs = [Pair(source, task, "ground_truth", task.ground_truth), Pair(source, task, "exploit", task.exploit)]
    pairs += [Pair(source, task, f"null_{k}", code) for k, code in enumerate(task.nulls)]
    return [p for p in pairs if p.code]


def as_current_schema(task: Any) -> Any:
    """A legacy problem as Djinn's current schema has it: the shared verifier of its type, its tests as
    the insecure tests (where it names none).
    """
    insecure = task.insecure_tests if task.insecure_tests else task.secure_tests
    return dataclasses.replace(task, insecure_verifier_code=None, insecure_tests=insecure)


def collect(djinn: Path, rows: Path | None, legacy: Path | None, types: set[str] | None) -> tuple[list[Pair], list[str]]:
    """Every pair to check, and one note per Djinn reference exploit that fit no builtin task."""
    from hackwatch.catalogue import EXPLOIT_TYPE_NAMES
    from hackwatch.tasks import load_tasks

    def wanted(task: Any) -> bool:
        return task.exploit_type in EXPLOIT_TYPE_NAMES and (types is None or task.exploit_type in types)

    builtin = [t for t in load_tasks("builtin") if wanted(t)]
    pairs = [p for t in builtin for p in _with_code(t, "builtin")]
    notes = []
    for etype, source in reference_exploits(djinn).items():
        if types is not None and etype not in types:
            continue
        fitted = 0
        for task in (t for t in builtin if t.exploit_type == etype):
            code = adapt_exploit(source, task.ground_truth, task.function_name)
            if code is not None:
                pairs.append(Pair("djinn-ref", task, "djinn_ref_01", code))
                fitted += 1
        if not fitted:
            notes.append(f"djinn-ref {etype}: fits none of the builtin tasks of its type (signature)")
    if rows is not None:
        pairs += [p for t in load_tasks(str(rows)) if wanted(t) and not t.insecure_verifier_code
                  for p in _with_code(t, "rows")]
    if legacy is not None:
        pairs += [p for t in load_tasks(str(legacy)) if wanted(t) for p in _with_code(as_current_schema(t), "legacy")]
    return pairs, notes


def run(pairs: Sequence[Pair], workers: int) -> list[tuple[tuple[bool, str], tuple[bool, str]]]:
    """(hackwatch, Djinn) insecure verdicts of every pair, both run in the sandbox, interleaved."""
    from hackwatch.verify import Verifier
    from hackwatch.verify._verifier import djinn_payload, insecure_payload, judge_insecure

    jobs: list[dict[str, Any]] = []
    for p in pairs:
        jobs += [insecure_payload(p.task, p.code), djinn_payload(p.task, p.code)]
    out = []
    with Verifier(workers=workers, verifiers="djinn") as verifier:
        results = iter(verifier.run_checks(jobs))
        for p in pairs:
            checks = []
            for djinn in (False, True):
                res = next(results)
                if isinstance(res, Exception):
                    raise RuntimeError(f"sandbox unavailable: {res}")
                passed, reason, _, _ = judge_insecure(p.task, res, djinn=djinn)
                checks.append((bool(passed), reason))
            out.append((checks[0], checks[1]))
    return out


def tabulate(pairs: Sequence[Pair], verdicts: Sequence[tuple[tuple[bool, str], tuple[bool, str]]]
             ) -> dict[str, Counter[str]]:
    """Per exploit type: the counts of :data:`COLUMNS`."""
    table: dict[str, Counter[str]] = {}
    for p, ((hw, _), (dj, _)) in zip(pairs, verdicts, strict=True):
        row = table.setdefault(p.task.exploit_type, Counter())
        row["pairs"] += 1
        row["both_accept" if hw and dj else "both_reject" if not hw and not dj
            else "only_djinn" if dj else "only_hackwatch"] += 1
    return dict(sorted(table.items()))


def agreement(row: Counter[str]) -> float:
    return (row["both_accept"] + row["both_reject"]) / row["pairs"] if row["pairs"] else float("nan")


def lines(table: dict[str, Counter[str]], markdown: bool) -> list[str]:
    total: Counter[str] = Counter()
    for row in table.values():
        total.update(row)
    rows = [*table.items(), ("all types", total)]
    if markdown:
        out = ["| type | pairs | both accept | both reject | only Djinn | only hackwatch | agreement |",
               "|---|---|---|---|---|---|---|"]
        out += [f"| {t} | " + " | ".join(str(r[c]) for c in COLUMNS) + f" | {100 * agreement(r):.0f} % |"
                for t, r in rows]
        return out
    out = [f"{'type':<34}" + "".join(f"{c:>15}" for c in COLUMNS) + f"{'agreement':>11}"]
    out += [f"{t:<34}" + "".join(f"{r[c]:>15}" for c in COLUMNS) + f"{100 * agreement(r):>10.1f}%" for t, r in rows]
    return out


def djinn_commit(djinn: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(djinn), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--djinn", required=True, type=Path, help="a local checkout of EleutherAI/djinn")
    parser.add_argument("--rows", type=Path, help="a Djinn dataset rows .jsonl/.parquet (current schema)")
    parser.add_argument("--legacy", type=Path, help="a directory of old-schema Djinn problems")
    parser.add_argument("--types", help="only these exploit types (comma-separated)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, help="also write the table and every pair's verdicts here")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    djinn = args.djinn.resolve()
    if not (djinn / "djinn" / "verifiers" / "insecure").is_dir():
        print(f"error: --djinn {args.djinn}: no djinn/verifiers/insecure/ there; pass a checkout of "
              "EleutherAI/djinn", file=sys.stderr)
        return 2
    for path, flag in ((args.rows, "--rows"), (args.legacy, "--legacy")):
        if path is not None and not path.exists():
            print(f"error: {flag} {path}: no such file or directory", file=sys.stderr)
            return 2
    sys.path.insert(0, str(djinn))  # the sandbox workers take the host's sys.path and preload from it
    types = set(args.types.split(",")) if args.types else None
    start = time.monotonic()
    pairs, notes = collect(djinn, args.rows, args.legacy, types)
    verdicts = run(pairs, args.workers)
    table = tabulate(pairs, verdicts)
    print(f"Djinn {djinn_commit(djinn)} at {djinn}; {len(pairs)} pairs in {time.monotonic() - start:.0f} s; "
          f"sources: " + ", ".join(f"{k} {n}" for k, n in sorted(Counter(p.source for p in pairs).items())))
    print("\n".join(lines(table, args.markdown)))
    for note in notes:
        print(note)
    for p, ((hw, hw_reason), (dj, dj_reason)) in zip(pairs, verdicts, strict=True):
        if hw != dj:
            print(f"{'only Djinn' if dj else 'only hackwatch'} accepts: {p.source} {p.task.id} {p.role} "
                  f"({p.task.exploit_type}) | hackwatch: {hw_reason[:90]} | djinn: {dj_reason[:110]}")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "djinn_commit": djinn_commit(djinn), "table": {t: dict(r) for t, r in table.items()}, "notes": notes,
            "pairs": [{"source": p.source, "task_id": p.task.id, "exploit_type": p.task.exploit_type, "role": p.role,
                       "hackwatch": hw, "djinn": dj, "hackwatch_reason": hr, "djinn_reason": dr}
                      for p, ((hw, hr), (dj, dr)) in zip(pairs, verdicts, strict=True)]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
