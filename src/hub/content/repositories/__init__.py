"""Content's persistence: queries of its aggregates and the blob store of its files."""
