"""HTTP controllers of the workflow context."""
