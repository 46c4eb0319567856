"""Definition validation: every problem listed at once; CEL cannot reach Python."""

from __future__ import annotations

from typing import Any

import pytest

from hub.workflow.domain.definitions import Catalogue, parse
from hub.workflow.domain.expressions import ExpressionError, check, holds, value_of

CAT = Catalogue(roles=frozenset({"approver", "admin"}), permissions=frozenset({"x.y.read"}))
ROOTS = frozenset({"vars", "data", "subject"})


def approval() -> dict[str, Any]:
    return {
        "states": [
            {"name": "review", "initial": True, "slaMinutes": 60},
            {"name": "approved", "final": True},
            {"name": "rejected", "final": True},
        ],
        "transitions": [
            {
                "name": "approve",
                "from": "review",
                "to": "approved",
                "roles": ["Approver"],
                "condition": "vars.amount < 1000",
                "actions": [
                    {"kind": "setVariable", "name": "approvedBy", "expression": "data.who"},
                    {"kind": "setTags", "tags": ["approved"]},
                    {
                        "kind": "notify",
                        "templateKey": "general.announcement",
                        "to": {"starter": True},
                    },
                ],
            },
            {
                "name": "reject",
                "from": ["review"],
                "to": "rejected",
                "permission": "x.y.read",
                "form": [{"name": "reason", "required": True}],
            },
        ],
    }


def test_a_sound_definition_parses() -> None:
    definition, problems = parse(approval(), CAT)
    assert problems == []
    assert definition is not None
    assert definition.initial.name == "review"
    assert [t.name for t in definition.leaving("review")] == ["approve", "reject"]
    assert definition.transitions["reject"].form[0].required


def test_every_problem_is_listed() -> None:
    body = approval()
    body["states"].append({"name": "limbo"})  # unreachable, and a dead end
    body["states"].append({"name": "start2", "initial": True})
    body["states"][1]["onEnter"] = [{"kind": "launchRockets"}]
    body["transitions"].append({"name": "reopen", "from": "approved", "to": "review"})
    body["transitions"][0]["roles"] = ["ghosts"]
    body["transitions"][0]["condition"] = "vars.amount <"
    body["transitions"][1]["permission"] = "no.such.permission"
    body["transitions"][1]["to"] = "nowhere"
    body["surprise"] = 1
    definition, problems = parse(body, CAT)
    assert definition is None
    found = {(p.path, p.message.split(" (")[0].split(":")[0]) for p in problems}
    paths = {p.path for p in problems}
    assert "definition.surprise" in paths
    assert "definition.transitions[0].roles[0]" in paths
    assert "definition.transitions[0].condition" in paths
    assert "definition.transitions[1].permission" in paths
    assert "definition.transitions[1].to" in paths
    assert "definition.transitions[2].from[0]" in paths  # from a final state
    assert "definition.states[1].onEnter[0].kind" in paths
    assert any("exactly one state must be initial" in p.message for p in problems)
    assert any("'limbo' is unreachable" in p.message for p in problems) or any(
        "limbo" in p.message for p in problems
    )
    assert len(found) >= 8


def test_unreachable_and_dead_end_states() -> None:
    body = approval()
    body["states"].append({"name": "limbo"})
    _, problems = parse(body, CAT)
    assert [p.message for p in problems] == ["state 'limbo' is unreachable from 'review'"]
    body["transitions"].append({"name": "park", "from": "review", "to": "limbo"})
    _, problems = parse(body, CAT)
    assert [p.message for p in problems] == ["no transition leaves the non-final state 'limbo'"]


def test_no_initial_and_no_final_state() -> None:
    _, problems = parse({"states": [{"name": "a"}], "transitions": []}, CAT)
    messages = [p.message for p in problems]
    assert "exactly one state must be initial (no initial state)" in messages
    assert "at least one state must be final" in messages
    _, problems = parse("nope", CAT)
    assert problems[0].path == "definition"


@pytest.mark.parametrize(
    "source",
    [
        "vars.__class__",
        'vars["__class__"]',
        '__import__("os")',
        "os.system('x')",
        "open('/etc/passwd')",
        "vars.x.__globals__",
        "exec('1')",
        "",
    ],
)
def test_expressions_cannot_reach_python(source: str) -> None:
    with pytest.raises(ExpressionError):
        check(source, ROOTS)


def test_expressions_evaluate_over_plain_maps() -> None:
    check("[1, 2].exists(x, x > vars.n) && size(data.reason) > 0", ROOTS)
    assert holds("vars.n > 1", {"vars": {"n": 2}}) == (True, None)
    assert holds("vars.n > 1", {"vars": {"n": 0}}) == (False, "the condition is false")
    ok, why = holds("vars.missing > 1", {"vars": {}})
    assert not ok
    assert why is not None
    assert "could not be evaluated" in why
    assert holds("vars.n", {"vars": {"n": 3}}) == (False, "the condition did not yield a boolean")
    assert value_of("vars.n * 2", {"vars": {"n": 21}}) == 42


def test_tasks_are_checked_against_their_state_and_transitions() -> None:
    body = approval()
    task = {
        "kind": "createTask",
        "name": "Approve",
        "roles": ["approver", "nobody"],
        "approvals": 0,
        "approveOutcome": "ok",
        "outcomes": {"approve": {"transition": "approve"}, "later": {"transition": "fly"}},
    }
    body["states"][0]["onEnter"] = [task]
    body["states"][0]["onLeave"] = [{**task, "approvals": 2, "roles": ["approver"]}]
    body["transitions"][1]["actions"] = [{**task, "approvals": 2, "roles": ["approver"]}]
    _, problems = parse(body, CAT)
    messages = {(p.path, p.message) for p in problems}
    assert ("definition.states[0].onEnter[0].roles[1]", "unknown role 'nobody'") in messages
    assert (
        "definition.states[0].onEnter[0].approvals",
        "must be a whole number from 1 to 50",
    ) in messages
    assert (
        "definition.states[0].onEnter[0].outcomes.later.transition",
        "unknown transition 'fly'",
    ) in messages
    assert (
        "definition.states[0].onLeave[0]",
        "tasks are created on entering a state or by a transition, not on leaving",
    ) in messages
    assert (
        "definition.transitions[1].actions[0]",
        "a task in the final state 'rejected' could never complete",
    ) in messages
    body["states"][0]["onEnter"] = [
        {**task, "roles": ["approver"], "approvals": 2, "approveOutcome": "approve"}
    ]
    body["states"][0]["onEnter"][0]["outcomes"] = {"approve": {"transition": "approve"}}
    body["states"][0].pop("onLeave")
    body["transitions"][1].pop("actions")
    definition, problems = parse(body, CAT)
    assert problems == []
    assert definition is not None
    assert definition.states["review"].on_enter[0].kind == "createTask"


def test_a_message_transition_has_a_key_for_a_name_and_no_guard_of_its_own() -> None:
    body = approval()
    del body["transitions"][1]["permission"]
    body["transitions"][1]["message"] = "review.rejected"
    definition, problems = parse(body, CAT)
    assert problems == []
    assert definition is not None
    assert definition.transitions["reject"].message == "review.rejected"
    assert definition.transitions["approve"].message is None

    for message, roles, expected in (
        ("Review Rejected", [], ("definition.transitions[1].message", "a message name is a key")),
        (42, [], ("definition.transitions[1].message", "a message name is a key")),
        ("review.rejected", ["approver"], ("definition.transitions[1].roles", "a message")),
    ):
        bad = approval()
        del bad["transitions"][1]["permission"]
        bad["transitions"][1].update(message=message, roles=roles)
        definition, problems = parse(bad, CAT)
        assert definition is None
        assert any(p.path == expected[0] and p.message.startswith(expected[1]) for p in problems), (
            problems
        )
    guarded = approval()
    guarded["transitions"][1]["message"] = "review.rejected"
    _, problems = parse(guarded, CAT)
    assert [p.path for p in problems] == ["definition.transitions[1].permission"]


def test_a_message_trigger_starts_the_workflow_and_names_a_key() -> None:
    body = approval()
    body["triggers"] = [{"message": "invoice.received"}]
    definition, problems = parse(body, CAT)
    assert problems == []
    assert definition is not None
    assert definition.start_messages == frozenset({"invoice.received"})
    for trigger, path in (
        ({"message": "Invoice!"}, "definition.triggers[0].message"),
        ({"message": "invoice.received", "filter": "true"}, "definition.triggers[0].filter"),
    ):
        body["triggers"] = [trigger]
        definition, problems = parse(body, CAT)
        assert definition is None
        assert [p.path for p in problems] == [path]
