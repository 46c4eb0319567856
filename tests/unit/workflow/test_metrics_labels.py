"""Metric labels stay bounded: past the limit, new workflow keys count under ``other``."""

from __future__ import annotations

from hub.workflow.services.metrics import OTHER, BoundedLabels


def test_labels_past_the_limit_fold_into_other() -> None:
    labels = BoundedLabels(2)
    assert labels("a") == ("a",)
    assert labels("b", "x") == ("b", "x")
    assert labels("c") == (OTHER,)
    assert labels("d", "y") == (OTHER, OTHER)
    assert labels("a") == ("a",)  # known values keep their series
