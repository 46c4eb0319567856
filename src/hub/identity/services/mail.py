"""Security e-mails of identity, rendered from ``templates/`` and queued in the same
unit of work as the change they announce (a rolled-back change sends nothing)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
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


class IdentityMail:
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
        message = self.templates.render(name, to=to, context=context)
        queue_mail(uow, message, settings=self.settings)  # sealed: its link is live

    def verify_email(self, uow: UnitOfWork, *, to: str, display_name: str, token: str) -> None:
        self._send(
            uow,
            "verify_email",
            to,
            display_name=display_name,
            email=to,
            link=self.link(VERIFY_EMAIL_PAGE, token),
            valid_hours=self.config.email_verification_ttl_seconds // 3600,
        )

    def confirm_new_email(self, uow: UnitOfWork, *, to: str, display_name: str, token: str) -> None:
        self._send(
            uow,
            "confirm_new_email",
            to,
            display_name=display_name,
            email=to,
            link=self.link(VERIFY_EMAIL_PAGE, token),
            valid_hours=self.config.email_verification_ttl_seconds // 3600,
        )

    def _undo(self, token: str | None) -> dict[str, object]:
        return {
            "link": self.link("undo-email-change", token) if token else "",
            "valid_days": max(1, self.config.email_change_undo_ttl_seconds // 86400),
        }

    def email_change_requested(
        self,
        uow: UnitOfWork,
        *,
        to: str,
        display_name: str,
        new_email: str,
        undo_token: str | None,
        when: datetime,
    ) -> None:
        """To the address the account is still on: someone asked to move it away."""
        self._send(
            uow,
            "email_change_requested",
            to,
            display_name=display_name,
            email=to,
            new_email=new_email,
            when=when.strftime("%Y-%m-%d %H:%M"),
            **self._undo(undo_token),
        )

    def email_changed(
        self,
        uow: UnitOfWork,
        *,
        to: str,
        display_name: str,
        new_email: str,
        undo_token: str | None,
        when: datetime,
    ) -> None:
        """To the address the account just left."""
        self._send(
            uow,
            "email_changed",
            to,
            display_name=display_name,
            email=to,
            new_email=new_email,
            when=when.strftime("%Y-%m-%d %H:%M"),
            **self._undo(undo_token),
        )

    def email_change_reverted(
        self, uow: UnitOfWork, *, to: str, display_name: str, api_keys_revoked: int, when: datetime
    ) -> None:
        self._send(
            uow,
            "email_change_reverted",
            to,
            display_name=display_name,
            email=to,
            api_keys_revoked=api_keys_revoked,
            when=when.strftime("%Y-%m-%d %H:%M"),
        )

    def account_exists(self, uow: UnitOfWork, *, to: str, display_name: str, token: str) -> None:
        self._send(
            uow,
            "account_exists",
            to,
            display_name=display_name,
            email=to,
            link=self.link(RESET_PASSWORD_PAGE, token),
            valid_minutes=self.config.password_reset_ttl_seconds // 60,
        )

    def password_reset(self, uow: UnitOfWork, *, to: str, display_name: str, token: str) -> None:
        self._send(
            uow,
            "password_reset",
            to,
            display_name=display_name,
            email=to,
            link=self.link(RESET_PASSWORD_PAGE, token),
            valid_minutes=self.config.password_reset_ttl_seconds // 60,
        )

    def password_changed(
        self,
        uow: UnitOfWork,
        *,
        to: str,
        display_name: str,
        how: str,
        when: datetime,
        api_keys_revoked: int = 0,
    ) -> None:
        self._send(
            uow,
            "password_changed",
            to,
            display_name=display_name,
            email=to,
            how=how,
            when=when.strftime("%Y-%m-%d %H:%M"),
            api_keys_revoked=api_keys_revoked,
        )

    def mfa_changed(
        self, uow: UnitOfWork, *, to: str, display_name: str, enabled: bool, when: datetime
    ) -> None:
        self._send(
            uow,
            "mfa_changed",
            to,
            display_name=display_name,
            email=to,
            enabled=enabled,
            when=when.strftime("%Y-%m-%d %H:%M"),
        )

    def mfa_reset(self, uow: UnitOfWork, *, to: str, display_name: str, when: datetime) -> None:
        self._send(
            uow,
            "mfa_reset",
            to,
            display_name=display_name,
            email=to,
            when=when.strftime("%Y-%m-%d %H:%M"),
        )

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
            email=to,
            organisation=organisation,
            inviter=inviter,
            roles=", ".join(roles),
            link=self.link(ACCEPT_INVITATION_PAGE, token),
            valid_days=max(1, self.config.invitation_ttl_seconds // 86400),
        )
