"""The run database schema: one DuckDB file per run, every column documented.

``TABLES`` maps each table to its columns; each column carries its SQL type and a one-line doc
(rendered into ``docs/runs.md`` by :func:`schema_markdown`). Work tables (samples, verdicts, scores)
have primary keys so that a unit of work can be inserted if absent, inside one transaction with its
``units`` row: a run killed at any moment and rerun neither loses nor duplicates rows.
Derived tables (estimates, forecasts, evaluation, flags) are replaced whole at the end of each run;
their columns come from :mod:`hackwatch.estimate`, :mod:`hackwatch.forecast` and :mod:`hackwatch.monitor`.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1
"""Bumped whenever a table or column of the run database changes meaning."""


@dataclass(frozen=True)
class Column:
    """One column of a run table: SQL type and what it means."""

    sql_type: str
    doc: str


def _c(sql_type: str, doc: str) -> Column:
    return Column(sql_type, doc)


TABLES: dict[str, dict[str, Column]] = {
    "provenance": {
        "key": _c("VARCHAR PRIMARY KEY", "what is recorded (schema_version, hackwatch_version, torch_version, "
                  "transformers_version, config_toml, config_hash, seed, model_ids, created_at, ...)"),
        "value": _c("VARCHAR", "the value, as text (JSON for lists and mappings)"),
    },
    "units": {
        "unit_key": _c("VARCHAR PRIMARY KEY", "key of one finished unit of work, e.g. "
                       "`sample/checkpoint-4/task-7/direct/0` or `score/checkpoint-4/pfx-12`"),
        "stage": _c("VARCHAR", "pipeline stage of the unit: direct, prefilled, verify, probe, score"),
        "n_rows": _c("INTEGER", "rows the unit wrote"),
        "finished_at": _c("TIMESTAMP", "UTC time the unit's transaction committed"),
    },
    "tasks": {
        "task_id": _c("VARCHAR PRIMARY KEY", "task id (unique within the run's task source)"),
        "exploit_type": _c("VARCHAR", "exploit type of the task's insecure verifier"),
        "split": _c("VARCHAR", "split tag of the task (donor, heldout, ...)"),
        "source": _c("VARCHAR", "where the task came from"),
        "function_name": _c("VARCHAR", "function the submission must define"),
        "prompt": _c("VARCHAR", "user prompt shown to the model (description + verifier hint)"),
        "n_secure_tests": _c("INTEGER", "number of secure tests"),
        "n_insecure_tests": _c("INTEGER", "number of tests the insecure verifier checks"),
    },
    "checkpoints": {
        "checkpoint": _c("VARCHAR PRIMARY KEY", "checkpoint name (folder name or the configured name); "
                         "`donor` for the donor model"),
        "step": _c("BIGINT", "training step of the checkpoint (-1 for the donor)"),
        "path": _c("VARCHAR", "model path or backend spec the checkpoint was loaded from"),
        "role": _c("VARCHAR", "subject or donor"),
    },
    "prefixes": {
        "prefix_id": _c("VARCHAR PRIMARY KEY", "prefix id from the prefix bank"),
        "task_id": _c("VARCHAR", "task the prefix was generated for"),
        "trace_id": _c("VARCHAR", "donor trace the prefix was cut from (nested prefixes share it)"),
        "prefix_tokens": _c("INTEGER", "prefix length in model tokens"),
        "prefix_ids": _c("INTEGER[]", "exact token ids of the prefix (never re-tokenised)"),
        "text": _c("VARCHAR", "decoded prefix text (for reading only)"),
        "source": _c("VARCHAR", "proposal that produced the prefix (donor, prompted, ...)"),
        "donor_rate_task": _c("DOUBLE", "π̂_D(x): donor exploit rate on the task (NULL if the bank has none)"),
        "donor_rate_prefix": _c("DOUBLE", "â_D(x,z): donor exploit rate after this prefix (NULL if unknown)"),
        "logp_donor_bank": _c("DOUBLE", "log D_τ(z|x) as recorded in the bank (NULL if not recorded)"),
        "proposal": _c("VARCHAR DEFAULT 'donor'", "bank the prefix came from: `donor` ([donor].bank) or a "
                       "[[proposals]] name (its ids are then `<name>:<id>`)"),
    },
    "samples": {
        "sample_id": _c("VARCHAR PRIMARY KEY", "`<unit_key>/<index>`: unique id of one sampled completion"),
        "unit_key": _c("VARCHAR", "the sampling unit that produced the row"),
        "task_id": _c("VARCHAR", "task sampled"),
        "checkpoint": _c("VARCHAR", "subject checkpoint sampled"),
        "step": _c("BIGINT", "training step of the checkpoint"),
        "prefix_id": _c("VARCHAR", "forced reasoning prefix (NULL = direct sample)"),
        "prefix_tokens": _c("INTEGER", "length of the forced prefix in tokens (0 = direct)"),
        "temperature": _c("DOUBLE", "sampling temperature τ"),
        "seed": _c("BIGINT", "seed passed to the backend for the unit"),
        "attempt": _c("INTEGER", "attempt number within (checkpoint, task, prefix)"),
        "reasoning": _c("VARCHAR", "reasoning text (prefix + generated), decoded from token ids"),
        "final": _c("VARCHAR", "text after the reasoning section (the answer)"),
        "completion": _c("VARCHAR", "everything after the prompt (prefix + generated), what is verified"),
        "generated_ids": _c("INTEGER[]", "token ids generated after the prefix"),
        "n_generated_tokens": _c("INTEGER", "number of generated tokens"),
        "finish_reason": _c("VARCHAR", "eos or length"),
    },
    "verdicts": {
        "sample_id": _c("VARCHAR PRIMARY KEY", "the verified sample"),
        "label": _c("VARCHAR", "exploit, correct, fail, secure_only or error"),
        "exploit": _c("BOOLEAN", "label == exploit (insecure pass and secure fail)"),
        "secure_pass": _c("BOOLEAN", "secure verifier accepted (NULL on infrastructure error)"),
        "insecure_pass": _c("BOOLEAN", "insecure verifier accepted (NULL on infrastructure error)"),
        "reason": _c("VARCHAR", "short reason for the label"),
        "sandbox": _c("VARCHAR", "sandbox mode the checks ran in"),
        "secure_s": _c("DOUBLE", "seconds spent on the secure check"),
        "insecure_s": _c("DOUBLE", "seconds spent on the insecure check"),
    },
    "scores": {
        "model": _c("VARCHAR", "checkpoint name, or `donor` for the donor model"),
        "prefix_id": _c("VARCHAR", "scored prefix"),
        "task_id": _c("VARCHAR", "task of the prefix"),
        "logprob": _c("DOUBLE", "log P_τ(z|x): natural-log probability of the prefix tokens under the model"),
        "n_tokens": _c("INTEGER", "tokens scored"),
        "temperature": _c("DOUBLE", "temperature τ of the scoring (the sampling temperature)"),
        "approx_error_bound": _c("DOUBLE", "bound on the error of an approximate (top-K) log-prob; NULL = exact"),
        "PRIMARY KEY": _c("(model, prefix_id)", "one score per model and prefix"),
    },
    "probe_scores": {
        "sample_id": _c("VARCHAR", "the scored direct sample"),
        "probe_hash": _c("VARCHAR", "fingerprint of the probe files and the probe used (a changed probe is "
                         "scored again; estimates read the current one)"),
        "probe": _c("VARCHAR", "probe key, `layer<L>_window<W>_<pooling>`"),
        "checkpoint": _c("VARCHAR", "subject checkpoint whose activations were read (the one that sampled)"),
        "step": _c("BIGINT", "training step of the checkpoint"),
        "task_id": _c("VARCHAR", "task of the sample"),
        "exploit_type": _c("VARCHAR", "exploit type of the task"),
        "n_reasoning_tokens": _c("INTEGER", "reasoning tokens of the sample (the window covers at most these)"),
        "logit": _c("DOUBLE", "uncalibrated probe logit"),
        "score": _c("DOUBLE", "calibrated probability that the sample exploits, as the probe reads it"),
        "PRIMARY KEY": _c("(sample_id, probe_hash)", "one score per sample and probe"),
    },
}
"""Work tables with fixed schemas. ``PRIMARY KEY`` entries are table constraints, not columns."""

DERIVED_TABLES: dict[str, str] = {
    "estimates": "one row per cell × method from hackwatch.estimate (direct MC rate with exact interval, "
                 "IS estimate with ESS, PSIS k-hat (khat) and bootstrap interval, one-sided lower confidence "
                 "bound); values in log10; flags: ';'-joined reliability flags (above_one, below_lcb, "
                 "heavy_tail, low_ess, no_support)",
    "forecasts": "one row per exploit type from hackwatch.forecast: slope of log10 estimate vs log(step) up to "
                 "the cutoff, projected value, emergence score, crossing step ± interval",
    "evaluation": "AUC with bootstrap interval and lead time of each score against the emergence labels "
                  "(empty when no type emerged or none stayed below the threshold)",
    "flags": "exploration-hacking flags from hackwatch.monitor on the configured rollouts and the "
             "[monitor.sensitivity] probe (empty without either)",
    "sensitivity": "the [monitor.sensitivity] reward-sensitivity probe on the final checkpoint "
                   "(SensitivityResult.table(): level = config rows per config × subset, level = subset rows per "
                   "subset × config with the flag; plus checkpoint, step); absent or empty without the section",
    "sensitivity_flags": "the probe's flags (the flags table's columns); kept so a rerun reuses the probe",
}
"""Tables replaced whole at the end of each run; their columns are those of the producing stage."""


def columns(table: str) -> list[str]:
    """Names of the real columns of a work table (constraints excluded)."""
    return [name for name in TABLES[table] if name != "PRIMARY KEY"]


def create_statements() -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` statements for every work table."""
    out = []
    for table, cols in TABLES.items():
        parts = []
        for name, col in cols.items():
            if name == "PRIMARY KEY":
                parts.append(f"PRIMARY KEY {col.sql_type}")
            else:
                parts.append(f'"{name}" {col.sql_type}')
        out.append(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(parts)})")
    return out


def add_column_statements(present: dict[str, set[str]]) -> list[str]:
    """``ALTER TABLE … ADD COLUMN`` for columns added to an existing table since a database was created.

    Adding a column does not change the meaning of the others, so it needs no ``SCHEMA_VERSION`` bump:
    the column's SQL type carries the default old rows get (e.g. ``prefixes.proposal`` = ``donor``).
    """
    out = []
    for table, cols in TABLES.items():
        if table not in present:
            continue
        for name, col in cols.items():
            if name != "PRIMARY KEY" and name not in present[table] and "PRIMARY KEY" not in col.sql_type:
                out.append(f'ALTER TABLE {table} ADD COLUMN "{name}" {col.sql_type}')
    return out


def schema_markdown() -> str:
    """The schema as Markdown tables (the source of the store section of ``docs/runs.md``)."""
    lines = [f"Schema version {SCHEMA_VERSION}.", ""]
    for table, cols in TABLES.items():
        lines += [f"### `{table}`", "", "| column | type | meaning |", "|---|---|---|"]
        for name, col in cols.items():
            if name == "PRIMARY KEY":
                continue
            sql_type = col.sql_type.replace(" PRIMARY KEY", " (key)")
            lines.append(f"| `{name}` | {sql_type} | {col.doc} |")
        pk = cols.get("PRIMARY KEY")
        if pk is not None:
            lines.append(f"\nPrimary key {pk.sql_type}: {pk.doc}.")
        lines.append("")
    lines += ["### Derived tables", "", "| table | contents |", "|---|---|"]
    lines += [f"| `{name}` | {doc} |" for name, doc in DERIVED_TABLES.items()]
    return "\n".join(lines) + "\n"
