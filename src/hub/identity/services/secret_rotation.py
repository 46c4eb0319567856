"""Identity's part of rotating ``HUB_SECRET_KEY`` (``hub.kernel.secret_rotation`` runs
every context's): what still depends on a previous key, and moving it over.

Sealed values (TOTP secrets, signing private keys) can be opened and sealed again, so
``rotate`` re-seals them under the current key, one transaction per table. So can the
password bindings of pending e-mail tokens: their plaintext (the user's password hash) is
in the database. Keyed hashes of secrets only their holder knows (API keys, recovery
codes) cannot be re-made; they move to the current key when used, and ``status`` counts
by their stored key id those still waiting, so an operator knows when
``HUB_SECRET_KEY_PREVIOUS`` can go.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import structlog
from sqlalchemy import func, select, update

from hub.identity.domain.secrets import IdentitySecrets
from hub.identity.models import (
    ApiKey,
    EmailToken,
    IdentityProvider,
    RecoveryCode,
    SigningKey,
    SsoSession,
    TotpCredential,
    User,
)
from hub.kernel.secret_rotation import (
    LOST,
    Moved,
    SealedColumn,
    SealedColumns,
    Usage,
    count_usage,
)
from hub.kernel.store import Store

log = structlog.get_logger("hub.identity")


class IdentitySecretRotation:
    """Identity's :class:`~hub.kernel.secret_rotation.SecretKeeper` (dependency
    ``identity_secret_rotation``)."""

    def __init__(self, store: Store, secrets: IdentitySecrets) -> None:
        self.store = store
        self.secrets = secrets
        # Each value is bound to its row: AEAD context = the primary key as text.
        sealed = [
            ("TOTP secrets", TotpCredential, "user_id", "secret_sealed", secrets.totp),
            ("signing keys", SigningKey, "kid", "private_key_sealed", secrets.signing_keys),
            ("SSO client ids", IdentityProvider, "id", "client_id_sealed", secrets.sso_clients),
            (
                "SSO client secrets",
                IdentityProvider,
                "id",
                "client_secret_sealed",
                secrets.sso_clients,
            ),
            ("SSO ID tokens", SsoSession, "session_id", "id_token_sealed", secrets.sso_id_tokens),
        ]
        self._sealed = SealedColumns(
            store,
            [k.id for k in secrets.keys],
            [SealedColumn(*column, context=_context) for column in sealed],
        )

    # ------------------------------------------------------------------ rotate

    async def rotate(self) -> list[Moved]:
        """Re-seal every sealed value and re-bind every pending e-mail token under the
        current key. Idempotent: a second run moves nothing."""
        return [*await self._sealed.rotate(), await self._rebind()]

    async def _rebind(self) -> Moved:
        binding = self.secrets.binding
        counts: Counter[str] = Counter()
        async with self.store.uow() as uow:
            rows = (
                await uow.session.execute(
                    _pending_bindings().with_for_update(of=EmailToken.__table__)
                )
            ).all()
            changes = []
            for row in rows:
                made_by = binding.matching_key(row.password_hash, row.binding)
                if made_by is None:
                    counts["lost"] += 1  # or the password changed since: dead either way
                elif made_by == binding.key_id:
                    counts["current"] += 1
                else:
                    counts["moved"] += 1
                    changes.append({"id": row.id, "binding": binding.digest(row.password_hash)})
            if changes:
                await uow.session.execute(update(EmailToken), changes)
            await uow.commit()
        return Moved("reset-link bindings", counts["moved"], counts["current"], counts["lost"])

    # ------------------------------------------------------------------ status

    async def status(self) -> list[Usage]:
        """Per kind of value, how many live ones each configured key made."""
        usage = await self._sealed.status()
        rows = await self.store.all(_pending_bindings())
        binding = self.secrets.binding
        usage.append(
            count_usage(
                "reset-link bindings",
                (binding.matching_key(r.password_hash, r.binding) or LOST for r in rows),
            )
        )
        r, k = RecoveryCode.__table__, ApiKey.__table__
        usage.append(
            await self._labelled(
                "recovery codes (unused)", r.c.secret_key_id, r.c.used_at.is_(None)
            )
        )
        usage.append(
            await self._labelled(
                "API keys (active)",
                k.c.secret_key_id,
                k.c.revoked_at.is_(None),
                (k.c.expires_at.is_(None)) | (k.c.expires_at > func.now()),
            )
        )
        return usage

    async def _labelled(self, what: str, column: Any, *live: Any) -> Usage:
        rows = await self.store.all(
            select(column.label("key_id"), func.count().label("n")).where(*live).group_by(column)
        )
        configured = {k.id for k in self.secrets.keys}
        by_key: dict[str, int] = {}
        lost = unlabelled = 0
        for key_id, count in ((row.key_id, row.n) for row in rows):
            if key_id is None:
                unlabelled += count
            elif key_id in configured:
                by_key[key_id] = count
            else:
                lost += count
        return Usage(what, by_key, lost, unlabelled)

    # ------------------------------------------------------------------ start-up

    async def label_unlabelled(self) -> int:
        """Give keyed hashes stored before key ids existed the current key's id.

        Only with no previous key configured: then the current key is the only one that
        can verify them, so the label is right for every row that still works (a row made
        by a key already lost stays unusable whatever its label). Cheap on every start:
        a partial index holds only the unlabelled rows.
        """
        if self.secrets.previous_ids:
            return 0
        labelled = 0
        async with self.store.uow() as uow:
            for model in (RecoveryCode, ApiKey):
                result = await uow.session.execute(
                    update(model)
                    .where(model.secret_key_id.is_(None))
                    .values(secret_key_id=self.secrets.key_id)
                    .returning(model.id)
                )
                labelled += len(result.all())
            await uow.commit()
        if labelled:
            log.info("secret_key_ids_recorded", rows=labelled, key_id=self.secrets.key_id)
        return labelled


def _context(key: Any) -> bytes:
    """The AEAD context of one of identity's sealed values: its row's primary key (user id,
    kid, provider id) as text."""
    return str(key).encode()


def _pending_bindings() -> Any:
    """Unused, unexpired e-mail tokens with a password binding, with that password hash."""
    t, u = EmailToken.__table__, User.__table__
    return (
        select(t.c.id, t.c.binding, u.c.password_hash)
        .join(u, u.c.id == t.c.user_id)
        .where(t.c.used_at.is_(None), t.c.expires_at > func.now(), t.c.binding.is_not(None))
    )
