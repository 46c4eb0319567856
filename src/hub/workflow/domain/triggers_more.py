"""Timed triggers: a cron schedule, or a date relative to a document's date custom field.

Wire shapes (entries of a definition's ``triggers``, beside event triggers)::

    {"cron": "0 8 * * 1",                       # five fields, UTC, at most once a minute
     "variables": {"week": "trigger.slot"}}      # CEL over ``trigger``

    {"dateField": "appointmentOn",               # a custom field of type date
     "offsetDays": -1, "offsetHours": 9,         # 09:00 UTC the day before
     "documentType": "Appointment",              # optional: only documents of this type
     "filter": "document.fields.status != 'cancelled'",   # optional CEL over ``document``
     "variables": {"on": "trigger.date", "title": "document.title"}}

A cron trigger starts one instance per slot (subject: the reference
``<workflow key>:<slot>``); a date trigger starts one per document and date, on the
document, and is planned again when the date changes. ``trigger`` is ``{"kind", "slot"}``
(cron) or ``{"kind", "date", "due"}`` (date); ``document`` is ``{"id", "title", "tags",
"documentTypeId", "ownerId", "fields"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from croniter import croniter

from hub.workflow.domain.expressions import ExpressionError, check

CRON_ROOTS = frozenset({"trigger"})
DATE_ROOTS = frozenset({"trigger", "document"})
CRON_KEYS = {"cron", "variables"}
DATE_KEYS = {"dateField", "offsetDays", "offsetHours", "documentType", "filter", "variables"}
MAX_OFFSET_DAYS = 3660
MAX_OFFSET_HOURS = 24 * 366
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")

Problems = list[tuple[str, str]]


@dataclass(frozen=True)
class TimedTrigger:
    #: Position in the definition's ``triggers`` (part of every plan and slot key).
    index: int
    kind: str  # "cron" or "date"
    variables: tuple[tuple[str, str], ...] = ()
    cron: str | None = None
    date_field: str | None = None
    offset: timedelta = timedelta(0)
    document_type: str | None = None
    filter: str | None = None

    def next_slot(self, after: datetime) -> datetime:
        """The first cron slot strictly after ``after`` (UTC)."""
        assert self.cron is not None
        nxt: datetime = croniter(self.cron, after.astimezone(UTC)).get_next(datetime)
        return nxt.astimezone(UTC)

    def due_for(self, raw: Any) -> tuple[date, datetime] | None:
        """The field's date and when it triggers, or None when the value is no date."""
        if not isinstance(raw, str):
            return None
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return None
        return day, datetime(day.year, day.month, day.day, tzinfo=UTC) + self.offset


def _variables(here: str, raw: Any, roots: frozenset[str], out: Problems) -> list[tuple[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        out.append((f"{here}.variables", "must map variable names to CEL expressions"))
        return []
    found: list[tuple[str, str]] = []
    for name, source in raw.items():
        path = f"{here}.variables.{name}"
        if not _NAME.match(str(name)):
            out.append((path, "a variable name is a name"))
        elif (problem := _expression(source, roots)) is not None:
            out.append((path, problem))
        else:
            found.append((str(name), source))
    return found


def _expression(source: Any, roots: frozenset[str]) -> str | None:
    if not isinstance(source, str):
        return "must be a CEL expression (a string)"
    try:
        check(source, roots)
    except ExpressionError as exc:
        return str(exc)
    return None


def _whole(raw: Any, top: int) -> bool:
    return isinstance(raw, int) and not isinstance(raw, bool) and -top <= raw <= top


def parse_cron(index: int, here: str, item: Mapping[str, Any]) -> tuple[TimedTrigger, Problems]:
    out: Problems = [(f"{here}.{k}", "unknown field") for k in sorted(set(item) - CRON_KEYS)]
    cron = item.get("cron")
    if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
        out.append(
            (
                f"{here}.cron",
                "must be a cron expression of five fields (minute hour day month weekday, UTC)",
            )
        )
    variables = _variables(here, item.get("variables"), CRON_ROOTS, out)
    trigger = TimedTrigger(
        index=index,
        kind="cron",
        cron=cron if isinstance(cron, str) else None,
        variables=tuple(variables),
    )
    return trigger, out


def parse_date(
    index: int,
    here: str,
    item: Mapping[str, Any],
    date_fields: frozenset[str],
    document_types: frozenset[str],
) -> tuple[TimedTrigger, Problems]:
    out: Problems = [(f"{here}.{k}", "unknown field") for k in sorted(set(item) - DATE_KEYS)]
    field = item.get("dateField")
    if not isinstance(field, str) or field not in date_fields:
        out.append((f"{here}.dateField", f"no custom field of type date {field!r}"))
    days, hours = item.get("offsetDays", 0), item.get("offsetHours", 0)
    if not _whole(days, MAX_OFFSET_DAYS):
        out.append((f"{here}.offsetDays", f"a whole number of days, ±{MAX_OFFSET_DAYS}"))
        days = 0
    if not _whole(hours, MAX_OFFSET_HOURS):
        out.append((f"{here}.offsetHours", f"a whole number of hours, ±{MAX_OFFSET_HOURS}"))
        hours = 0
    kind = item.get("documentType")
    if kind is not None and (not isinstance(kind, str) or kind.lower() not in document_types):
        out.append((f"{here}.documentType", f"unknown document type {kind!r}"))
    condition = item.get("filter")
    if condition is not None and (problem := _expression(condition, DATE_ROOTS)) is not None:
        out.append((f"{here}.filter", problem))
    variables = _variables(here, item.get("variables"), DATE_ROOTS, out)
    trigger = TimedTrigger(
        index=index,
        kind="date",
        date_field=field if isinstance(field, str) else None,
        offset=timedelta(days=days, hours=hours),
        document_type=kind if isinstance(kind, str) else None,
        filter=condition if isinstance(condition, str) else None,
        variables=tuple(variables),
    )
    return trigger, out
