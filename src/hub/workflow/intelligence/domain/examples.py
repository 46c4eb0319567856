"""What training learns from: one labelled text. Apart from :mod:`.model` so that choosing
the examples (:mod:`.selection`) does not import scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    text: str
    tags: tuple[str, ...]
    #: The document type's id as text, or None.
    document_type: str | None
    #: Values of select custom fields: ``(key, option)`` pairs.
    fields: tuple[tuple[str, str], ...] = ()
