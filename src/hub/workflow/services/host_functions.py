"""The values behind the hub's own CEL functions (``expressions.HOST_FUNCTIONS``).

CEL calls a host function synchronously, and what it asks for (the classifier's opinion
of a document) needs the database and a model: so before a condition runs, the
functions it calls are computed for its subject document, and the condition gets plain
look-ups. The classifier is workflow's intelligence; the engine knows it only as a
:class:`ClassifierOracle` (intelligence builds on the engine, not the other way round),
handed over by ``hub.workflow.bootstrap``.

``classifier_says(label)``: the confidence (0..1) of the organisation's current model
that the subject document has the tag or document type named ``label`` (case-insensitive;
a type also by its id; a select custom field's option as ``"key=option"``), within the
organisation's taxonomy. ``0.0`` when the model does
not suggest it, the label is unknown, there is no model or text yet, or the instance has
no document: "the classifier says invoice with confidence >= 0.8" is then simply false.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol


class ClassifierOracle(Protocol):
    async def confidences(self, document_id: uuid.UUID) -> dict[str, float]:
        """Label (tag or type name casefolded, or type id) -> confidence."""
        ...


async def host_functions(
    oracle: ClassifierOracle | None, source: str, document_id: uuid.UUID | None
) -> dict[str, Callable[..., Any]]:
    """The host functions ``source`` calls, ready for ``expressions.holds``."""
    if "classifier_says" not in source:
        return {}
    said: dict[str, float] = {}
    if oracle is not None and document_id is not None:
        said = await oracle.confidences(document_id)

    def classifier_says(label: str) -> float:
        return said.get(str(label).casefold(), 0.0)

    return {"classifier_says": classifier_says}
