"""Rules for what an account may be called, which password it may have, and which of its
sign-in methods it may give up."""

from __future__ import annotations

from hub.identity.domain.emails import is_valid_email, normalise_email
from hub.identity.domain.passwords import password_problems
from hub.kernel.errors import Conflict, FieldError, Invalid
from hub.kernel.problems import field_invalid, sized

MAX_DISPLAY_NAME = 120


def clean_display_name(raw: str) -> str:
    return sized(" ".join(raw.split()), field="displayName", most=MAX_DISPLAY_NAME)


def clean_email(raw: str) -> str:
    email = normalise_email(raw)
    if not is_valid_email(email):
        raise field_invalid("email", "Enter a valid e-mail address.")
    return email


def check_password_policy(password: str, *, field: str, email: str, display_name: str) -> None:
    problems = password_problems(password, email=email, display_name=display_name)
    if problems:
        raise Invalid(
            problems[0],
            code="weak_password",
            errors=[FieldError(field=field, message=p, source="body") for p in problems],
        )


def keep_a_way_in(*, has_password: bool, other_ways_in: int) -> None:
    """Refuse to remove a sign-in method (a provider link, a passkey) that is the account's
    last way in, as Keycloak does: an account made by single sign-on has no password, so
    without a passkey or another link only a password reset would be left (409
    ``last_sign_in_method``)."""
    if not has_password and other_ways_in < 1:
        raise Conflict(
            "This is the account's only way to sign in: set a password, register a passkey "
            "or link another identity provider first.",
            code="last_sign_in_method",
        )
