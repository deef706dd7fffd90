"""hackwatch: early warning of reward hacking and exploration hacking in RL post-training of LLMs."""

__version__ = "0.1.0"
