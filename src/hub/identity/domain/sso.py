"""Single sign-on (OpenID Connect) as rules: what an identity provider's settings may be,
which claims of a validated ID token identity trusts, and what a sign-in then does.

No I/O here: discovery, the token exchange and the ID token's signature are
``services.oidc``'s; this module decides on their results.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hub.identity.domain.emails import is_valid_email, normalise_email
from hub.identity.domain.roles import clean_name
from hub.kernel.errors import Forbidden, Invalid
from hub.kernel.problems import field_invalid, sized

#: Scopes asked of every provider: ``openid`` plus the address and the name.
SCOPES = "openid email profile"
#: The ID token must carry these (OIDC Core 5.5: asked for by the ``claims`` parameter,
#: as most providers put them only in the userinfo answer otherwise).
CLAIMS_REQUEST = (
    '{"id_token":{"email":{"essential":true},"email_verified":{"essential":true},"name":null}}'
)
#: Signature algorithms accepted on ID tokens (never ``none``, never HMAC: the client
#: secret must not double as a signing key an administrator could read back).
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
#: What a session opened through a provider records as its methods (RFC 8176 has no
#: federation value; "fed" is what Entra ID and others use).
SSO_METHODS = ("fed",)
MAX_PROVIDER_NAME = 80
MAX_CLIENT_VALUE = 1000
MAX_DOMAINS = 50


def clean_provider_name(raw: str) -> str:
    return sized(clean_name(raw), field="name", most=MAX_PROVIDER_NAME)


def clean_issuer(raw: str) -> str:
    """The issuer identifier as the provider spells it (OIDC Discovery 4.3 compares it
    exactly), without a trailing slash; http(s), no query, fragment or credentials."""
    issuer = raw.strip()
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise field_invalid("issuer", "Enter the issuer's https:// URL.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise field_invalid("issuer", "An issuer has no query, fragment or credentials.")
    return issuer.rstrip("/")


def clean_client_value(raw: str, field: str) -> str:
    value = raw.strip()
    if not value:
        raise field_invalid(field, "Enter a value.")
    if len(value) > MAX_CLIENT_VALUE or any(ord(c) < 0x20 for c in value):
        raise field_invalid(field, f"At most {MAX_CLIENT_VALUE} printable characters.")
    return value


def clean_domains(raw: list[str]) -> list[str]:
    """E-mail domains, lower-cased and in their Unicode form, each once, sorted."""
    if len(raw) > MAX_DOMAINS:
        raise field_invalid("emailDomains", f"At most {MAX_DOMAINS} domains.")
    return sorted({clean_domain(entry, "emailDomains") for entry in raw})


def clean_domain(raw: str, field: str) -> str:
    """One domain, as addresses store theirs: lower-case, Unicode form, no leading ``@``."""
    text = unicodedata.normalize("NFKC", raw).strip().lower().lstrip("@")
    checked = normalise_email(f"postmaster@{text}")
    if not text or not is_valid_email(checked):
        raise field_invalid(field, f"{raw!r} is not a domain name.")
    return checked.rpartition("@")[2]


#: Where an organisation proves a domain: a TXT record under this label of the domain.
CHALLENGE_LABEL = "_hub-challenge"
CHALLENGE_PREFIX = "hub-domain-verification="


def challenge_record(domain: str) -> str:
    return f"{CHALLENGE_LABEL}.{domain}"


def proves(txt_values: list[str], token: str) -> bool:
    """Whether one of the TXT strings found is the organisation's challenge value (other
    records may sit there too: several organisations may claim one domain)."""
    return any(value.strip() == token for value in txt_values)


def unverified(domains: list[str], verified: set[str]) -> list[str]:
    """The provider domains an organisation has not proved: they make no accounts."""
    return [domain for domain in domains if domain not in verified]


def domain_of(email: str) -> str:
    return email.rpartition("@")[2]


@dataclass(frozen=True)
class Asserted:
    """What a validated ID token says about the person: whom (``subject`` at ``issuer``),
    under which verified address."""

    subject: str
    email: str
    name: str
    #: The provider's session (``sid``), when it names one: a back-channel logout may name
    #: that instead of the subject.
    provider_session: str | None = None
    #: The ID token itself, as the provider signed it: the ``id_token_hint`` of an
    #: RP-initiated logout.
    id_token: str | None = None


def sso_refused(detail: str, code: str) -> Forbidden:
    return Forbidden(detail, code=code)


def asserted_identity(claims: dict[str, Any]) -> Asserted:
    """The person of a validated ID token, or a refusal: the address must be present, a
    valid address, and verified by the provider (``email_verified`` true): an address the
    provider did not check proves nothing about who holds it, and linking or creating
    accounts on it would hand them to whoever typed it."""
    raw_email = claims.get("email")
    if not isinstance(raw_email, str) or not raw_email.strip():
        raise sso_refused(
            "The identity provider did not tell us your e-mail address.", "sso_email_missing"
        )
    email = normalise_email(raw_email)
    if not is_valid_email(email):
        raise sso_refused(
            "The identity provider sent an invalid e-mail address.", "sso_email_missing"
        )
    verified = claims.get("email_verified")
    # Some providers send the boolean as a string; anything else is "not verified".
    if verified is not True and verified != "true":
        raise sso_refused(
            "The identity provider has not verified your e-mail address; verify it there "
            "and sign in again.",
            "sso_email_not_verified",
        )
    name = claims.get("name")
    display = " ".join(name.split())[:100] if isinstance(name, str) and name.strip() else ""
    return Asserted(
        subject=str(claims["sub"]),
        email=email,
        name=display or email.partition("@")[0],
        provider_session=provider_session(claims),
    )


#: OpenID Connect Back-Channel Logout 1.0: the member of ``events`` a logout token carries.
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_SID = 255


def provider_session(claims: dict[str, Any]) -> str | None:
    """The provider session a token names (``sid``), or None for none or an unusable one:
    the same rule for the ID token that records it and the logout token that names it."""
    sid = claims.get("sid")
    return sid if isinstance(sid, str) and 0 < len(sid) <= MAX_SID else None


@dataclass(frozen=True)
class LogoutTarget:
    """Whose sessions a provider's logout token ends: the subject's, or those of one
    provider session (``sid``), or only those of the subject in that session when both."""

    subject: str | None
    provider_session: str | None


def logout_target(claims: dict[str, Any]) -> LogoutTarget:
    """The target of a logout token whose signature, issuer, audience, ``iat`` and ``jti``
    already held; the rules of Back-Channel Logout 2.4 and 2.6 that remain (400
    ``logout_token_invalid`` otherwise)."""
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(LOGOUT_EVENT), dict):
        raise logout_token_invalid("it carries no back-channel logout event")
    if "nonce" in claims:
        raise logout_token_invalid("it carries a nonce (an ID token is no logout token)")
    sub = claims.get("sub")
    subject = sub if isinstance(sub, str) and sub else None
    session = provider_session(claims)
    if subject is None and session is None:
        raise logout_token_invalid("it names neither a subject nor a session")
    return LogoutTarget(subject=subject, provider_session=session)


def logout_token_invalid(detail: str) -> Invalid:
    return Invalid(
        f"The logout token was refused: {detail}.",
        code="logout_token_invalid",
        status_code=400,
    )


def may_provision(email: str, domains: list[str]) -> bool:
    """Whether an address without an account gets one on first sign-in (its domain is
    one the provider is configured for)."""
    return domain_of(email) in domains


def lacks_email(claims: dict[str, Any]) -> bool:
    return "email" not in claims or "email_verified" not in claims


def with_userinfo(claims: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """The ID token's claims completed from UserInfo: the ID token's own values win, and
    an address and whether it was verified always come from the same answer (UserInfo's
    ``email_verified`` never vouches for an ID token's different address)."""
    merged = dict(claims)
    if "email" not in claims:
        for key in ("email", "email_verified"):
            if key in info:
                merged[key] = info[key]
    elif (
        "email_verified" not in claims
        and "email_verified" in info
        and info.get("email") == claims["email"]
    ):
        merged["email_verified"] = info["email_verified"]
    if "name" not in claims and "name" in info:
        merged["name"] = info["name"]
    return merged
