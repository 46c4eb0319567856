"""Communication's pure rules without a database: quiet hours across midnight and DST,
the preference decision, locale fallback, and the template sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from hub.communication.domain.preferences import (
    DEFERRED,
    QUEUED,
    SENT,
    SKIPPED,
    QuietHours,
    decide,
    enabled,
    quiet_until,
)
from hub.communication.domain.templates import (
    TemplateDraft,
    check_draft,
    pick_locale,
    render_part,
)
from hub.kernel.errors import Invalid

NIGHT = QuietHours(time(22, 0), time(7, 0))
LUNCH = QuietHours(time(12, 0), time(13, 0))


@pytest.mark.parametrize(
    ("now", "zone", "window", "until"),
    [
        # 23:30 Berlin (UTC+1): until 07:00 Berlin the next day
        (
            datetime(2027, 1, 14, 22, 30, tzinfo=UTC),
            "Europe/Berlin",
            NIGHT,
            datetime(2027, 1, 15, 6, 0, tzinfo=UTC),
        ),
        # 05:00 Berlin: until 07:00 the same day
        (
            datetime(2027, 1, 15, 4, 0, tzinfo=UTC),
            "Europe/Berlin",
            NIGHT,
            datetime(2027, 1, 15, 6, 0, tzinfo=UTC),
        ),
        # 08:00 Berlin: outside
        (datetime(2027, 1, 15, 7, 0, tzinfo=UTC), "Europe/Berlin", NIGHT, None),
        # exactly the end: outside; exactly the start: inside
        (datetime(2027, 1, 15, 6, 0, tzinfo=UTC), "Europe/Berlin", NIGHT, None),
        (
            datetime(2027, 1, 14, 21, 0, tzinfo=UTC),
            "Europe/Berlin",
            NIGHT,
            datetime(2027, 1, 15, 6, 0, tzinfo=UTC),
        ),
        # a window within one day, no zone: UTC
        (
            datetime(2027, 1, 15, 12, 30, tzinfo=UTC),
            None,
            LUNCH,
            datetime(2027, 1, 15, 13, 0, tzinfo=UTC),
        ),
        # the night the clocks go forward (Berlin, 28 March 2027): 07:00 is UTC+2
        (
            datetime(2027, 3, 27, 23, 0, tzinfo=UTC),
            "Europe/Berlin",
            NIGHT,
            datetime(2027, 3, 28, 5, 0, tzinfo=UTC),
        ),
        # no quiet hours
        (datetime(2027, 1, 15, 3, 0, tzinfo=UTC), "Europe/Berlin", None, None),
    ],
)
def test_quiet_until(
    now: datetime, zone: str | None, window: QuietHours | None, until: datetime | None
) -> None:
    assert quiet_until(now, zone, window) == until


def test_a_skipped_wall_time_never_ends_before_now() -> None:
    # Berlin skips 02:00-03:00 on 28 March 2027; a window ending at 02:30 resolves forward
    window = QuietHours(time(1, 0), time(2, 30))
    now = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)  # 01:30 local
    until = quiet_until(now, "Europe/Berlin", window)
    assert until is not None
    assert until >= now


def test_decide() -> None:
    quiet = datetime(2027, 1, 15, 6, 0, tzinfo=UTC)
    assert decide(channel="email", priority="normal", on=True, quiet=None).status == QUEUED
    assert decide(channel="in_app", priority="normal", on=True, quiet=quiet).status == SENT
    deferred = decide(channel="email", priority="normal", on=True, quiet=quiet)
    assert (deferred.status, deferred.deliver_after) == (DEFERRED, quiet)
    assert decide(channel="email", priority="normal", on=False, quiet=None).status == SKIPPED
    forced = decide(channel="email", priority="critical", on=False, quiet=quiet)
    assert (forced.status, forced.bypassed) == (QUEUED, True)
    plain = decide(channel="in_app", priority="critical", on=True, quiet=quiet)
    assert (plain.status, plain.bypassed) == (SENT, False)  # nothing overridden


def test_enabled_user_over_organisation_over_platform() -> None:
    org = {"documents": {"email": False}}
    assert enabled("documents", "email", {}, {}) is True  # the platform's default
    assert enabled("documents", "email", org, {}) is False
    assert enabled("documents", "email", org, {"documents": {"email": True}}) is True
    assert enabled("messages", "email", {}, {}) is False
    assert enabled("unknown", "email", {}, {}) is False


def test_pick_locale() -> None:
    assert pick_locale(["en", "de"], ["de-AT", "fr"]) == "de"
    assert pick_locale(["en", "de"], [None, "de"]) == "de"
    assert pick_locale(["en", "de"], ["fr", None]) == "en"
    assert pick_locale(["pt-BR", "es"], ["fr"]) == "es"  # no en: the first available


def test_sandbox_at_render_time_too() -> None:
    # the static check refuses these at save; the sandbox refuses them if one got through
    for source in ("{{ x.__class__ }}", "{{ 'a' * 1000000 }}", "{{ 2 ** 3 }}"):
        with pytest.raises(Invalid) as err:
            render_part(source, {"x": "s"}, "email", "subject", "f")
        assert err.value.code == "template_unsafe"
    assert render_part("<{{ x }}>", {"x": "<b>"}, "email", "html", "f") == "<&lt;b&gt;>"
    assert render_part("<{{ x }}>", {"x": "<b>"}, "email", "text", "f") == "<<b>>"


def test_a_declared_variable_used_only_on_an_untaken_branch_is_still_checked() -> None:
    draft = TemplateDraft(
        category="general",
        variables=("name",),
        sample={"name": "Ada"},
        channels={"chat": {"en": {"text": "{% if false %}{{ other }}{% endif %}{{ name }}"}}},
    )
    with pytest.raises(Invalid) as err:
        check_draft(draft)
    assert err.value.code == "template_undeclared_variable"
