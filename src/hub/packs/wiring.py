"""The pack engine, built once per process from the contexts' public interfaces.

``hub.app`` and ``hub.cli`` add it to the wired services as ``packs`` (after the contexts'
own), so routes and commands receive it by name like any context service.
"""

from __future__ import annotations

from typing import Any

from hub.communication.api import CommunicationConfigApi
from hub.content.api import ContentConfigApi
from hub.identity.api import IdentityApi, IdentityConfigApi
from hub.kernel.inject import inject
from hub.packs.engine import PackEngine
from hub.workflow.api import WorkflowConfigApi


def pack_engine(
    *,
    identity_api: IdentityApi,
    identity_config: IdentityConfigApi,
    content_config: ContentConfigApi,
    communication_config: CommunicationConfigApi,
    workflow_config: WorkflowConfigApi,
) -> PackEngine:
    return PackEngine(
        identity_config, content_config, communication_config, workflow_config, identity_api
    )


def add_pack_engine(services: dict[str, Any]) -> None:
    """Add ``packs`` to the services the contexts wired (once)."""
    if "packs" not in services:
        services["packs"] = inject(pack_engine, services)()
