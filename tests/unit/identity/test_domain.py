"""Identity's pure rules: address normalisation, password policy, secrets, TOTP steps."""

from __future__ import annotations

import pyotp
import pytest

from hub.identity.domain import totp
from hub.identity.domain.emails import is_valid_email, mailbox_key, normalise_email
from hub.identity.domain.passwords import (
    common_passwords,
    is_unusable,
    password_problems,
    unusable,
)
from hub.identity.domain.secrets import (
    Sealer,
    new_recovery_codes,
    new_token,
    normalise_recovery_code,
    sealer_for_token,
    token_hash,
)


@pytest.mark.parametrize(
    "raw", ["Alice@X.com", " alice@x.com", "alice@x.com\t", "\uff21\uff2c\uff29\uff23\uff25@x.com"]
)
def test_spellings_of_one_address_normalise_alike(raw: str) -> None:
    assert normalise_email(raw) == "alice@x.com"


@pytest.mark.parametrize("raw", ["", "alice", "@x.com", "alice@", "a b@x.com", "a@b@c", "a@.x"])
def test_malformed_addresses_are_invalid(raw: str) -> None:
    assert not is_valid_email(normalise_email(raw))


@pytest.mark.parametrize(
    "raw",
    [
        "x<attacker@evil.com>",
        "a,b@x.com",
        "a;b@x.com",
        "a:b@x.com",
        '"a"@x.com',
        '"a b"@x.com',
        "a(c)@x.com",
        "a\x01b@x.com",
        "a\nb@x.com",
        "a@x",
        "a@[1.2.3.4]",
        "a..b@x.com",
    ],
)
def test_only_strict_addr_specs_are_valid(raw: str) -> None:
    """What a mail library could read as a display name, a list or a quoted local part."""
    assert not is_valid_email(normalise_email(raw))


def test_an_internationalised_domain_has_one_spelling() -> None:
    assert normalise_email("Ada@XN--MNCHEN-3YA.DE") == "ada@münchen.de"
    assert normalise_email("ada@MÜNCHEN.de") == "ada@münchen.de"
    assert is_valid_email("ada@münchen.de")
    assert is_valid_email("o'brien+tag@sub.example.co.uk")


@pytest.mark.parametrize(
    ("address", "mailbox"),
    [
        ("alice@x.com", "alice@x.com"),
        ("alice+news@x.com", "alice@x.com"),
        ("alice+a+b@x.com", "alice@x.com"),
        ("+only@x.com", "+only@x.com"),  # no mailbox name before the tag: kept whole
        ("a.lice@x.com", "a.lice@x.com"),  # dots are a provider's business
        ("alice@x+y.com", "alice@x+y.com"),
    ],
)
def test_subaddresses_share_their_mailbox_for_mail_limits(address: str, mailbox: str) -> None:
    assert mailbox_key(address) == mailbox


def test_the_shipped_common_password_list_is_loaded() -> None:
    common = common_passwords()
    assert len(common) > 10_000
    assert {"password", "12345678", "iloveyou"} <= common
    assert all(len(p) >= 8 for p in common)


def test_password_policy_is_length_and_blocklist() -> None:
    assert password_problems("1234567") == ["Use at least 8 characters."]
    assert password_problems("QWERTYUIOP")  # blocklisted, any case
    assert password_problems("x" * 1025)
    assert password_problems("correct horse battery staple") == []
    assert password_problems("no composition rules") == []
    assert password_problems("Ada Lovelace", display_name="ada lovelace")
    assert password_problems("ada@example.com", email="ada@example.com")


def test_tokens_are_long_and_hashed() -> None:
    token = new_token("hub_rt_")
    assert token.startswith("hub_rt_")
    assert len(token) >= 7 + 43
    assert token_hash(token) == token_hash(token) != token_hash(new_token("hub_rt_"))


def test_sealed_data_needs_the_same_key_and_context() -> None:
    sealer = Sealer(b"secret", "purpose")
    sealed = sealer.seal(b"payload", context=b"kid-1")
    assert sealer.open(sealed, context=b"kid-1") == b"payload"
    with pytest.raises(Exception):  # noqa: B017, PT011 - cryptography's InvalidTag
        sealer.open(sealed, context=b"kid-2")
    with pytest.raises(Exception):  # noqa: B017, PT011
        Sealer(b"secret", "other purpose").open(sealed, context=b"kid-1")
    successor = sealer_for_token("tok-1").seal(b"next")
    assert sealer_for_token("tok-1").open(successor) == b"next"
    with pytest.raises(Exception):  # noqa: B017, PT011
        sealer_for_token("tok-2").open(successor)


def test_recovery_codes_are_distinct_and_forgiving_to_type() -> None:
    codes = new_recovery_codes()
    assert len(set(codes)) == 10
    assert normalise_recovery_code(codes[0].upper().replace("-", " ")) == normalise_recovery_code(
        codes[0]
    )


def test_codes_in_other_scripts_match_nothing_and_never_raise() -> None:
    secret = totp.new_secret()
    now = 1_700_000_000.0
    code = totp.code_at(secret, totp.current_step(now))
    assert totp.matching_step(secret, f"{code[:3]} {code[3:]}", now=now) is not None
    assert totp.matching_step(secret, f"{code[:3]}-{code[3:]}", now=now) is not None
    arabic = "".join(chr(0x0660 + int(d)) for d in code)  # the same digits, Arabic-Indic
    wide = "".join(chr(0xFF10 + int(d)) for d in code)  # full-width
    for other in (arabic, wide, code[:5] + "x", code + "\u00a0", "¹²³⁴⁵⁶"):
        assert totp.clean_code(other) is None
        assert totp.matching_step(secret, other, now=now) is None
    (recovery,) = new_recovery_codes()[:1]
    wide_recovery = "".join(chr(ord(c) + 0xFEE0) if c != "-" else c for c in recovery)
    assert normalise_recovery_code(wide_recovery) == ""
    assert normalise_recovery_code(recovery.upper()) == recovery.replace("-", "")


def test_totp_matches_one_step_either_way_only() -> None:
    secret = totp.new_secret()
    now = 1_700_000_000.0
    step = totp.current_step(now)
    for offset in (-1, 0, 1):
        assert (
            totp.matching_step(secret, totp.code_at(secret, step + offset), now=now)
            == step + offset
        )
    far = totp.code_at(secret, step + 2)
    if far not in {totp.code_at(secret, step + o) for o in (-1, 0, 1)}:
        assert totp.matching_step(secret, far, now=now) is None
    assert totp.matching_step(secret, "12345", now=now) is None
    assert totp.code_at(secret, step) == pyotp.TOTP(secret).at(now)
    assert totp.provisioning_uri(secret, account="a@x.com", issuer="Hub").startswith(
        "otpauth://totp/Hub:a%40x.com?secret="
    )


def test_an_unusable_hash_is_marked_and_never_an_argon2_encoding() -> None:
    real = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA"
    assert not is_unusable(real)
    assert is_unusable(unusable(real))
    assert not unusable(real).startswith("$")
