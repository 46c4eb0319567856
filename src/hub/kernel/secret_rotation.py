"""Rotating ``HUB_SECRET_KEY`` across every context: ``hub secrets rotate`` and ``status``.

Every context seals some values at rest under keys derived from ``HUB_SECRET_KEY``
(identity: TOTP secrets, signing keys, SSO client credentials and ID tokens; communication: webhook
secrets, chat channel URLs). After a key change they still open with
``HUB_SECRET_KEY_PREVIOUS``, but the old key can only be dropped once nothing depends on
it. The kernel imports no context, so each context *declares* what it keeps: it builds a
:class:`SecretKeeper` (usually :class:`SealedColumns` over its sealed columns) and names
that service on :attr:`ContextModule.secrets <hub.kernel.contexts.ContextModule>`. The
kernel's :class:`SecretRotation` runs every served context's keeper in dependency order;
a context served by another process (``HUB_CONTEXTS``) is rotated where it runs.

Re-sealing changes no secret: the same plaintext is sealed again under the current key, so
webhook receivers and chat services notice nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from sqlalchemy import select, update

from hub.kernel.sealing import UnsealableError
from hub.kernel.store import Store

log = structlog.get_logger("hub.kernel")

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


class SecretKeeper(Protocol):
    """One context's values that depend on ``HUB_SECRET_KEY``."""

    async def rotate(self) -> list[Moved]:
        """Move every value that can be moved to the current key; idempotent."""
        ...

    async def status(self) -> list[Usage]:
        """Per kind of value, how many live ones each configured key made."""
        ...


class Resealer(Protocol):
    """A sealer that tells which configured key opened a value (0: the current one)."""

    def seal(self, plaintext: bytes, *, context: bytes = b"") -> bytes: ...

    def unseal(self, sealed: bytes, *, context: bytes = b"") -> tuple[bytes, int]: ...


@dataclass(frozen=True)
class SealedColumn:
    """A column of sealed values: its ORM model, the primary-key attribute whose value
    binds each value to its row (the AEAD context, made by ``context``), the sealed
    attribute (NULLs are skipped) and the sealer that made them."""

    what: str
    model: type[Any]
    key: str
    sealed: str
    sealer: Resealer
    context: Callable[[Any], bytes]


class SealedColumns:
    """A :class:`SecretKeeper` over sealed columns: re-seals each under the current key,
    one transaction per column, and counts which key opens each value."""

    def __init__(self, store: Store, key_ids: Sequence[str], columns: Sequence[SealedColumn]):
        self.store = store
        self.key_ids = tuple(key_ids)
        self.columns = tuple(columns)

    async def rotate(self) -> list[Moved]:
        return [await self._reseal(column) for column in self.columns]

    async def status(self) -> list[Usage]:
        usage = []
        for column in self.columns:
            rows = await self.store.all(_sealed_rows(column))
            usage.append(count_usage(column.what, (self._opener(column, r) for r in rows)))
        return usage

    async def _reseal(self, column: SealedColumn) -> Moved:
        counts: Counter[str] = Counter()
        async with self.store.uow() as uow:
            rows = (await uow.session.execute(_sealed_rows(column).with_for_update())).all()
            changes = []
            for key, sealed in rows:
                context = column.context(key)
                try:
                    plain, opener = column.sealer.unseal(bytes(sealed), context=context)
                except UnsealableError:
                    counts["lost"] += 1
                    continue
                if opener == 0:
                    counts["current"] += 1
                    continue
                counts["moved"] += 1
                resealed = column.sealer.seal(plain, context=context)
                changes.append({column.key: key, column.sealed: resealed})
            if changes:  # ORM bulk UPDATE by primary key: one executemany
                await uow.session.execute(update(column.model), changes)
            await uow.commit()
        return Moved(column.what, counts["moved"], counts["current"], counts["lost"])

    def _opener(self, column: SealedColumn, row: Any) -> str:
        """The id of the key that opens a sealed value, or :data:`LOST`."""
        key, sealed = row
        try:
            _, opener = column.sealer.unseal(bytes(sealed), context=column.context(key))
        except UnsealableError:
            return LOST
        return self.key_ids[opener]


def _sealed_rows(column: SealedColumn) -> Any:
    key, sealed = getattr(column.model, column.key), getattr(column.model, column.sealed)
    return select(key, sealed).where(sealed.is_not(None))


def count_usage(what: str, key_ids: Iterable[str]) -> Usage:
    """A :class:`Usage` from the key id of each live value (:data:`LOST` for none)."""
    counts = Counter(key_ids)
    lost = counts.pop(LOST, 0)
    return Usage(what, dict(counts), lost)


class SecretRotation:
    """Dependency ``secret_rotation``: every served context's :class:`SecretKeeper`, in
    dependency order (the keepers are looked up by dependency name at call time)."""

    def __init__(
        self, key_ids: Sequence[str], keepers: Sequence[str], services: Mapping[str, Any]
    ) -> None:
        self.key_id, *previous = key_ids
        self.previous_ids = tuple(previous)
        self._keepers = tuple(keepers)
        self._services = services

    def _each(self) -> list[SecretKeeper]:
        return [self._services[name] for name in self._keepers]

    async def rotate(self) -> list[Moved]:
        report = [moved for keeper in self._each() for moved in await keeper.rotate()]
        log.info(
            "secrets_rotated",
            key_id=self.key_id,
            moved=sum(m.moved for m in report),
            lost=sum(m.lost for m in report),
        )
        return report

    async def status(self) -> list[Usage]:
        return [usage for keeper in self._each() for usage in await keeper.status()]
