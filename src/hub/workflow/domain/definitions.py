"""Workflow definitions: parsing a submitted JSON body into a :class:`Definition`, and
validation that reports every problem at once (path + message), never only the first.

Wire shape (camelCase, like every body)::

    {"states": [{"name": "review", "initial": true, "slaMinutes": 2880,
                 "onEnter": [ACTION...], "onLeave": [ACTION...]},
                {"name": "approved", "final": true}],
     "transitions": [{"name": "approve", "from": ["review"], "to": "approved",
                      "roles": ["approver"], "permission": "workflow.instances.read",
                      "condition": "vars.amount < 1000",
                      "form": [{"name": "reason", "required": true}],
                      "actions": [ACTION...]}]}

Actions: ``{"kind": "notify", "templateKey": "...", "to": {"roles": [...], "userIds":
[...], "starter": true, "subjectOwner": true, "fieldUsers": ["patient"], "topics":
["on-call"]}, "payload":
{...}, "payloadExpressions": {"reason": "data.reason"}, "category": "...", "channels":
["in_app", "email"], "priority": "critical"}`` (category default ``workflow.tasks``; each
payload expression is evaluated when the step is taken),
``{"kind": "setTags", "tags": [...]}``,
``{"kind": "setVariable", "name": "...", "value": ANY}`` or ``"expression": CEL``,
``createTask``, and ``setType``, ``setField``, ``setAccess``, ``startWorkflow``
(``actions_more``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.communication.api import CHANNELS
from hub.workflow.domain import actions_more, triggers_more
from hub.workflow.domain.expressions import ExpressionError, check

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
KEY_PATTERN = r"^[a-z][a-z0-9_.-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
_KEY = re.compile(KEY_PATTERN)
_TEMPLATE_KEY = re.compile(r"^[a-z][a-z0-9_.-]{0,99}$")
_CATEGORY_KEY = re.compile(r"^[a-z][a-z0-9.-]{0,63}$")
MAX_STATES = 100
MAX_TRANSITIONS = 300
MAX_ACTIONS = 20
MAX_SLA_MINUTES = 366 * 24 * 60
#: Roots a condition (and a ``setVariable`` expression) may name.
CONDITION_ROOTS = frozenset({"vars", "data", "subject"})
ACTION_KINDS = (
    "notify",
    "setTags",
    "setVariable",
    "createTask",
    "setType",
    "setField",
    "setAccess",
    "startWorkflow",
)
MAX_APPROVALS = 50
MAX_DUE_MINUTES = MAX_SLA_MINUTES

_STATE_KEYS = {
    "name",
    "initial",
    "final",
    "slaMinutes",
    "slaLadder",
    "onEnter",
    "onLeave",
    "description",
}
LADDER_KINDS = ("remind", "escalate", "transition")
_LADDER_KEYS = {"at", "kind", "roles", "topics", "transition", "templateKey", "payload"}
MAX_LADDER_PERCENT = 1000
#: The ladder of a state with ``slaMinutes`` and no ``slaLadder``: remind at 80 %.
DEFAULT_LADDER: tuple[Mapping[str, Any], ...] = ({"at": 80, "kind": "remind"},)
_TRANSITION_KEYS = {
    "name",
    "from",
    "to",
    "roles",
    "permission",
    "condition",
    "form",
    "actions",
    "description",
    "message",
}
_ACTION_KEYS = {
    "notify": {
        "kind",
        "templateKey",
        "to",
        "payload",
        "payloadExpressions",
        "category",
        "channels",
        "priority",
    },
    "setTags": {"kind", "tags"},
    "setVariable": {"kind", "name", "value", "expression"},
    "createTask": {
        "kind",
        "name",
        "assignee",
        "roles",
        "outcomes",
        "approvals",
        "approveOutcome",
        "fourEyes",
        "dueInMinutes",
    },
    **actions_more.ACTION_KEYS,
}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


@dataclass(frozen=True)
class Action:
    kind: str
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class FormField:
    name: str
    required: bool


@dataclass(frozen=True)
class State:
    name: str
    initial: bool = False
    final: bool = False
    sla_minutes: int | None = None
    #: Steps ``{"at": percent, "kind": remind|escalate|transition, ...}`` by ``at``.
    sla_ladder: tuple[Mapping[str, Any], ...] = ()
    on_enter: tuple[Action, ...] = ()
    on_leave: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...] = ()
    permission: str | None = None
    condition: str | None = None
    form: tuple[FormField, ...] = ()
    actions: tuple[Action, ...] = ()
    #: Taken only when a message of this name is correlated to the instance (``POST
    #: /workflow-messages``, as a BPMN message catch event): an outside system's answer.
    message: str | None = None


@dataclass(frozen=True)
class Trigger:
    """Start an instance when an integration event of ``event`` type in the organisation
    passes ``filter`` (CEL over ``event``); ``variables`` are CEL expressions over it."""

    event: str
    filter: str | None = None
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Definition:
    states: dict[str, State]
    transitions: dict[str, Transition]
    body: dict[str, Any] = field(default_factory=dict)
    triggers: tuple[Trigger, ...] = ()
    #: Cron and date triggers (``triggers_more``).
    timed: tuple[triggers_more.TimedTrigger, ...] = ()
    #: Messages that start an instance (``{"message": …}`` triggers: a message start
    #: event), when no running instance waits for them.
    start_messages: frozenset[str] = frozenset()
    #: (state, transition) pairs only a task's completion (or a timer) may take: taking
    #: them directly would skip the task's approvals and four eyes.
    task_only: frozenset[tuple[str, str]] = frozenset()

    @property
    def initial(self) -> State:
        return next(s for s in self.states.values() if s.initial)

    def leaving(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.sources]


@dataclass(frozen=True)
class Catalogue:
    """What validation checks names against: the organisation's roles (lower-cased
    names and ids) and the permission catalogue."""

    roles: frozenset[str]
    permissions: frozenset[str]
    #: Integration event types a trigger may name.
    events: frozenset[str] = frozenset()
    #: Document types (lower-cased names and ids), custom field keys (and those of date
    #: fields), workflow keys (the one being published included) actions may name.
    document_types: frozenset[str] = frozenset()
    custom_fields: frozenset[str] = frozenset()
    date_fields: frozenset[str] = frozenset()
    workflows: frozenset[str] = frozenset()
    #: The organisation's notification topic keys (communication's) ``notify`` may name.
    topics: frozenset[str] = frozenset()

    def knows_role(self, role: str) -> bool:
        return role.lower() in self.roles


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        #: createTask actions to check once every transition is known: (path, spec, state
        #: the instance is in when the task is created, or None where tasks make no sense).
        self.tasks: list[tuple[str, Mapping[str, Any], str | None]] = []
        #: SLA steps taking a transition: (path, state, transition), checked likewise.
        self.ladder_transitions: list[tuple[str, str, str]] = []
        #: (state, transition) pairs a task's outcome takes: only the task may take them.
        self.task_transitions: set[tuple[str, str]] = set()

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def unknown_keys(self, path: str, raw: Mapping[str, Any], allowed: set[str]) -> None:
        for key in sorted(set(raw) - allowed):
            self.add(f"{path}.{key}", "unknown field")


def _list(p: _Collector, path: str, raw: Any, *, limit: int) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        p.add(path, "must be a list")
        return []
    if len(raw) > limit:
        p.add(path, f"at most {limit} entries")
        return raw[:limit]
    return raw


def _strings(p: _Collector, path: str, raw: Any, *, limit: int = 50) -> list[str]:
    out: list[str] = []
    for i, item in enumerate(_list(p, path, raw, limit=limit)):
        if isinstance(item, str) and item.strip():
            out.append(item.strip())
        else:
            p.add(f"{path}[{i}]", "must be a non-empty string")
    return out


def _name(p: _Collector, path: str, raw: Any) -> str | None:
    if not isinstance(raw, str) or not _NAME.match(raw):
        p.add(path, "must be a name: a letter, then letters, digits, '_', '.' or '-' (max 64)")
        return None
    return raw


def _flag(p: _Collector, path: str, raw: Any) -> bool:
    if raw is None:
        return False
    if not isinstance(raw, bool):
        p.add(path, "must be true or false")
        return False
    return raw


def _actions(
    p: _Collector, path: str, raw: Any, cat: Catalogue, *, in_state: str | None
) -> tuple[Action, ...]:
    out: list[Action] = []
    for i, item in enumerate(_list(p, path, raw, limit=MAX_ACTIONS)):
        here = f"{path}[{i}]"
        if not isinstance(item, dict):
            p.add(here, "must be an object")
            continue
        kind = item.get("kind")
        if kind not in _ACTION_KEYS:
            p.add(
                f"{here}.kind", f"unknown action kind {kind!r} (known: {', '.join(ACTION_KINDS)})"
            )
            continue
        p.unknown_keys(here, item, _ACTION_KEYS[kind])
        if kind == "notify":
            _check_notify(p, here, item, cat)
        elif kind == "setTags":
            if not _strings(p, f"{here}.tags", item.get("tags")) and "tags" not in item:
                p.add(f"{here}.tags", "required")
        elif kind == "createTask":
            _check_task(p, here, item, cat)
            p.tasks.append((here, item, in_state))
        elif kind == "setVariable":
            _name(p, f"{here}.name", item.get("name"))
            if ("value" in item) == ("expression" in item):
                p.add(here, "give exactly one of value and expression")
            elif "expression" in item:
                _expression(p, f"{here}.expression", item["expression"])
        else:
            for path_, message in actions_more.check_action(kind, here, item, cat, CONDITION_ROOTS):
                p.add(path_, message)
        out.append(Action(kind=kind, spec=item))
    return tuple(out)


def _check_notify(p: _Collector, here: str, item: Mapping[str, Any], cat: Catalogue) -> None:
    key = item.get("templateKey")
    if not isinstance(key, str) or not _TEMPLATE_KEY.match(key):
        p.add(f"{here}.templateKey", "must be a template key")
    to = item.get("to")
    if not isinstance(to, dict):
        p.add(f"{here}.to", "must be an object with roles, userIds and/or starter")
        return
    p.unknown_keys(
        f"{here}.to", to, {"roles", "userIds", "starter", "subjectOwner", "fieldUsers", "topics"}
    )
    roles = _strings(p, f"{here}.to.roles", to.get("roles"))
    for j, role in enumerate(roles):
        if not cat.knows_role(role):
            p.add(f"{here}.to.roles[{j}]", f"unknown role {role!r}")
    for j, user in enumerate(_strings(p, f"{here}.to.userIds", to.get("userIds"))):
        try:
            uuid.UUID(user)
        except ValueError:
            p.add(f"{here}.to.userIds[{j}]", "must be a user id")
    starter = _flag(p, f"{here}.to.starter", to.get("starter"))
    # people named by the subject document: its owner, members held in its custom fields
    owner = _flag(p, f"{here}.to.subjectOwner", to.get("subjectOwner"))
    fields = _strings(p, f"{here}.to.fieldUsers", to.get("fieldUsers"))
    for j, key in enumerate(fields):
        if key not in cat.custom_fields:
            p.add(f"{here}.to.fieldUsers[{j}]", f"unknown custom field {key!r}")
    # a topic's subscribers when the effect runs (one deleted since then reaches nobody)
    topics = _strings(p, f"{here}.to.topics", to.get("topics"))
    for j, topic in enumerate(topics):
        if topic not in cat.topics:
            p.add(f"{here}.to.topics[{j}]", f"unknown topic {topic!r}")
    if not (roles or to.get("userIds") or starter or owner or fields or topics):
        p.add(
            f"{here}.to",
            "names nobody (roles, userIds, starter, subjectOwner, fieldUsers or topics)",
        )
    if not isinstance(item.get("payload", {}), dict):
        p.add(f"{here}.payload", "must be an object")
    if "payloadExpressions" in item:
        problems = actions_more.expression_map(
            f"{here}.payloadExpressions", item["payloadExpressions"], CONDITION_ROOTS
        )
        for path_, message in problems:
            p.add(path_, message)
    # the notification category (default workflow.tasks): a platform one or one the
    # organisation defines; communication refuses an unknown one when sending
    category = item.get("category")
    if category is not None and (
        not isinstance(category, str) or not _CATEGORY_KEY.match(category)
    ):
        p.add(f"{here}.category", "must be a notification category key")
    # the channels (default: every one the template has text for) and the priority
    # (``critical`` bypasses preferences and quiet hours, as on ``POST /notifications``)
    channels = item.get("channels")
    if channels is not None and (
        not isinstance(channels, list)
        or not channels
        or any(c not in CHANNELS for c in channels)
        or len(set(channels)) != len(channels)
    ):
        p.add(f"{here}.channels", f"must list distinct channels among {', '.join(CHANNELS)}")
    if item.get("priority", "normal") not in ("normal", "critical"):
        p.add(f"{here}.priority", "must be normal or critical")


def _positive(p: _Collector, path: str, raw: Any, top: int) -> None:
    if raw is not None and (
        not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= top
    ):
        p.add(path, f"must be a whole number from 1 to {top}")


def _ladder(
    p: _Collector,
    path: str,
    raw: Mapping[str, Any],
    sla: int | None,
    cat: Catalogue,
    state: str | None,
) -> tuple[Mapping[str, Any], ...]:
    if "slaLadder" not in raw:
        return DEFAULT_LADDER if sla is not None else ()
    if sla is None:
        p.add(f"{path}.slaLadder", "a ladder needs slaMinutes")
    steps: list[Mapping[str, Any]] = []
    for i, step in enumerate(_list(p, f"{path}.slaLadder", raw["slaLadder"], limit=10)):
        here = f"{path}.slaLadder[{i}]"
        if not isinstance(step, dict):
            p.add(here, "must be an object {at, kind}")
            continue
        p.unknown_keys(here, step, _LADDER_KEYS)
        _positive(p, f"{here}.at", step.get("at"), MAX_LADDER_PERCENT)
        if step.get("at") is None:
            p.add(f"{here}.at", "required: the percentage of the SLA")
        kind = step.get("kind")
        if kind not in LADDER_KINDS:
            p.add(f"{here}.kind", f"unknown step {kind!r} (known: {', '.join(LADDER_KINDS)})")
        if kind == "escalate":
            roles = _strings(p, f"{here}.roles", step.get("roles"))
            # or the subscribers of notification topics (the on-call group)
            topics = _strings(p, f"{here}.topics", step.get("topics"))
            if not roles and not topics:
                p.add(f"{here}.roles", "an escalation names the roles (or topics) it goes to")
            for j, role in enumerate(roles):
                if not cat.knows_role(role):
                    p.add(f"{here}.roles[{j}]", f"unknown role {role!r}")
            for j, topic in enumerate(topics):
                if topic not in cat.topics:
                    p.add(f"{here}.topics[{j}]", f"unknown topic {topic!r}")
        if kind == "transition":
            name = step.get("transition")
            if not isinstance(name, str):
                p.add(f"{here}.transition", "names the transition to take")
            elif state is not None:
                p.ladder_transitions.append((f"{here}.transition", state, name))
        key = step.get("templateKey")
        if key is not None and (not isinstance(key, str) or not _TEMPLATE_KEY.match(key)):
            p.add(f"{here}.templateKey", "must be a template key")
        if not isinstance(step.get("payload", {}), dict):
            p.add(f"{here}.payload", "must be an object")
        steps.append(step)
    return tuple(sorted(steps, key=_percent))


def _percent(step: Mapping[str, Any]) -> int:
    at = step.get("at")
    return at if isinstance(at, int) else 0


def _check_task(p: _Collector, here: str, item: Mapping[str, Any], cat: Catalogue) -> None:
    """Who the task goes to and its limits; outcomes are checked with the transitions."""
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        p.add(f"{here}.name", "must be a non-empty text of at most 200 characters")
    roles = _strings(p, f"{here}.roles", item.get("roles"))
    for j, role in enumerate(roles):
        if not cat.knows_role(role):
            p.add(f"{here}.roles[{j}]", f"unknown role {role!r}")
    assignee = item.get("assignee")
    if assignee is not None and assignee != "starter":
        try:
            uuid.UUID(str(assignee))
        except ValueError:
            p.add(f"{here}.assignee", "must be 'starter' or a user id")
    if not roles and assignee is None:
        p.add(here, "a task needs roles (candidates) and/or an assignee")
    _positive(p, f"{here}.approvals", item.get("approvals"), MAX_APPROVALS)
    _positive(p, f"{here}.dueInMinutes", item.get("dueInMinutes"), MAX_DUE_MINUTES)
    if "fourEyes" in item:
        _flag(p, f"{here}.fourEyes", item.get("fourEyes"))


def _check_outcomes(
    p: _Collector,
    here: str,
    spec: Mapping[str, Any],
    in_state: str | None,
    states: Mapping[str, State],
    transitions: Mapping[str, Transition],
) -> None:
    if in_state is None:
        p.add(here, "tasks are created on entering a state or by a transition, not on leaving")
        return
    if in_state in states and states[in_state].final:
        p.add(here, f"a task in the final state {in_state!r} could never complete")
        return
    outcomes = spec.get("outcomes")
    if not isinstance(outcomes, dict) or not outcomes:
        p.add(f"{here}.outcomes", "must map each outcome to {transition, reasonRequired}")
        return
    for outcome, target in outcomes.items():
        at = f"{here}.outcomes.{outcome}"
        if not _NAME.match(outcome):
            p.add(at, "an outcome is a name")
        if not isinstance(target, dict):
            p.add(at, "must be an object {transition, reasonRequired}")
            continue
        p.unknown_keys(at, target, {"transition", "reasonRequired"})
        name = target.get("transition")
        transition = transitions.get(name) if isinstance(name, str) else None
        if transition is None:
            p.add(f"{at}.transition", f"unknown transition {name!r}")
        elif in_state not in transition.sources:
            p.add(f"{at}.transition", f"transition {name!r} does not leave {in_state!r}")
        elif transition.message is not None:
            p.add(f"{at}.transition", f"transition {name!r} is taken by its message")
        else:
            p.task_transitions.add((in_state, transition.name))
        if "reasonRequired" in target:
            _flag(p, f"{at}.reasonRequired", target.get("reasonRequired"))
    approve = spec.get("approveOutcome", "approve")
    if (spec.get("approvals") or 1) > 1 and approve not in outcomes:
        p.add(f"{here}.approveOutcome", f"the outcome {approve!r} that approvals count is unknown")


def _expression(p: _Collector, path: str, raw: Any) -> str | None:
    if not isinstance(raw, str):
        p.add(path, "must be a CEL expression (a string)")
        return None
    try:
        check(raw, CONDITION_ROOTS)
    except ExpressionError as exc:
        p.add(path, str(exc))
        return None
    return raw


def _state(p: _Collector, i: int, raw: Any, cat: Catalogue) -> State | None:
    path = f"definition.states[{i}]"
    if not isinstance(raw, dict):
        p.add(path, "must be an object")
        return None
    p.unknown_keys(path, raw, _STATE_KEYS)
    name = _name(p, f"{path}.name", raw.get("name"))
    sla = raw.get("slaMinutes")
    if sla is not None and (
        not isinstance(sla, int) or isinstance(sla, bool) or not 1 <= sla <= MAX_SLA_MINUTES
    ):
        p.add(f"{path}.slaMinutes", f"must be a whole number of minutes, 1 to {MAX_SLA_MINUTES}")
        sla = None
    state = State(
        name=name or "",
        initial=_flag(p, f"{path}.initial", raw.get("initial")),
        final=_flag(p, f"{path}.final", raw.get("final")),
        sla_minutes=sla,
        sla_ladder=_ladder(p, path, raw, sla, cat, name),
        on_enter=_actions(p, f"{path}.onEnter", raw.get("onEnter"), cat, in_state=name),
        on_leave=_actions(p, f"{path}.onLeave", raw.get("onLeave"), cat, in_state=None),
    )
    if state.final and sla is not None:
        p.add(f"{path}.slaMinutes", "a final state has no SLA")
    if state.initial and state.final:
        p.add(path, "a state cannot be both initial and final")
    return state if name else None


def _form(p: _Collector, path: str, raw: Any) -> tuple[FormField, ...]:
    out: list[FormField] = []
    seen: set[str] = set()
    for i, item in enumerate(_list(p, path, raw, limit=50)):
        here = f"{path}[{i}]"
        if not isinstance(item, dict):
            p.add(here, "must be an object {name, required}")
            continue
        p.unknown_keys(here, item, {"name", "required", "description"})
        name = _name(p, f"{here}.name", item.get("name"))
        if name is None:
            continue
        if name in seen:
            p.add(f"{here}.name", f"field {name!r} is listed twice")
        seen.add(name)
        out.append(
            FormField(name=name, required=_flag(p, f"{here}.required", item.get("required")))
        )
    return tuple(out)


def _transition(
    p: _Collector, i: int, raw: Any, states: Mapping[str, State], cat: Catalogue
) -> Transition | None:
    path = f"definition.transitions[{i}]"
    if not isinstance(raw, dict):
        p.add(path, "must be an object")
        return None
    p.unknown_keys(path, raw, _TRANSITION_KEYS)
    name = _name(p, f"{path}.name", raw.get("name"))
    sources_raw = raw.get("from")
    sources = _strings(
        p, f"{path}.from", [sources_raw] if isinstance(sources_raw, str) else sources_raw
    )
    if not sources:
        p.add(f"{path}.from", "names no state")
    for j, source in enumerate(sources):
        if source not in states:
            p.add(f"{path}.from[{j}]", f"unknown state {source!r}")
        elif states[source].final:
            p.add(f"{path}.from[{j}]", f"transition from the final state {source!r}")
    target = raw.get("to")
    if not isinstance(target, str) or target not in states:
        p.add(f"{path}.to", f"unknown state {target!r}")
        target = None
    roles = _strings(p, f"{path}.roles", raw.get("roles"))
    for j, role in enumerate(roles):
        if not cat.knows_role(role):
            p.add(f"{path}.roles[{j}]", f"unknown role {role!r}")
    permission = raw.get("permission")
    if permission is not None and (
        not isinstance(permission, str) or permission not in cat.permissions
    ):
        p.add(f"{path}.permission", f"unknown permission {permission!r}")
        permission = None
    condition = None
    if raw.get("condition") is not None:
        condition = _expression(p, f"{path}.condition", raw["condition"])
    message = _message(p, path, raw)
    transition = Transition(
        name=name or "",
        sources=tuple(sources),
        target=target or "",
        roles=tuple(roles),
        permission=permission,
        condition=condition,
        form=_form(p, f"{path}.form", raw.get("form")),
        actions=_actions(
            p,
            f"{path}.actions",
            raw.get("actions"),
            cat,
            in_state=target if isinstance(target, str) else None,
        ),
        message=message,
    )
    return transition if name else None


def _message(p: _Collector, path: str, raw: Mapping[str, Any]) -> str | None:
    """A message transition's name: a key; its sender is authorised by
    ``workflow.messages.correlate``, so roles or a permission on it would never apply."""
    message = raw.get("message")
    if message is None:
        return None
    if not isinstance(message, str) or not _KEY.match(message):
        p.add(f"{path}.message", "a message name is a key (lower-case, digits, . _ -)")
        return None
    for guard in ("roles", "permission"):
        if raw.get(guard):
            p.add(
                f"{path}.{guard}",
                "a message transition is taken by whoever may correlate messages "
                "(workflow.messages.correlate): it has no roles or permission of its own",
            )
    return message


def parse(raw: Any, cat: Catalogue) -> tuple[Definition | None, list[Problem]]:
    """The definition and every problem found (the definition is None when any exists)."""
    p = _Collector()
    if not isinstance(raw, dict):
        p.add("definition", "must be an object with states and transitions")
        return None, p.problems
    p.unknown_keys("definition", raw, {"states", "transitions", "triggers", "description"})
    states: dict[str, State] = {}
    raw_states = _list(p, "definition.states", raw.get("states"), limit=MAX_STATES)
    if not raw_states:
        p.add("definition.states", "a definition needs states")
    for i, item in enumerate(raw_states):
        state = _state(p, i, item, cat)
        if state is None:
            continue
        if state.name in states:
            p.add(f"definition.states[{i}].name", f"state {state.name!r} is defined twice")
        states[state.name] = state
    initials = [s.name for s in states.values() if s.initial]
    if raw_states and len(initials) != 1:
        which = "no initial state" if not initials else f"several initial states: {initials}"
        p.add("definition.states", f"exactly one state must be initial ({which})")
    if raw_states and not any(s.final for s in states.values()):
        p.add("definition.states", "at least one state must be final")
    transitions: dict[str, Transition] = {}
    raw_transitions = _list(
        p, "definition.transitions", raw.get("transitions"), limit=MAX_TRANSITIONS
    )
    for i, item in enumerate(raw_transitions):
        transition = _transition(p, i, item, states, cat)
        if transition is None:
            continue
        if transition.name in transitions:
            p.add(
                f"definition.transitions[{i}].name",
                f"transition {transition.name!r} is defined twice",
            )
        transitions[transition.name] = transition
    for here, state_name, transition_name in p.ladder_transitions:
        leaving = transitions.get(transition_name)
        if leaving is None or state_name not in leaving.sources:
            p.add(here, f"transition {transition_name!r} does not leave {state_name!r}")
        elif any(f.required for f in leaving.form):
            p.add(here, f"a timer cannot fill the required form of {transition_name!r}")
    for here, spec, in_state in p.tasks:
        _check_outcomes(p, here, spec, in_state, states, transitions)
    if initials:
        _reachability(p, states, transitions.values(), initials, raw_states)
    if p.problems:
        return None, p.problems
    triggers, timed, start_messages = _triggers(p, raw.get("triggers"), cat)
    if p.problems:
        return None, p.problems
    return (
        Definition(
            states=states,
            transitions=transitions,
            body=raw,
            triggers=triggers,
            timed=timed,
            start_messages=frozenset(start_messages),
            task_only=frozenset(p.task_transitions),
        ),
        [],
    )


TRIGGER_ROOTS = frozenset({"event"})


def _triggers(
    p: _Collector, raw: Any, cat: Catalogue
) -> tuple[tuple[Trigger, ...], tuple[triggers_more.TimedTrigger, ...], list[str]]:
    out: list[Trigger] = []
    timed: list[triggers_more.TimedTrigger] = []
    messages: list[str] = []
    for i, item in enumerate(_list(p, "definition.triggers", raw, limit=20)):
        here = f"definition.triggers[{i}]"
        if not isinstance(item, dict):
            p.add(
                here,
                "must be an object {event, filter, variables}, {cron}, {dateField} or {message}",
            )
            continue
        if "message" in item:
            p.unknown_keys(here, item, {"message"})
            message = _message(p, here, item)
            if message is not None:
                messages.append(message)
            continue
        if "cron" in item or "dateField" in item:
            if "cron" in item:
                found, problems = triggers_more.parse_cron(i, here, item)
            else:
                found, problems = triggers_more.parse_date(
                    i, here, item, cat.date_fields, cat.document_types
                )
            for path, message in problems:
                p.add(path, message)
            timed.append(found)
            continue
        p.unknown_keys(here, item, {"event", "filter", "variables"})
        event = item.get("event")
        if not isinstance(event, str) or event not in cat.events:
            p.add(f"{here}.event", f"unknown event type {event!r}")
            continue
        if event.startswith("workflow."):
            p.add(f"{here}.event", "workflow's own events cannot start workflows (no loops)")
            continue
        condition = item.get("filter")
        if condition is not None:
            condition = _checked(p, f"{here}.filter", condition, TRIGGER_ROOTS)
        variables: list[tuple[str, str]] = []
        raw_vars = item.get("variables", {})
        if not isinstance(raw_vars, dict):
            p.add(f"{here}.variables", "must map variable names to CEL expressions")
            raw_vars = {}
        for name, source in raw_vars.items():
            if _name(p, f"{here}.variables.{name}", name) is None:
                continue
            checked = _checked(p, f"{here}.variables.{name}", source, TRIGGER_ROOTS)
            if checked is not None:
                variables.append((name, checked))
        out.append(Trigger(event=event, filter=condition, variables=tuple(variables)))
    return tuple(out), tuple(timed), messages


def _checked(p: _Collector, path: str, raw: Any, roots: frozenset[str]) -> str | None:
    if not isinstance(raw, str):
        p.add(path, "must be a CEL expression (a string)")
        return None
    try:
        check(raw, roots)
    except ExpressionError as exc:
        p.add(path, str(exc))
        return None
    return raw


def _reachability(
    p: _Collector,
    states: Mapping[str, State],
    transitions: Iterable[Transition],
    initials: list[str],
    raw_states: list[Any],
) -> None:
    where = {
        item.get("name"): i
        for i, item in reversed(list(enumerate(raw_states)))
        if isinstance(item, dict)
    }
    edges: dict[str, set[str]] = {name: set() for name in states}
    for t in transitions:
        for source in t.sources:
            if source in edges and t.target:
                edges[source].add(t.target)
    seen, todo = set(initials), list(initials)
    start = " or ".join(repr(name) for name in initials)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    for name in states:
        i = where.get(name, 0)
        if name not in seen:
            p.add(f"definition.states[{i}]", f"state {name!r} is unreachable from {start}")
        elif not states[name].final and not edges[name]:
            p.add(f"definition.states[{i}]", f"no transition leaves the non-final state {name!r}")


def load(body: Mapping[str, Any]) -> Definition:
    """A stored (already validated) definition, without the name checks."""
    everything = Catalogue(
        roles=_AnyName(),
        permissions=_AnyName(),
        events=_AnyName(),
        document_types=_AnyName(),
        custom_fields=_AnyName(),
        date_fields=_AnyName(),
        workflows=_AnyName(),
        topics=_AnyName(),
    )
    definition, problems = parse(dict(body), everything)
    if definition is None:
        raise ValueError(f"stored definition no longer parses: {problems}")
    return definition


class _AnyName(frozenset[str]):
    """A set that contains everything: stored definitions were checked when saved (a role
    renamed since simply no longer matches anyone)."""

    def __contains__(self, item: object) -> bool:
        return True
