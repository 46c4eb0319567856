"""Use cases of the workflow context: the only place its business rules run."""
