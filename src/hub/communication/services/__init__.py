"""Use cases of the communication context: the only place its business rules run."""
