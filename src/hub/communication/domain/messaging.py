"""Who may message whom in an organisation: a policy by role (a medical practice lets
patients talk to its practitioners and staff, not to other patients).

A rule names a role and the roles its holders may message. A member is **restricted**
when every role they hold has a rule (a member holding any role without one — an owner,
an administrator, a practitioner — is not); a restricted member may be in a
conversation only with people holding at least one role their rules allow. The check
covers everyone a conversation would gather, whoever gathers them: a practitioner
cannot put two patients in one group either. No rule: anyone may message anyone (the
platform's default).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from hub.kernel.problems import field_invalid

#: Rules one organisation may have, and roles one rule may name.
MAX_RULES = 50
MAX_TARGETS = 50


def role_key(name: str) -> str:
    """Role names compare as identity compares them: spaces collapsed, case folded."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class MessagingPolicy:
    #: role -> the roles its holders may message (both as :func:`role_key`).
    rules: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def may_reach(self, mine: Collection[str], theirs: Collection[str]) -> bool:
        """Whether a member holding ``mine`` may be in a conversation with one holding
        ``theirs`` (role names as :func:`role_key`)."""
        if not mine or any(r not in self.rules for r in mine):
            return True
        allowed = frozenset().union(*(self.rules[r] for r in mine))
        return bool(allowed & set(theirs))

    def refused_pair(
        self, roles: Mapping[uuid.UUID, Collection[str]]
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        """The first two people of ``roles`` (user -> role keys) who may not be together
        (the first one restricted), or None."""
        if not self.rules:
            return None
        for a, mine in roles.items():
            for b, theirs in roles.items():
                if a != b and not self.may_reach(mine, theirs):
                    return a, b
        return None


def check_rules(
    rules: Sequence[tuple[str, Sequence[str]]], known: Collection[str], name: str = "rules"
) -> dict[str, list[str]]:
    """``(role, may message)`` pairs checked against the organisation's role names
    (``known``, as :func:`role_key`): 422 naming ``rules[i].role`` or
    ``rules[i].mayMessage[j]``; each role at most once."""
    if len(rules) > MAX_RULES:
        raise field_invalid(name, f"at most {MAX_RULES} rules")
    out: dict[str, list[str]] = {}
    for i, (role, targets) in enumerate(rules):
        key = role_key(role)
        if key not in known:
            raise field_invalid(f"{name}[{i}].role", f"no role {role!r} in the organisation")
        if key in out:
            raise field_invalid(f"{name}[{i}].role", f"{role!r} has a rule already")
        if not targets or len(targets) > MAX_TARGETS:
            raise field_invalid(f"{name}[{i}].mayMessage", f"1 to {MAX_TARGETS} roles")
        for j, target in enumerate(targets):
            if role_key(target) not in known:
                raise field_invalid(
                    f"{name}[{i}].mayMessage[{j}]", f"no role {target!r} in the organisation"
                )
        out[key] = sorted({role_key(t) for t in targets})
    return out
