"""Domain packs: an organisation's configuration (roles, taxonomy, notification templates
and defaults, workflow definitions) as a versioned set of YAML files, validated, applied
idempotently and exported through each context's public configuration interface.

An application module above the contexts (like ``hub.app`` and ``hub.cli``): it depends
on every context's ``api`` and on nothing else of theirs (``.importlinter``).
"""
