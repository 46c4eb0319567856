"""The organisation's model in use, loaded once per version and process (loading a
stored model takes seconds, a request must not pay it).

Which version is in use is the organisation's ``classifier_states.model_version``: a
training sets it only once the version's model and every vector are stored, so a request
during a retraining keeps the previous complete version."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from hub.kernel.deferred import deferred_module
from hub.kernel.store import Store
from hub.workflow.intelligence import repositories as repo

if TYPE_CHECKING:
    from hub.workflow.intelligence.domain import storage
else:
    storage = deferred_module("hub.workflow.intelligence.domain.storage")


class ModelCache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._loaded: dict[uuid.UUID, tuple[int, dict[str, Any]]] = {}
        self._lock = asyncio.Lock()

    async def current(self, organisation_id: uuid.UUID) -> tuple[int, dict[str, Any]] | None:
        """``(version, model)`` of the version in use, or None before any training."""
        version = await repo.current_version(self.store, organisation_id)
        if version is None:
            return None
        held = self._loaded.get(organisation_id)
        if held is not None and held[0] == version:
            return held
        async with self._lock:
            held = self._loaded.get(organisation_id)
            if held is not None and held[0] == version:
                return held
            data = await repo.model_data(self.store, organisation_id, version)
            if data is None:
                return None
            model = await asyncio.to_thread(storage.load, data)
            self._loaded[organisation_id] = (version, model)
            return version, model

    def keep(self, organisation_id: uuid.UUID, version: int, model: dict[str, Any]) -> None:
        self._loaded[organisation_id] = (version, model)
