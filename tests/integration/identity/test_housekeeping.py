"""Housekeeping deletes identity rows nothing can act on any more (API keys revoked or
expired longer than the history period among them), and nothing else."""

from __future__ import annotations

import uuid

from croniter import croniter
from sqlalchemy import text

from hub.identity import bootstrap
from hub.identity.models import outbox
from hub.identity.services.housekeeping import prune_expired
from hub.kernel.runtime import Kernel
from hub.kernel.schema import utcnow
from hub.kernel.store import Store


async def _exec(kernel: Kernel, sql: str, **params: object) -> None:
    async with kernel.db.engine.begin() as conn:
        await conn.execute(text(sql), params)


async def _ids(kernel: Kernel, table: str) -> set[uuid.UUID]:
    async with kernel.db.read() as conn:
        sql = text(f"SELECT id FROM identity.{table}")  # noqa: S608 - the tests' own names
        return set((await conn.execute(sql)).scalars())


async def _session(
    kernel: Kernel, user: uuid.UUID, *, age_days: int, revoked_days_ago: int | None = None
) -> uuid.UUID:
    sid = uuid.uuid4()
    await _exec(
        kernel,
        "INSERT INTO identity.sessions (id, user_id, created_at, last_seen_at, auth_time, amr,"
        " revoked_at) VALUES (:id, :user, now() - make_interval(days => :age),"
        " now() - make_interval(days => :age), now() - make_interval(days => :age), 'pwd',"
        " CASE WHEN CAST(:revoked AS int) IS NULL THEN NULL"
        "      ELSE now() - make_interval(days => CAST(:revoked AS int)) END)",
        id=sid,
        user=user,
        age=age_days,
        revoked=revoked_days_ago,
    )
    return sid


async def _refresh(kernel: Kernel, sid: uuid.UUID, *, expires_in_hours: int) -> uuid.UUID:
    tid = uuid.uuid4()
    await _exec(
        kernel,
        "INSERT INTO identity.refresh_tokens (id, session_id, token_hash, expires_at)"
        " VALUES (:id, :sid, :hash, now() + make_interval(hours => :h))",
        id=tid,
        sid=sid,
        hash=tid.bytes,
        h=expires_in_hours,
    )
    return tid


async def _email_token(kernel: Kernel, user: uuid.UUID, *, expires_in_hours: int) -> uuid.UUID:
    tid = uuid.uuid4()
    await _exec(
        kernel,
        "INSERT INTO identity.email_tokens (id, user_id, purpose, token_hash, email, expires_at)"
        " VALUES (:id, :user, 'verify', :hash, 'a@example.com',"
        " now() + make_interval(hours => :h))",
        id=tid,
        user=user,
        hash=tid.bytes,
        h=expires_in_hours,
    )
    return tid


async def _invitation(kernel: Kernel, org: uuid.UUID, *, expires_in_days: int) -> uuid.UUID:
    iid = uuid.uuid4()
    await _exec(
        kernel,
        "INSERT INTO identity.invitations (id, organisation_id, email, role_ids, token_hash,"
        " expires_at) VALUES (:id, :org, 'b@example.com', ARRAY[]::uuid[], :hash,"
        " now() + make_interval(days => :d))",
        id=iid,
        org=org,
        hash=iid.bytes,
        d=expires_in_days,
    )
    return iid


async def _api_key(
    kernel: Kernel,
    user: uuid.UUID,
    *,
    revoked_days_ago: int | None = None,
    expires_in_days: int | None = None,
) -> uuid.UUID:
    kid = uuid.uuid4()
    await _exec(
        kernel,
        "INSERT INTO identity.api_keys (id, user_id, name, public_id, secret_hash, permissions,"
        " revoked_at, expires_at) VALUES (:id, :user, 'k', :public, :hash, ARRAY[]::text[],"
        " now() + make_interval(days => -CAST(:revoked AS int)),"
        " now() + make_interval(days => CAST(:expires AS int)))",
        id=kid,
        user=user,
        public=kid.hex,
        hash=kid.bytes,
        revoked=revoked_days_ago,
        expires=expires_in_days,
    )
    return kid


async def test_prune_keeps_what_can_still_matter(kernel: Kernel) -> None:
    user, org = uuid.uuid4(), uuid.uuid4()
    await _exec(
        kernel,
        "INSERT INTO identity.users (id, email, display_name, password_hash)"
        " VALUES (:id, 'a@example.com', 'A', 'x')",
        id=user,
    )
    await _exec(kernel, "INSERT INTO identity.organisations (id, name) VALUES (:id, 'Org')", id=org)

    old_revoked = await _session(kernel, user, age_days=200, revoked_days_ago=100)
    recent_revoked = await _session(kernel, user, age_days=20, revoked_days_ago=10)
    dead = await _session(kernel, user, age_days=40)
    dead_token = await _refresh(kernel, dead, expires_in_hours=-5 * 24)
    live = await _session(kernel, user, age_days=40)
    live_token = await _refresh(kernel, live, expires_in_hours=10 * 24)
    rotated_recently = await _refresh(kernel, live, expires_in_hours=-2)  # inside the grace day
    fresh = await _session(kernel, user, age_days=0)  # no token yet: too young to judge

    stale_email = await _email_token(kernel, user, expires_in_hours=-48)
    just_expired_email = await _email_token(kernel, user, expires_in_hours=-1)
    valid_email = await _email_token(kernel, user, expires_in_hours=1)

    old_invite = await _invitation(kernel, org, expires_in_days=-100)
    recent_invite = await _invitation(kernel, org, expires_in_days=-10)

    long_revoked_key = await _api_key(kernel, user, revoked_days_ago=100)
    long_expired_key = await _api_key(kernel, user, expires_in_days=-100)
    recently_revoked_key = await _api_key(kernel, user, revoked_days_ago=10)
    recently_expired_key = await _api_key(kernel, user, expires_in_days=-10)
    live_key = await _api_key(kernel, user, expires_in_days=30)
    forever_key = await _api_key(kernel, user)

    pruned = await prune_expired(Store(kernel.db, outbox), utcnow(), history_days=90)

    assert await _ids(kernel, "api_keys") == {
        recently_revoked_key,
        recently_expired_key,
        live_key,
        forever_key,
    }
    assert not {long_revoked_key, long_expired_key} & await _ids(kernel, "api_keys")
    assert pruned.api_keys == 2
    assert await _ids(kernel, "sessions") == {recent_revoked, live, fresh}
    assert old_revoked not in await _ids(kernel, "sessions")
    assert await _ids(kernel, "refresh_tokens") == {live_token, rotated_recently}
    assert dead_token not in await _ids(kernel, "refresh_tokens")
    assert await _ids(kernel, "email_tokens") == {just_expired_email, valid_email}
    assert stale_email not in await _ids(kernel, "email_tokens")
    assert await _ids(kernel, "invitations") == {recent_invite}
    assert old_invite not in await _ids(kernel, "invitations")
    assert (pruned.sessions, pruned.refresh_tokens, pruned.email_tokens, pruned.invitations) == (
        2,
        1,
        1,
        1,
    )
    assert await _ids(kernel, "users") == {user}

    again = await prune_expired(Store(kernel.db, outbox), utcnow(), history_days=90)
    assert again == type(again)(0, 0, 0, 0, 0)  # idempotent


def test_housekeeping_is_scheduled_hourly() -> None:
    module = bootstrap.build()
    [periodic] = [p for p in module.periodic if p.name == "identity.prune_expired"]
    assert periodic.job_name == "identity.prune_expired"
    assert croniter.is_valid(periodic.cron)
    assert any(spec.name == "identity.prune_expired" for spec in module.jobs)
