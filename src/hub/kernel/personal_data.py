"""The personal-data hook: every context exports what it holds about one person.

GDPR Articles 15 and 20 give a person a copy of their data in a machine-readable form.
The data lives in every context, and the kernel imports none of them, so each context
*declares* its part instead: it implements :class:`PersonalDataApi` (one method,
``export_personal_data(user_id)`` returning a JSON-ready dict), lists it among its public
interfaces (``describe("<ctx>", PersonalDataApi, "<ctx>_personal_data")``) and names that
dependency on :attr:`ContextModule.personal_data <hub.kernel.contexts.ContextModule>`.

Being an interface like any other ``api`` Protocol, the export is served under
``/internal/v1/<ctx>/export_personal_data`` and, where the context runs in another
process (``HUB_CONTEXTS``), reached through its remote adapter: the
:class:`PersonalDataExport` that identity's ``GET /auth/me/export`` calls cannot tell a
monolith from a split deployment. Erasure (Article 17) needs no hook: identity publishes
``identity.user_erased`` and each context subscribes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import msgspec

from hub.kernel.contract import idempotent
from hub.kernel.errors import DependencyUnavailable


class PersonalDataApi(Protocol):
    """What one context holds about one person, for the person's own export."""

    @idempotent
    async def export_personal_data(self, user_id: uuid.UUID) -> dict[str, Any]:
        """Everything the context keeps about ``user_id`` (and nothing of anyone else's:
        another person appears by id only), as JSON-ready values, by kind of record."""
        ...


class PersonalDataExport:
    """Every context's export of one person, in dependency order, keyed by context.

    Built by the kernel's wiring once every context's services (or remote adapters) are
    in place; the implementations are looked up by dependency name at call time."""

    def __init__(self, exporters: Sequence[tuple[str, str]], services: Mapping[str, Any]) -> None:
        self._exporters = tuple(exporters)
        self._services = services

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(context for context, _ in self._exporters)

    async def export(self, user_id: uuid.UUID) -> dict[str, dict[str, Any]]:
        """``{context: its export}``; a context whose export cannot be reached fails the
        whole archive (503): an export missing a context would silently be incomplete."""
        out: dict[str, dict[str, Any]] = {}
        for context, dependency in self._exporters:
            exporter: PersonalDataApi | None = self._services.get(dependency)
            if exporter is None:
                raise DependencyUnavailable(f"{context} context")
            out[context] = await exporter.export_personal_data(user_id)
        return out


def records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """SQL rows as JSON-ready dicts (ids and times as strings), the same in process and
    over the wire."""
    out: list[dict[str, Any]] = msgspec.to_builtins([dict(row._mapping) for row in rows])
    return out
