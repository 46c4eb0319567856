"""Queries of identity's aggregates, read through the context's store."""
