"""Content's use cases, one module per use case: the only place its business rules run."""
