"""donor stage."""
