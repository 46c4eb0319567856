"""Pure rules of content (no I/O): file names and media types, its settings."""
