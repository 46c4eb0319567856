"""A minimal context built with the kit, walked through in docs/contexts.md."""
