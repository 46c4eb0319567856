"""Use cases of the content context: the only place its business rules run."""

from __future__ import annotations
