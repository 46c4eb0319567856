"""The pure rules of saved views: filters folded and checked, the relative window, who
sees and who changes a view."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hub.content.domain.saved_views import (
    Editor,
    ViewFilters,
    make_filters,
    may_change,
    may_see,
)
from hub.kernel.errors import AppError

NOW = datetime(2027, 6, 1, 12, tzinfo=UTC)


def test_ids_and_conditions_are_folded_in_order() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    filters = make_filters(tags=[a, b, a], fields=["x:eq:1", "x:eq:1", "y:gt:2"])
    assert filters.tags == (a, b)
    assert filters.fields == ("x:eq:1", "y:gt:2")


def test_a_reversed_range_and_too_many_tags_are_refused_naming_the_field() -> None:
    with pytest.raises(AppError) as caught:
        make_filters(created_from=NOW, created_to=NOW - timedelta(seconds=1))
    assert caught.value.errors is not None
    assert caught.value.errors[0].field == "filters.createdTo"
    with pytest.raises(AppError) as caught:
        make_filters(tag_trees=[uuid.uuid4() for _ in range(11)])
    assert caught.value.errors is not None
    assert caught.value.errors[0].field == "filters.tagTrees"


def test_the_window_is_read_at_each_run_and_the_later_bound_applies() -> None:
    assert make_filters().created_since(NOW) is None
    week = make_filters(created_within_days=7)
    assert week.created_since(NOW) == NOW - timedelta(days=7)
    assert week.created_since(NOW + timedelta(days=1)) == NOW - timedelta(days=6)
    recent_start = NOW - timedelta(days=2)
    both = make_filters(created_within_days=7, created_from=recent_start)
    assert both.created_since(NOW) == recent_start
    early = make_filters(created_within_days=1, created_from=NOW - timedelta(days=30))
    assert early.created_since(NOW) == NOW - timedelta(days=1)


def test_filters_survive_their_stored_form() -> None:
    filters = make_filters(
        tags=[uuid.uuid4()],
        tag_trees=[uuid.uuid4()],
        document_type_id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        created_from=NOW - timedelta(days=3),
        created_to=NOW,
        created_within_days=10,
        fields=["amount:gte:100"],
    )
    assert ViewFilters.from_json(filters.to_json()) == filters
    assert ViewFilters.from_json(ViewFilters().to_json()) == ViewFilters()


def test_who_sees_and_who_changes_a_view() -> None:
    owner, other = uuid.uuid4(), uuid.uuid4()
    assert may_see(owner, False, owner)
    assert not may_see(owner, False, other)
    assert may_see(owner, True, other)
    assert may_see(None, True, other)  # made by someone erased since
    member, curator = Editor(other, curator=False), Editor(other, curator=True)
    assert may_change(owner, False, Editor(owner, curator=False))
    assert not may_change(owner, True, member)
    assert may_change(owner, True, curator)
    assert may_change(None, True, curator)
    # a curator has no say over someone's personal view (they cannot even see it)
    assert not may_change(owner, False, curator)
