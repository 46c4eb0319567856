"""Moving a running instance to another version of its workflow (Camunda's process
instance migration): where it lands, and whether it can land there at all.

Publishing a version never touches running instances (they finish on theirs), so a
definition fixed after instances started needs an explicit move. The move is checked
against the target version before anything is written, and refused whole, naming every
reason: the state the instance lands in must exist there and not be final (reaching an
end is a transition's job), every ``stateMapping`` value must be a state there, and each
open task of the state must still lead somewhere: the transition each of its outcomes
takes has to leave the landing state in the target version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.workflow.domain.definitions import Definition, Problem


@dataclass(frozen=True)
class OpenTask:
    name: str
    #: outcome -> {"transition": name, ...} (``Task.outcomes``).
    outcomes: Mapping[str, Mapping[str, Any]]


def landing(
    target: Definition, state: str, mapping: Mapping[str, str], tasks: Sequence[OpenTask]
) -> tuple[str, list[Problem]]:
    """The state the instance in ``state`` lands in (``mapping`` renames states, a state
    left out keeps its name) and every reason it cannot move (empty when it can)."""
    problems = [
        Problem(f"stateMapping.{old}", f"{new!r} is not a state of the target version")
        for old, new in mapping.items()
        if new not in target.states
    ]
    to = mapping.get(state, state)
    if to not in target.states:
        if state not in mapping:
            problems.append(
                Problem(
                    "stateMapping",
                    f"the instance is in {state!r}, which the target version does not have: "
                    "map it to one of its states",
                )
            )
        return to, problems
    where = f"stateMapping.{state}" if state in mapping else "toVersion"
    if target.states[to].final:
        problems.append(
            Problem(where, f"{to!r} is a final state: take a transition to end the instance")
        )
    for task in tasks:
        for outcome, spec in sorted(task.outcomes.items()):
            name = str(spec.get("transition"))
            transition = target.transitions.get(name)
            if transition is None or to not in transition.sources:
                problems.append(
                    Problem(
                        where,
                        f"the open task {task.name!r}: its outcome {outcome!r} takes "
                        f"{name!r}, which does not leave {to!r} in the target version",
                    )
                )
    return to, problems
