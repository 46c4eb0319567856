"""Shared infrastructure every context stands on. It imports no context."""
