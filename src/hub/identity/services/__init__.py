"""Use cases of the identity context: the only place its business rules run."""
