"""Reasoning interpolation: donor fine-tuning, donor traces, pivot detection and the prefix bank.

The IS proposal (DESIGN.md): a copy of the subject fine-tuned on (task → exploit code) with no
reasoning (:func:`train_donor`), sampled *with* reasoning; exploit-successful traces
(:func:`generate_traces`) are cut into a ladder of token prefixes (:func:`build_bank`) with the
donor's log-probs and the exploit-conditioning rates π̂_D(x), â_D(x,z), and written to a bank
(:func:`write_bank`, :func:`read_bank`). Other sources (a user file, an LLM writer, a model with
another tokenizer) produce the same rows.
"""

from hackwatch.donor._bank import (
    BANK_COLUMNS,
    SCHEMA_VERSION,
    SOURCES,
    BankError,
    provenance_path,
    read_bank,
    read_provenance,
    validate_bank,
    write_bank,
)
from hackwatch.donor._build import DEFAULT_LENGTHS, build_bank, ladder, trace_rows
from hackwatch.donor._pivot import (
    GENERIC_TERMS,
    TYPE_TERMS,
    Classifier,
    Pivot,
    find_pivot,
    find_pivot_char,
    lexicon_for,
)
from hackwatch.donor._sources import (
    DEFAULT_WRITER_TEMPLATE,
    file_prefixes,
    prompted_prefixes,
    retokenized_trace_rows,
    text_rows,
)
from hackwatch.donor._traces import Trace, TraceSet, generate_traces, prefix_rates
from hackwatch.donor._train import DONOR_INFO, DonorTrainConfig, exploit_answer, sft_example, train_donor

__all__ = [
    "BANK_COLUMNS", "DEFAULT_LENGTHS", "DEFAULT_WRITER_TEMPLATE", "DONOR_INFO", "GENERIC_TERMS", "SCHEMA_VERSION",
    "SOURCES", "TYPE_TERMS", "BankError", "Classifier", "DonorTrainConfig", "Pivot", "Trace", "TraceSet",
    "build_bank", "exploit_answer", "file_prefixes", "find_pivot", "find_pivot_char", "generate_traces", "ladder",
    "lexicon_for", "prefix_rates", "prompted_prefixes", "provenance_path", "read_bank", "read_provenance",
    "retokenized_trace_rows", "sft_example", "text_rows", "trace_rows", "train_donor", "validate_bank", "write_bank",
]
