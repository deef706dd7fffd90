"""Pure metric functions on rollout tables: groups, pass@k, diversity, trends."""

from hackwatch.monitor.metrics._diversity import distinct_n, diversity_summary, ngram_overlap
from hackwatch.monitor.metrics._groups import ZERO_STD_ATOL, group_summary, group_table, plausible_wrong_rate
from hackwatch.monitor.metrics._passk import mean_pass_at_k, pass_at_k
from hackwatch.monitor.metrics._trends import CusumAlarm, cusum_upper, rise_pvalue, rise_statistic, slope

__all__ = [
    "ZERO_STD_ATOL", "CusumAlarm", "cusum_upper", "distinct_n", "diversity_summary", "group_summary",
    "group_table", "mean_pass_at_k", "ngram_overlap", "pass_at_k", "plausible_wrong_rate", "rise_pvalue", "rise_statistic", "slope",
]
