"""Single sign-on rules without I/O: which ID-token claims identify a person, and what
provider settings may be."""

from __future__ import annotations

from typing import Any

import pytest

from hub.identity.domain.accounts import keep_a_way_in
from hub.identity.domain.sso import (
    LOGOUT_EVENT,
    asserted_identity,
    challenge_record,
    clean_domain,
    clean_domains,
    clean_issuer,
    logout_target,
    may_provision,
    proves,
    unverified,
    with_userinfo,
)
from hub.kernel.errors import Conflict, Forbidden, Invalid


def claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "abc", "email": "Pat@Acme.Example", "email_verified": True, **extra}


def test_a_verified_address_identifies_the_person() -> None:
    person = asserted_identity(claims(name="  Pat   Doe "))
    assert (person.subject, person.email, person.name) == ("abc", "pat@acme.example", "Pat Doe")
    # Some providers send the flag as a string; the name falls back to the local part.
    assert asserted_identity(claims(email_verified="true")).name == "pat"


@pytest.mark.parametrize("verified", [False, "false", "True", 1, None, "yes"])
def test_anything_but_true_is_not_verified(verified: Any) -> None:
    with pytest.raises(Forbidden) as refused:
        asserted_identity(claims(email_verified=verified))
    assert refused.value.code == "sso_email_not_verified"


@pytest.mark.parametrize("email", [None, "", "  ", "not-an-address", "a@b@c", 42])
def test_a_missing_or_invalid_address_is_refused(email: Any) -> None:
    with pytest.raises(Forbidden) as refused:
        asserted_identity(claims(email=email))
    assert refused.value.code == "sso_email_missing"


def test_domains_are_normalised_and_checked() -> None:
    assert clean_domains(["Acme.Example", "@acme.example", " sub.acme.example "]) == [
        "acme.example",
        "sub.acme.example",
    ]
    for bad in (["not a domain"], ["a@b"], [""], ["x" * 300]):
        with pytest.raises(Invalid):
            clean_domains(bad)
    assert may_provision("pat@acme.example", ["acme.example"])
    assert not may_provision("pat@sub.acme.example", ["acme.example"])
    assert not may_provision("pat@evilacme.example", ["acme.example"])


def test_issuers_are_http_urls_without_extras() -> None:
    assert clean_issuer(" https://idp.example/realms/acme/ ") == "https://idp.example/realms/acme"
    for bad in (
        "ftp://idp.example",
        "idp.example",
        "https://idp.example/?q=1",
        "https://idp.example/#x",
        "https://user:pw@idp.example",
    ):
        with pytest.raises(Invalid):
            clean_issuer(bad)


def test_userinfo_fills_only_what_the_id_token_left_out() -> None:
    token = {"sub": "s1", "email": "ada@acme.example", "name": "Ada"}
    # The verification of the same address is taken; the ID token's name stays.
    merged = with_userinfo(
        token, {"sub": "s1", "email": "ada@acme.example", "email_verified": True, "name": "X"}
    )
    assert merged == {**token, "email_verified": True}
    # UserInfo's verification of another address never vouches for the ID token's.
    other = with_userinfo(token, {"sub": "s1", "email": "eve@evil.example", "email_verified": True})
    assert "email_verified" not in other
    assert other["email"] == "ada@acme.example"
    # No address in the ID token: address and verification come together from UserInfo.
    bare = with_userinfo(
        {"sub": "s1"}, {"sub": "s1", "email": "pat@acme.example", "email_verified": False}
    )
    assert bare == {"sub": "s1", "email": "pat@acme.example", "email_verified": False}


def test_the_last_way_into_an_account_is_not_given_up() -> None:
    keep_a_way_in(has_password=True, other_ways_in=0)
    keep_a_way_in(has_password=False, other_ways_in=1)
    with pytest.raises(Conflict) as refused:
        keep_a_way_in(has_password=False, other_ways_in=0)
    assert refused.value.code == "last_sign_in_method"


def test_a_domain_is_stored_as_addresses_store_theirs() -> None:
    assert clean_domain(" @Acme.Example ", "domain") == "acme.example"
    assert clean_domain("xn--mnchen-3ya.de", "domain") == "münchen.de"
    for bad in ("", "acme", "a b.example", "a@b.example", "acme..example", "x\x00.example"):
        with pytest.raises(Invalid) as refused:
            clean_domain(bad, "domain")
        assert refused.value.errors is not None
        assert refused.value.errors[0].field == "domain"


def test_a_domain_is_proved_by_its_own_value_among_others() -> None:
    assert challenge_record("acme.example") == "_hub-challenge.acme.example"
    token = "hub-domain-verification=abc"
    assert proves(["v=spf1 -all", f" {token} "], token)
    assert not proves([], token)
    assert not proves(["hub-domain-verification=ab", token + "c"], token)
    assert unverified(["a.example", "b.example"], {"b.example"}) == ["a.example"]


def test_a_logout_token_names_a_subject_or_a_session_and_carries_the_event() -> None:
    event = {LOGOUT_EVENT: {}}
    target = logout_target({"events": event, "sub": "s1", "sid": "p9"})
    assert (target.subject, target.provider_session) == ("s1", "p9")
    assert logout_target({"events": event, "sid": "p9"}).subject is None
    for bad in (
        {"events": event},
        {"events": event, "sub": "", "sid": ""},
        {"sub": "s1"},
        {"events": {LOGOUT_EVENT: "yes"}, "sub": "s1"},
        {"events": event, "sub": "s1", "nonce": "n"},
    ):
        with pytest.raises(Invalid) as refused:
            logout_target(bad)
        assert (refused.value.status_code, refused.value.code) == (400, "logout_token_invalid")
