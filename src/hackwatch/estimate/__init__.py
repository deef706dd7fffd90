"""estimate stage."""
