"""Rotating ``HUB_SECRET_KEY``: what still depends on a previous key, and moving it over.

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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import func, select, update

from hub.identity.domain.secrets import IdentitySecrets, Sealer, UnsealableError
from hub.identity.models import (
    ApiKey,
    EmailToken,
    IdentityProvider,
    RecoveryCode,
    SigningKey,
    TotpCredential,
    User,
)
from hub.kernel.store import Store

log = structlog.get_logger("hub.identity")

#: Key id of what no configured key opens or verifies.
LOST = ""


@dataclass(frozen=True)
class Moved:
    """What ``rotate`` did to one kind of value."""

    what: str
    #: Re-sealed (or re-bound) under the current key.
    moved: int
    #: Already under the current key.
    current: int
    #: No configured key opens it: left as it is (see the README on a lost key).
    lost: int


@dataclass(frozen=True)
class Usage:
    """How many live values of one kind each key made."""

    what: str
    #: key id -> count, for the configured keys (current and previous).
    by_key: dict[str, int]
    #: Made by no configured key (a lost key, or a key id no longer configured).
    lost: int
    #: Rows stored before key ids were recorded (None: not applicable to this kind).
    unlabelled: int | None = None


@dataclass(frozen=True)
class _Sealed:
    """A table of sealed values: its model, primary key and sealed column (attribute
    names). Both tables bind a value to its row: AEAD context = the primary key as text."""

    what: str
    model: type[TotpCredential] | type[SigningKey] | type[IdentityProvider]
    key: str
    sealed: str


class SecretRotation:
    def __init__(self, store: Store, secrets: IdentitySecrets) -> None:
        self.store = store
        self.secrets = secrets
        self._sealed = (
            (
                _Sealed("TOTP secrets", TotpCredential, "user_id", "secret_sealed"),
                secrets.totp,
            ),
            (
                _Sealed("signing keys", SigningKey, "kid", "private_key_sealed"),
                secrets.signing_keys,
            ),
            (
                _Sealed("SSO client ids", IdentityProvider, "id", "client_id_sealed"),
                secrets.sso_clients,
            ),
            (
                _Sealed("SSO client secrets", IdentityProvider, "id", "client_secret_sealed"),
                secrets.sso_clients,
            ),
        )

    # ------------------------------------------------------------------ rotate

    async def rotate(self) -> list[Moved]:
        """Re-seal every sealed value and re-bind every pending e-mail token under the
        current key. Idempotent: a second run moves nothing."""
        report = [await self._reseal(kind, sealer) for kind, sealer in self._sealed]
        report.append(await self._rebind())
        log.info(
            "secrets_rotated",
            key_id=self.secrets.key_id,
            moved=sum(m.moved for m in report),
            lost=sum(m.lost for m in report),
        )
        return report

    async def _reseal(self, kind: _Sealed, sealer: Sealer) -> Moved:
        columns = getattr(kind.model, kind.key), getattr(kind.model, kind.sealed)
        counts: Counter[str] = Counter()
        async with self.store.uow() as uow:
            rows = (await uow.session.execute(select(*columns).with_for_update())).all()
            changes = []
            for row in rows:
                context = _context(row[0])
                try:
                    plain, opener = sealer.unseal(row[1], context=context)
                except UnsealableError:
                    counts["lost"] += 1
                    continue
                if opener == 0:
                    counts["current"] += 1
                    continue
                counts["moved"] += 1
                changes.append({kind.key: row[0], kind.sealed: sealer.seal(plain, context=context)})
            if changes:  # ORM bulk UPDATE by primary key: one executemany
                await uow.session.execute(update(kind.model), changes)
            await uow.commit()
        return Moved(kind.what, counts["moved"], counts["current"], counts["lost"])

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
        usage = []
        for kind, sealer in self._sealed:
            columns = getattr(kind.model, kind.key), getattr(kind.model, kind.sealed)
            rows = await self.store.all(select(*columns))
            usage.append(self._usage(kind.what, (self._opener(kind, sealer, r) for r in rows)))
        rows = await self.store.all(_pending_bindings())
        binding = self.secrets.binding
        usage.append(
            self._usage(
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

    def _opener(self, kind: _Sealed, sealer: Sealer, row: Any) -> str:
        """The id of the key that opens a sealed value, or :data:`LOST`."""
        try:
            _, opener = sealer.unseal(row[1], context=_context(row[0]))
        except UnsealableError:
            return LOST
        return self.secrets.keys[opener].id

    def _usage(self, what: str, key_ids: Iterable[str]) -> Usage:
        counts = Counter(key_ids)
        lost = counts.pop(LOST, 0)
        return Usage(what, dict(counts), lost)

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
    """The AEAD context of a sealed value: its row's primary key (user id, kid, provider
    id) as text."""
    return str(key).encode()


def _pending_bindings() -> Any:
    """Unused, unexpired e-mail tokens with a password binding, with that password hash."""
    t, u = EmailToken.__table__, User.__table__
    return (
        select(t.c.id, t.c.binding, u.c.password_hash)
        .join(u, u.c.id == t.c.user_id)
        .where(t.c.used_at.is_(None), t.c.expires_at > func.now(), t.c.binding.is_not(None))
    )
