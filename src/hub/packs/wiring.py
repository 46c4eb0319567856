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


#: The configuration interfaces a pack writes through: a served context's facade, or the
#: remote adapter of one served elsewhere (``HUB_REMOTE_<CONTEXT>_URL``).
CONFIG_INTERFACES = ("identity_config", "content_config", "communication_config", "workflow_config")


def add_pack_engine(services: dict[str, Any]) -> bool:
    """Add ``packs`` to the services the contexts wired (once); False, with no engine, in a
    process that reaches not all four contexts (in a split deployment: one that neither
    serves workflow nor sets ``HUB_REMOTE_WORKFLOW_URL``; the proxy sends packs to workflow's)."""
    if any(name not in services for name in CONFIG_INTERFACES):
        return False
    if "packs" not in services:
        services["packs"] = inject(pack_engine, services)()
    return True
