"""The embedded demo world: a tiny model, a synthetic corpus, a real GRPO run where reward hacking
emerges for some exploit types and not others, and the whole hackwatch pipeline run on it.
"""

from hackwatch.demo._config import SIZES, DemoConfig, demo_config
from hackwatch.demo._corpus import CorpusItem, TypePlan, build_corpus, plan_types
from hackwatch.demo._run import DemoError, DemoResult, run_demo, run_worlds
from hackwatch.demo._summary import BANNER, print_summary, summary_lines, validation_lines

__all__ = [
    "BANNER", "SIZES", "CorpusItem", "DemoError", "DemoConfig", "DemoResult", "TypePlan", "build_corpus", "demo_config",
    "plan_types", "print_summary", "run_demo", "run_worlds", "summary_lines", "validation_lines",
]
