"""Where a migrated instance lands, and every reason it cannot (``domain.migration``)."""

from __future__ import annotations

from hub.workflow.domain.definitions import load
from hub.workflow.domain.migration import OpenTask, landing

TARGET = load(
    {
        "states": [
            {"name": "triage", "initial": True},
            {"name": "review"},
            {"name": "done", "final": True},
        ],
        "transitions": [
            {"name": "accept", "from": ["triage", "review"], "to": "done"},
            {"name": "send", "from": ["triage"], "to": "review"},
        ],
    }
)
TASK = OpenTask(name="Check", outcomes={"ok": {"transition": "accept"}})


def test_a_state_of_the_same_name_or_the_mapped_one() -> None:
    assert landing(TARGET, "review", {}, [TASK]) == ("review", [])
    assert landing(TARGET, "old", {"old": "triage"}, [TASK]) == ("triage", [])
    # a mapping of other states is checked too, but does not move this one
    assert landing(TARGET, "review", {"gone": "triage"}, []) == ("review", [])


def test_every_reason_is_named() -> None:
    to, problems = landing(TARGET, "old", {}, [TASK])
    assert (to, [p.path for p in problems]) == ("old", ["stateMapping"])
    _, problems = landing(TARGET, "old", {"old": "nowhere", "x": "done"}, [])
    assert [p.path for p in problems] == ["stateMapping.old"]
    _, problems = landing(TARGET, "review", {"review": "done"}, [])
    assert [(p.path, "final" in p.message) for p in problems] == [("stateMapping.review", True)]
    stuck = OpenTask(
        name="Send", outcomes={"go": {"transition": "send"}, "ok": {"transition": "accept"}}
    )
    _, problems = landing(TARGET, "review", {}, [stuck])
    assert [p.path for p in problems] == ["toVersion"]
    assert "'go' takes 'send'" in problems[0].message
    _, problems = landing(TARGET, "triage", {}, [stuck, TASK])
    assert problems == []
