"""estimate stage: per-cell exploit probabilities with honest uncertainty.

Direct Monte Carlo rates with exact binomial intervals, importance-sampling (IS) estimates with the
donor correction and diagnostics (ESS, contributing samples, largest-weight share, bootstrap over
tasks, PSIS k̂), lower confidence bounds from tested prefixes, and reliability flags. Pure functions over pandas tables; no I/O.
"""

from hackwatch.estimate._bound import lower_bounds, task_lower_bounds
from hackwatch.estimate._cells import estimate_cells, order_columns
from hackwatch.estimate._columns import (
    DEFAULT_BY,
    ESTIMATE_COLUMNS,
    MISSING_DONOR_RATE_POLICIES,
    SCORE_COLUMNS,
    SCORE_OPTIONAL_COLUMNS,
    VERDICT_COLUMNS,
    MissingDonorRate,
    SchemaError,
    validate_scores,
    validate_verdicts,
)
from hackwatch.estimate._direct import direct_rates
from hackwatch.estimate._donor_rates import zero_success_upper
from hackwatch.estimate._flags import FLAGS, LOW_ESS, bound_method, compute_flags, is_method
from hackwatch.estimate._importance import CellIS, is_cell, is_estimates
from hackwatch.estimate._io import read_table, write_table
from hackwatch.estimate._proposals import (
    DONOR_PROPOSAL,
    PROPOSAL_COLUMN,
    ProposalRows,
    estimate_proposals,
    proposal_methods,
    proposal_names,
    split_proposals,
)
from hackwatch.estimate._psis import KHAT_UNRELIABLE, pareto_khat
from hackwatch.estimate._shared import (
    EstimateResult,
    HeavyTailWarning,
    ImpossibleValueWarning,
    IntervalMethod,
    LowESSWarning,
    MissingDonorRateWarning,
    MissingVerdictsWarning,
    Pooling,
    SingleSampleWarning,
    StatisticalWarning,
    binomial_interval,
    kish_ess,
    logmeanexp,
    max_weight_share,
)
from hackwatch.estimate._terms import importance_terms

__all__ = [
    "DEFAULT_BY", "DONOR_PROPOSAL", "ESTIMATE_COLUMNS", "FLAGS", "KHAT_UNRELIABLE", "LOW_ESS",
    "MISSING_DONOR_RATE_POLICIES", "SCORE_COLUMNS", "SCORE_OPTIONAL_COLUMNS", "VERDICT_COLUMNS", "CellIS",
    "EstimateResult", "HeavyTailWarning", "ImpossibleValueWarning", "IntervalMethod", "LowESSWarning",
    "MissingDonorRate", "MissingDonorRateWarning", "MissingVerdictsWarning", "PROPOSAL_COLUMN", "Pooling",
    "ProposalRows", "SchemaError", "SingleSampleWarning", "StatisticalWarning", "binomial_interval",
    "bound_method", "compute_flags", "direct_rates", "estimate_cells", "estimate_proposals",
    "importance_terms", "is_method", "is_cell", "is_estimates", "kish_ess", "logmeanexp", "lower_bounds",
    "max_weight_share", "order_columns", "pareto_khat", "proposal_methods", "proposal_names", "read_table",
    "split_proposals", "task_lower_bounds", "validate_scores", "validate_verdicts", "write_table",
    "zero_success_upper",
]
