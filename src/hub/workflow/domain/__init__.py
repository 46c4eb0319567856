"""Pure rules of the workflow context (no I/O)."""
