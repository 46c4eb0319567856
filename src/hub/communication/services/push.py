"""Web Push subscriptions: a person registers the browsers that may wake them, and the
hub's VAPID key that those browsers bind their subscriptions to.

A browser is one row, found by the SHA-256 of its endpoint: registering it again (the
frontend does so at each start) refreshes its keys and label, and a browser handed to
another person (a shared computer, someone else signed in) moves to them, so the first
stops being woken on a device they no longer use. Past ``domain.push.MAX_SUBSCRIPTIONS``
the least recently used browser is forgotten.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Row, delete, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert

from hub.communication import repositories
from hub.communication.domain.push import (
    MAX_ENDPOINT,
    MAX_SUBSCRIPTIONS,
    Subscription,
    b64url,
    check_endpoint_scheme,
    parse_keys,
)
from hub.kernel.clock import Clock
from hub.kernel.egress import AddressPolicy, EgressRefused, check_url
from hub.kernel.problems import field_invalid, not_found
from hub.kernel.schema import new_id
from hub.kernel.sealing import Sealer
from hub.kernel.store import Store

SEAL_PURPOSE = "communication.push"
VAPID_CONTEXT = b"vapid"


def endpoint_hash(endpoint: str) -> bytes:
    return hashlib.sha256(endpoint.encode()).digest()


class VapidKeys:
    """The hub's VAPID key pair, made by the first process that needs it. Read each time
    (one primary-key SELECT): a cached key would outlive a restored database."""

    def __init__(self, store: Store, sealer: Sealer, clock: Clock) -> None:
        self.store, self.sealer, self.clock = store, sealer, clock

    async def public_key(self) -> str:
        key: str = (await self._row()).public_key
        return key

    async def pair(self) -> tuple[ec.EllipticCurvePrivateKey, str]:
        """The private key (``UnsealableError`` when no configured key opens it) and the
        public key as browsers know it."""
        row = await self._row()
        raw = self.sealer.open(row.private_sealed, context=VAPID_CONTEXT)
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1()), row.public_key

    async def _row(self) -> Any:
        row = await repositories.vapid_key(self.store)
        if row is not None:
            return row
        key = ec.generate_private_key(ec.SECP256R1())
        raw = key.private_numbers().private_value.to_bytes(32, "big")
        point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        async with self.store.uow() as uow:
            # Two processes at once: the first insert wins, both read the winner.
            await uow.session.execute(
                insert(repositories.vapid_keys_t)
                .values(
                    id=1,
                    private_sealed=self.sealer.seal(raw, context=VAPID_CONTEXT),
                    public_key=b64url(point),
                    created_at=self.clock(),
                )
                .on_conflict_do_nothing()
            )
            await uow.commit()
        return await repositories.vapid_key(self.store)


class PushSubscriptions:
    def __init__(
        self, store: Store, clock: Clock, sealer: Sealer, policy: AddressPolicy, keys: VapidKeys
    ) -> None:
        self.store, self.clock, self.sealer, self.policy = store, clock, sealer, policy
        self.keys = keys

    async def register(
        self, user_id: uuid.UUID, endpoint: str, p256dh: str, auth: str, label: str | None
    ) -> tuple[Row[Any], bool]:
        """Check everything, then one upsert (and the oldest dropped past the limit): the
        browser's row, and whether it is new (False: it was known, now refreshed)."""
        subscription = self.parse(endpoint, p256dh, auth)
        now = self.clock()
        t = repositories.push_subscriptions_t
        upsert = insert(t).values(
            id=new_id(),
            user_id=user_id,
            endpoint_hash=endpoint_hash(endpoint),
            sealed=b"",
            host=subscription.host,
            label=label,
            created_at=now,
            last_used_at=now,
        )
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(
                    upsert.on_conflict_do_update(
                        index_elements=[t.c.endpoint_hash],
                        set_={
                            "user_id": user_id,
                            "label": label,
                            "host": subscription.host,
                            "last_used_at": now,
                        },
                    ).returning(*t.c, literal_column("xmax = 0").label("inserted"))
                )
            ).one()
            # Sealed bound to the row's id, which is known only now for a browser seen
            # before: the same transaction, so no reader sees the empty placeholder.
            await uow.session.execute(
                t.update()
                .where(t.c.id == row.id)
                .values(sealed=self.sealer.seal(subscription.to_json(), context=row.id.bytes))
            )
            await uow.session.execute(
                delete(t).where(
                    t.c.id.in_(
                        select(t.c.id)
                        .where(t.c.user_id == user_id)
                        .order_by(t.c.last_used_at.desc(), t.c.id.desc())
                        .offset(MAX_SUBSCRIPTIONS)
                        .scalar_subquery()
                    )
                )
            )
            await uow.commit()
        return row, bool(row.inserted)

    def parse(self, endpoint: str, p256dh: str, auth: str) -> Subscription:
        """What the browser gave, checked: 422 naming ``endpoint`` or ``keys.*``."""
        if len(endpoint) > MAX_ENDPOINT:
            raise field_invalid("endpoint", f"at most {MAX_ENDPOINT} characters")
        try:
            target = check_url(endpoint, self.policy)
        except EgressRefused as exc:
            raise field_invalid("endpoint", exc.reason, code="endpoint_not_allowed") from None
        allowed = target.address is not None and any(
            target.address in network for network in self.policy.allowed
        )
        check_endpoint_scheme(endpoint, allowed_address=allowed)
        point, secret = parse_keys(p256dh, auth)
        return Subscription(endpoint, point, secret)

    async def mine(self, user_id: uuid.UUID) -> list[Row[Any]]:
        return await repositories.push_subscriptions(self.store, user_id)

    async def update(
        self, user_id: uuid.UUID, subscription_id: uuid.UUID, changes: dict[str, Any]
    ) -> Row[Any]:
        """Rename a browser or choose the categories it is woken for (each category once,
        in the order given); someone else's browser is 404 like an unknown one."""
        if changes.get("categories") is not None:
            changes["categories"] = list(dict.fromkeys(changes["categories"]))
        t = repositories.push_subscriptions_t
        mine = (t.c.id == subscription_id, t.c.user_id == user_id)
        statement = update(t).where(*mine).values(**changes).returning(*t.c)
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(statement if changes else select(t).where(*mine))
            ).first()
            if row is None:
                raise not_found("push subscription")
            await uow.commit()
        return row

    async def remove(self, user_id: uuid.UUID, subscription_id: uuid.UUID) -> None:
        """Someone else's browser is 404 like an unknown one."""
        t = repositories.push_subscriptions_t
        async with self.store.uow() as uow:
            gone = await uow.session.execute(
                delete(t).where(t.c.id == subscription_id, t.c.user_id == user_id).returning(t.c.id)
            )
            if gone.first() is None:
                raise not_found("push subscription")
            await uow.commit()
