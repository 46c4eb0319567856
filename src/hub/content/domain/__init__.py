"""Content's pure rules: settings, file names and types, who may do what to a document,
metadata validation. No I/O here; unit-tested without a database."""
