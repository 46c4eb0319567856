"""Security e-mails of identity, rendered from ``templates/`` and queued in the same
unit of work as the change they announce (a rolled-back change sends nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

import structlog

from hub.identity.domain.emails import is_valid_email
from hub.identity.domain.settings import IdentitySettings
from hub.kernel.db import UnitOfWork
from hub.kernel.mail import MailTemplates, queue_mail
from hub.kernel.settings import Settings

log = structlog.get_logger("hub.identity.mail")

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

#: The pages identity's mails link to, each as ``{base}/{page}?token=…``: the frontend's
#: (``HUB_FRONTEND_URL``), else the hub's own (``controllers/pages.py``). Each page POSTs
#: the token to its endpoint.
#: → POST /auth/verify-email (a new account's address, or a changed address).
VERIFY_EMAIL_PAGE = "verify-email"
#: → POST /auth/password/reset (forgotten password; "you already have an account" mail).
RESET_PASSWORD_PAGE = "reset-password"  # noqa: S105
#: → POST /invitations/{token}/accept, signed in with the invited address.
ACCEPT_INVITATION_PAGE = "accept-invitation"
LINK_PAGES = (VERIFY_EMAIL_PAGE, RESET_PASSWORD_PAGE, ACCEPT_INVITATION_PAGE)


#: Mails that carry a one-time link: the page it opens, and how long it stays valid (the
#: template's variable and its value from the settings).
_VERIFY = (VERIFY_EMAIL_PAGE, "valid_hours", lambda c: c.email_verification_ttl_seconds // 3600)
_RESET = (RESET_PASSWORD_PAGE, "valid_minutes", lambda c: c.password_reset_ttl_seconds // 60)
_LINK_MAILS: dict[str, tuple[str, str, Callable[[IdentitySettings], int]]] = {
    "verify_email": _VERIFY,
    "confirm_new_email": _VERIFY,
    "account_exists": _RESET,
    "password_reset": _RESET,
}
#: Notices about an address change, which offer the old address a way back.
_UNDOABLE = frozenset({"email_change_requested", "email_changed"})


class Addressee(Protocol):
    @property
    def email(self) -> str: ...

    @property
    def display_name(self) -> str: ...


class IdentityMail:
    """Two kinds of mail: one with a one-time link (:meth:`with_link`), and a notice of a
    security change that already happened (:meth:`notice`) — what, when, and where the
    change can be undone, how."""

    def __init__(self, settings: Settings, config: IdentitySettings) -> None:
        self.settings = settings
        self.config = config
        self.templates = MailTemplates(TEMPLATES)

    def link(self, page: str, token: str) -> str:
        """A link to ``page`` of the frontend (``HUB_FRONTEND_URL``) or, without one, of the
        hub itself (``HUB_PUBLIC_URL``); the page POSTs the token to the matching endpoint."""
        base = self.settings.frontend_url or self.settings.public_url
        return f"{base.rstrip('/')}/{page}?{urlencode({'token': token})}"

    def _send(self, uow: UnitOfWork, name: str, to: str, **context: object) -> None:
        if not is_valid_email(to):
            # Stored before addresses were checked strictly (``x<attacker@evil.com>``): a
            # mail could reach someone else, and refusing would undo the change it announces.
            log.warning("mail_skipped_invalid_address", template=name, to=to)
            return
        message = self.templates.render(name, to=to, context={"email": to, **context})
        queue_mail(uow, message, settings=self.settings)  # sealed: its link is live

    def with_link(
        self, uow: UnitOfWork, template: str, *, to: str, display_name: str, token: str
    ) -> None:
        """``verify_email``, ``confirm_new_email``, ``account_exists`` or ``password_reset``."""
        page, validity, ttl = _LINK_MAILS[template]
        link = self.link(page, token)
        self._send(
            uow, template, to, display_name=display_name, link=link, **{validity: ttl(self.config)}
        )

    def notice(
        self,
        uow: UnitOfWork,
        template: str,
        user: Addressee | None = None,
        *,
        when: datetime,
        to: str | None = None,
        display_name: str | None = None,
        undo_token: str | None = None,
        **facts: object,
    ) -> None:
        """A change made to ``user``'s account at ``when``, mailed to its address and name
        (or to ``to``, greeting ``display_name``); ``facts`` are the template's own (``how``,
        ``enabled``, ``new_email``, ``api_keys_revoked``). An address change offers an undo
        link (``undo_token``; none when the old address may not undo)."""
        to = to or (user.email if user else "")
        display_name = display_name or (user.display_name if user else "")
        if template in _UNDOABLE:
            facts["link"] = self.link("undo-email-change", undo_token) if undo_token else ""
            facts["valid_days"] = max(1, self.config.email_change_undo_ttl_seconds // 86400)
        when_text = when.strftime("%Y-%m-%d %H:%M")
        self._send(uow, template, to, display_name=display_name, when=when_text, **facts)

    def invitation(
        self,
        uow: UnitOfWork,
        *,
        to: str,
        organisation: str,
        inviter: str,
        roles: list[str],
        token: str,
    ) -> None:
        self._send(
            uow,
            "invitation",
            to,
            organisation=organisation,
            inviter=inviter,
            roles=", ".join(roles),
            link=self.link(ACCEPT_INVITATION_PAGE, token),
            valid_days=max(1, self.config.invitation_ttl_seconds // 86400),
        )
