"""HTTP controllers of the communication context."""
