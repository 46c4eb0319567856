"""Organisation-defined notification categories without a database: their checks, and
the preference rule with an organisation's category (its defaults; mandatory ignores
members' overrides)."""

from __future__ import annotations

import pytest

from hub.communication.domain.categories import CATEGORIES, Category
from hub.communication.domain.digests import check_digests
from hub.communication.domain.org_categories import (
    ORGANISATION,
    CategoryDraft,
    check_draft,
    known_with,
)
from hub.communication.domain.preferences import check_switches, enabled
from hub.communication.domain.templates import check_category
from hub.kernel.errors import AppError


def own(
    key: str = "consultation-alerts",
    *,
    defaults: dict[str, bool] | None = None,
    mandatory: bool = False,
) -> Category:
    on = defaults if defaults is not None else {"in_app": True}
    return Category(key, "", on, ORGANISATION, name=key, mandatory=mandatory)


def fields_of(exc: pytest.ExceptionInfo[AppError]) -> list[str]:
    return [e.field for e in exc.value.errors]


def test_a_draft_is_trimmed_and_checked() -> None:
    draft = check_draft(
        CategoryDraft(
            key="appointment-reminders",
            name="  Appointment   reminders ",
            description=" tomorrow ",
            defaults={"email": True},
        )
    )
    assert (draft.name, draft.description, draft.defaults) == (
        "Appointment reminders",
        "tomorrow",
        {"email": True},
    )


@pytest.mark.parametrize(
    ("draft", "field", "code"),
    [
        (CategoryDraft(key="documents", name="x"), "key", "category_reserved"),
        (CategoryDraft(key="workflow.tasks", name="x"), "key", "validation_failed"),
        (CategoryDraft(key="Alerts", name="x"), "key", "validation_failed"),
        (CategoryDraft(key="alerts-", name="x"), "key", "validation_failed"),
        (CategoryDraft(key="a" * 49, name="x"), "key", "validation_failed"),
        (CategoryDraft(key="alerts", name="   "), "name", "validation_failed"),
        (CategoryDraft(key="alerts", name="x", description="d" * 501), "description", None),
        (CategoryDraft(key="alerts", name="x", defaults={"fax": True}), "defaults.fax", None),
    ],
)
def test_bad_drafts_name_their_field(draft: CategoryDraft, field: str, code: str | None) -> None:
    with pytest.raises(AppError) as caught:
        check_draft(draft)
    assert fields_of(caught) == [field]
    if code is not None:
        assert caught.value.code == code


def test_an_organisations_categories_join_the_platforms_for_every_check() -> None:
    known = known_with([own()])
    assert set(CATEGORIES) < set(known)
    assert check_category("consultation-alerts", known=known) == "consultation-alerts"
    with pytest.raises(AppError):
        check_category("consultation-alerts")  # the platform's alone
    assert check_switches({"consultation-alerts": {"email": False}}, "channels", known)
    assert check_digests({"consultation-alerts": "daily"}, "digests", known)
    with pytest.raises(AppError) as caught:
        check_switches({"consultation-alerts": {"email": False}}, "channels")
    assert fields_of(caught) == ["channels.consultation-alerts"]
    # a clash (which check_draft prevents) leaves the platform's category in place
    assert known_with([own("documents")])["documents"] is CATEGORIES["documents"]


def test_the_category_defaults_and_mandatory_decide_like_the_platforms() -> None:
    known = known_with([own(defaults={"in_app": True, "email": False})])
    key = "consultation-alerts"
    assert enabled(key, "in_app", {}, {}, known)
    assert not enabled(key, "email", {}, {}, known)
    assert enabled(key, "email", {key: {"email": True}}, {}, known)  # organisation default
    assert not enabled(key, "in_app", {}, {key: {"in_app": False}}, known)  # user override
    forced = known_with([own(defaults={"in_app": True}, mandatory=True)])
    assert enabled(key, "in_app", {}, {key: {"in_app": False}}, forced)
    assert not enabled(key, "in_app", {key: {"in_app": False}}, {}, forced)  # its organisation
    assert not enabled("unknown", "in_app", {}, {})  # nobody declares it: off
