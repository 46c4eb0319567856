"""Rotating a refresh token in one statement: the common case of ``POST /auth/refresh``.

A usable token (not rotated, not expired, its session live within its lifetimes, its
user enabled) is marked rotated with its successor sealed, the successor inserted and the
session touched by one ``UPDATE … RETURNING`` with two data-modifying CTEs, on the lean
autocommit read path (:meth:`hub.kernel.db.Database.fetch`): one round trip and no
``BEGIN``/``COMMIT``, instead of a unit of work's ORM session, row lock and four
statements. PostgreSQL runs the statement atomically; the ``rotated_at IS NULL``
condition is the lock: a concurrent request presenting the same token waits for the row,
finds it rotated and matches nothing.

Whatever does not match — an unknown, expired or rotated token (the grace window, reuse
detection), a revoked or over-age session, a disabled user — changes nothing here and is
decided by the unit-of-work path in ``services.auth``. Running the statement twice (the
lean path retries once when the server dropped the connection) is harmless for the same
reason: the second run finds the token rotated, and the grace window hands back the same
successor.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Interval,
    LargeBinary,
    Row,
    Table,
    Text,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy import update as update_stmt
from sqlalchemy.dialects.postgresql import UUID

from hub.identity.models import RefreshToken, Session, User
from hub.kernel.store import Store

_rt = cast(Table, RefreshToken.__table__)
_s = cast(Table, Session.__table__)
_u = cast(Table, User.__table__)


def _statement() -> Any:
    now = bindparam("now", type_=DateTime(timezone=True))
    current = (
        update_stmt(_rt)
        .where(
            _rt.c.token_hash == bindparam("token_hash", type_=LargeBinary),
            _rt.c.rotated_at.is_(None),
            _rt.c.expires_at > now,
            _rt.c.session_id == _s.c.id,
            _s.c.user_id == _u.c.id,
            _s.c.revoked_at.is_(None),
            _s.c.created_at > bindparam("born_after", type_=DateTime(timezone=True)),
            _s.c.last_seen_at > bindparam("seen_after", type_=DateTime(timezone=True)),
            _u.c.disabled_at.is_(None),
        )
        .values(rotated_at=now, successor_sealed=bindparam("sealed", type_=LargeBinary))
        .returning(
            _rt.c.session_id.label("id"),
            _s.c.created_at,
            _s.c.auth_time,
            _s.c.amr,
            _u.c.id.label("user_id"),
            _u.c.is_platform_admin,
        )
        .cte("rotated")
    )
    expires_at = func.least(
        bindparam("refresh_until", type_=DateTime(timezone=True)),
        current.c.created_at + bindparam("max_age", type_=Interval),
    )
    successor = insert(_rt).from_select(
        ["id", "session_id", "token_hash", "created_at", "expires_at"],
        select(
            bindparam("successor_id", type_=UUID(as_uuid=True)),
            current.c.id,
            bindparam("successor_hash", type_=LargeBinary),
            now,
            expires_at,
        ),
    )
    touched = (
        update_stmt(_s)
        .where(_s.c.id == current.c.id)
        .values(last_seen_at=now, ip=bindparam("ip", type_=Text))
    )
    return select(
        current.c.id,
        current.c.created_at,
        current.c.auth_time,
        current.c.amr,
        current.c.user_id,
        current.c.is_platform_admin,
    ).add_cte(successor.cte("successor"), touched.cte("touched"))


#: Built once: building and compiling the statement per request would cost more than it.
_ROTATE = _statement()


async def rotate(
    store: Store,
    *,
    token_hash: bytes,
    now: datetime,
    sealed: bytes,
    successor_id: uuid.UUID,
    successor_hash: bytes,
    refresh_until: datetime,
    max_age: timedelta,
    idle_timeout: timedelta,
    ip: str,
) -> Row[Any] | None:
    """Rotate the token hashed ``token_hash`` when it is usable; the session's row
    (``id``, ``created_at``, ``auth_time``, ``amr``, ``user_id``, ``is_platform_admin``)
    or None when nothing matched (nothing changed then)."""
    return await store.first(
        _ROTATE,
        {
            "token_hash": token_hash,
            "now": now,
            "born_after": now - max_age,
            "seen_after": now - idle_timeout,
            "sealed": sealed,
            "successor_id": successor_id,
            "successor_hash": successor_hash,
            "refresh_until": refresh_until,
            "max_age": max_age,
            "ip": ip,
        },
    )
