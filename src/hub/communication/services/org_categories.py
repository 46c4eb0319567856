"""Notification categories organisations define (``domain.org_categories``): their CRUD
(``/orgs/{orgId}/notification-categories``) and the categories known where a check needs
them — to an organisation (templates, sends, defaults, chat channels) or to a user (their
preferences: the platform's and those of every organisation they belong to).

The platform's categories cost no query: :meth:`OrganisationCategories.one` reads the
table only for a key the platform does not declare.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.communication import repositories
from hub.communication.api import CategoryCreated, CategoryDeleted, CategoryUpdated
from hub.communication.domain.categories import CATEGORIES, Category, Known
from hub.communication.domain.org_categories import (
    MAX_CATEGORIES,
    CategoryDraft,
    as_category,
    check_draft,
    known_with,
)
from hub.communication.models import OrganisationCategory
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.errors import Conflict
from hub.kernel.problems import field_invalid, not_found
from hub.kernel.schema import new_id
from hub.kernel.store import Store

categories_t = cast(Table, OrganisationCategory.__table__)


def category_view(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "organisation_id": row.organisation_id,
        "key": row.key,
        "name": row.name,
        "description": row.description,
        "defaults": dict(row.defaults),
        "mandatory": row.mandatory,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


class OrganisationCategories:
    def __init__(self, store: Store, clock: Clock, identity: IdentityApi) -> None:
        self.store, self.clock, self.identity = store, clock, identity

    # ------------------------------------------------------------------ lookups

    async def rows(self, organisation_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
        if not organisation_ids:
            return []
        t = categories_t
        return list(
            await self.store.all(
                select(t)
                .where(t.c.organisation_id.in_(list(organisation_ids)))
                .order_by(t.c.organisation_id, t.c.key)
            )
        )

    async def known(self, organisation_id: uuid.UUID) -> dict[str, Category]:
        """The platform's categories and the organisation's own."""
        return known_with(as_category(r) for r in await self.rows([organisation_id]))

    async def one(self, organisation_id: uuid.UUID, key: str) -> Known:
        """The platform's categories, with ``key`` among them when the organisation
        defines it: what a check of that one key needs (a platform key: no query)."""
        if key in CATEGORIES:
            return CATEGORIES
        t = categories_t
        row = await self.store.first(
            select(t).where(t.c.organisation_id == organisation_id, t.c.key == key)
        )
        return known_with([as_category(row)]) if row is not None else CATEGORIES

    async def of_user(self, user_id: uuid.UUID) -> list[Row[Any]]:
        """The categories of every organisation the user belongs to."""
        return await self.rows(await self.identity.organisations_of(user_id))

    async def known_to_user(self, user_id: uuid.UUID) -> dict[str, Category]:
        return known_with(as_category(r) for r in await self.of_user(user_id))

    # ------------------------------------------------------------------ CRUD

    async def list(self, organisation_id: uuid.UUID) -> list[dict[str, Any]]:
        return [category_view(r) for r in await self.rows([organisation_id])]

    async def _row(self, organisation_id: uuid.UUID, key: str) -> Row[Any]:
        t = categories_t
        row = await self.store.first(
            select(t).where(t.c.organisation_id == organisation_id, t.c.key == key)
        )
        if row is None:
            raise not_found("notification category")
        return row

    async def get(self, organisation_id: uuid.UUID, key: str) -> dict[str, Any]:
        return category_view(await self._row(organisation_id, key))

    async def create(self, organisation_id: uuid.UUID, draft: CategoryDraft) -> dict[str, Any]:
        """422 for a bad draft or a platform key, 409 ``category_exists`` for a key the
        organisation has, 422 ``too_many_categories`` past the limit."""
        clean = check_draft(draft)
        t = categories_t
        now = self.clock()
        category_id = new_id()
        values = {
            "id": category_id,
            "organisation_id": organisation_id,
            "key": clean.key,
            "name": clean.name,
            "description": clean.description,
            "defaults": clean.defaults,
            "mandatory": clean.mandatory,
            "created_at": now,
            "updated_at": now,
        }
        async with self.store.uow() as uow:
            count = await uow.session.scalar(
                select(func.count()).where(t.c.organisation_id == organisation_id)
            )
            if (count or 0) >= MAX_CATEGORIES:
                raise field_invalid(
                    "key",
                    f"an organisation defines at most {MAX_CATEGORIES} categories",
                    code="too_many_categories",
                )
            try:
                await uow.session.execute(insert(t).values(**values))
            except IntegrityError:
                raise Conflict(
                    "The organisation already has this category; change it with PATCH.",
                    code="category_exists",
                ) from None
            uow.publish(
                CategoryCreated(
                    category_id=category_id, key=clean.key, organisation_id=organisation_id
                )
            )
            await uow.commit()
        return await self.get(organisation_id, clean.key)

    async def update(
        self, organisation_id: uuid.UUID, key: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """``changes``: any of name, description, defaults, mandatory (the key stays)."""
        row = await self._row(organisation_id, key)
        current = category_view(row)
        clean = check_draft(
            CategoryDraft(
                key=key,
                name=changes.get("name", current["name"]),
                description=changes.get("description", current["description"]),
                defaults=changes.get("defaults", current["defaults"]),
                mandatory=changes.get("mandatory", current["mandatory"]),
            )
        )
        wanted = {
            "name": clean.name,
            "description": clean.description,
            "defaults": clean.defaults,
            "mandatory": clean.mandatory,
        }
        changed = [k for k, v in wanted.items() if current[k] != v]
        if not changed:
            return current
        t = categories_t
        async with self.store.uow() as uow:
            await uow.session.execute(
                update(t)
                .where(t.c.id == row.id)
                .values(**{k: wanted[k] for k in changed}, updated_at=self.clock())
            )
            uow.publish(
                CategoryUpdated(
                    category_id=row.id,
                    key=key,
                    changed=sorted(changed),
                    organisation_id=organisation_id,
                )
            )
            await uow.commit()
        return await self.get(organisation_id, key)

    async def delete(self, organisation_id: uuid.UUID, key: str) -> None:
        """409 ``category_in_use`` while a template of the organisation files under it."""
        row = await self._row(organisation_id, key)
        templates = await repositories.latest_templates(self.store, organisation_id)
        used = sorted(t.key for t in templates if t.category == key)
        if used:
            raise Conflict(
                f"Template {used[0]!r} files its notifications under this category.",
                code="category_in_use",
            )
        t = categories_t
        async with self.store.uow() as uow:
            await uow.session.execute(delete(t).where(t.c.id == row.id))
            uow.publish(
                CategoryDeleted(category_id=row.id, key=key, organisation_id=organisation_id)
            )
            await uow.commit()
