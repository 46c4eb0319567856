"""Permission keys of document intelligence. The built-in member role holds ``*.read``
keys, so members read insights and the classifier's state; training needs ``manage``."""

from __future__ import annotations

INSIGHTS_READ = "workflow.insights.read"
CLASSIFIER_READ = "workflow.classifier.read"
CLASSIFIER_MANAGE = "workflow.classifier.manage"

PERMISSIONS: tuple[tuple[str, str], ...] = (
    (
        INSIGHTS_READ,
        "Read suggestions, similar documents and insights on documents one may read, and "
        "answer suggestions",
    ),
    (CLASSIFIER_READ, "Read the state, progress and measured quality of the classifier"),
    (CLASSIFIER_MANAGE, "Retrain the organisation's classifier"),
)
