"""The messaging policy by role, without a database."""

from __future__ import annotations

import uuid

import pytest

from hub.communication.domain.messaging import MessagingPolicy, check_rules, role_key
from hub.kernel.errors import AppError

POLICY = MessagingPolicy({"patient": frozenset({"practitioner", "staff"})})


def test_a_restricted_member_reaches_only_the_roles_allowed() -> None:
    assert POLICY.may_reach({"patient"}, {"practitioner"})
    assert POLICY.may_reach({"patient"}, {"staff", "patient"})
    assert not POLICY.may_reach({"patient"}, {"patient"})
    assert not POLICY.may_reach({"patient"}, set())  # a former member holds no role
    # any role without a rule lifts the restriction; unrestricted people reach anyone
    assert POLICY.may_reach({"patient", "staff"}, {"patient"})
    assert POLICY.may_reach({"practitioner"}, {"patient"})
    assert MessagingPolicy().may_reach({"patient"}, {"patient"})


def test_the_first_pair_a_conversation_may_not_gather() -> None:
    doctor, camille, louis = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    roles = {doctor: {"practitioner"}, camille: {"patient"}, louis: {"patient"}}
    assert POLICY.refused_pair({doctor: roles[doctor], camille: roles[camille]}) is None
    assert POLICY.refused_pair(roles) == (camille, louis)
    assert MessagingPolicy().refused_pair(roles) is None


def test_rules_name_the_organisations_roles_once_each() -> None:
    known = {"owner", "practitioner", "staff", "patient"}
    assert check_rules([("Patient", ["Staff", "practitioner", "staff"])], known) == {
        "patient": ["practitioner", "staff"]
    }
    bad = [
        ([("nurse", ["staff"])], "rules[0].role"),
        ([("patient", ["nurse"])], "rules[0].mayMessage[0]"),
        ([("patient", [])], "rules[0].mayMessage"),
        ([("patient", ["staff"]), ("PATIENT", ["staff"])], "rules[1].role"),
    ]
    for rules, field in bad:
        with pytest.raises(AppError) as caught:
            check_rules(rules, known)
        assert [e.field for e in caught.value.errors] == [field]
    assert role_key("  Care   Team ") == "care team"
