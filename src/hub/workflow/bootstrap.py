"""Wires the workflow context into the composition root (routes, tables, permissions)."""

from __future__ import annotations

from typing import Any, cast

from hub.communication.api import CommunicationApi
from hub.content.api import ContentApi
from hub.identity.api import IdentityApi, OrganisationPurged, UserErased
from hub.kernel.contexts import ContextModule
from hub.kernel.org_purge import SchemaPurge
from hub.kernel.personal_data import PersonalDataApi
from hub.kernel.remote.interface import describe
from hub.kernel.runtime import ContextRuntime
from hub.kernel.subscribers import Handler, Subscription
from hub.workflow.api import WorkflowConfigApi
from hub.workflow.controllers.definitions import WorkflowController
from hub.workflow.controllers.instances import IncidentController, InstanceController
from hub.workflow.controllers.messages import MessageController
from hub.workflow.controllers.tasks import OutOfOfficeController, TaskController
from hub.workflow.domain.permissions import PERMISSIONS
from hub.workflow.domain.settings import WorkflowSettings
from hub.workflow.facade import WorkflowConfigFacade
from hub.workflow.handlers import TRIGGERS, on_user_erased
from hub.workflow.handlers.org_purge import on_organisation_purged
from hub.workflow.intelligence import wiring as intelligence
from hub.workflow.intelligence.models import ClassifierState  # noqa: F401  (tables)
from hub.workflow.models import Base
from hub.workflow.services.definitions import DefinitionService
from hub.workflow.services.delegations import DelegationService
from hub.workflow.services.effects import EffectRunner
from hub.workflow.services.erasure import WorkflowErasure
from hub.workflow.services.incidents import IncidentService
from hub.workflow.services.instances import InstanceService
from hub.workflow.services.messages import MessageService
from hub.workflow.services.migration import MigrationService
from hub.workflow.services.personal_data import WorkflowPersonalData
from hub.workflow.services.schedules import ScheduleService
from hub.workflow.services.stats import StatsService
from hub.workflow.services.tasks import TaskService
from hub.workflow.services.timer_loop import TimerLoop
from hub.workflow.services.timers import TimerService
from hub.workflow.services.triggers import TriggerService
from hub.workflow.tasks import (
    PURGE_KEPT_MESSAGES_DAILY,
    TIMER_LOOP,
    deliver_kept_message,
    purge_kept_messages,
    run_effect,
)


def services(
    rt: ContextRuntime,
    *,
    identity_api: IdentityApi,
    content_api: ContentApi,
    communication_api: CommunicationApi,
) -> dict[str, Any]:
    """Every use case of workflow, wired once per process."""
    store, clock = rt.store, rt.clock
    intelligent = intelligence.services(rt, content_api)
    instances = InstanceService(
        store, rt.tenancy, content_api, clock, rt.queue_job, intelligent["classifier_says"]
    )
    timers = TimerService(store, clock, instances)
    schedules = ScheduleService(store, clock, instances, content_api)
    config: WorkflowSettings = rt.config
    definitions = DefinitionService(
        store,
        rt.tenancy,
        identity_api,
        clock,
        rt.kernel.permissions.keys,
        content_api,
        schedules,
        communication_api,
    )
    return {
        "workflow_definitions": definitions,
        "workflow_config": WorkflowConfigFacade(store, definitions),
        "workflow_instances": instances,
        "workflow_messages": MessageService(rt.store, rt.tenancy, instances),
        "workflow_incidents": IncidentService(store, instances, rt.queue_job, clock),
        "workflow_migration": MigrationService(store, instances, clock),
        "workflow_tasks": TaskService(
            store, rt.tenancy, identity_api, content_api, instances, clock
        ),
        "workflow_timers": timers,
        "workflow_schedules": schedules,
        "workflow_timer_loop": TimerLoop(
            timers,
            schedules,
            clock,
            poll_s=config.workflow_timer_poll_ms / 1000,
            firers=config.workflow_timer_firers,
        ),
        "workflow_triggers": TriggerService(instances, schedules),
        "workflow_stats": StatsService(store, clock),
        "workflow_delegations": DelegationService(store, identity_api, clock),
        "workflow_erasure": WorkflowErasure(),
        "workflow_personal_data": WorkflowPersonalData(store),
        "workflow_effects": EffectRunner(
            store, clock, identity_api, content_api, communication_api
        ),
        "workflow_org_purge": SchemaPurge(store, Base.metadata),
        **intelligent,
    }


def build() -> ContextModule:
    return ContextModule(
        name="workflow",
        metadata=Base.metadata,
        depends_on=("identity", "content", "communication"),
        services=services,
        route_handlers=[
            WorkflowController,
            InstanceController,
            IncidentController,
            MessageController,
            OutOfOfficeController,
            TaskController,
            *intelligence.ROUTE_HANDLERS,
        ],
        permissions=[*PERMISSIONS, *intelligence.PERMISSIONS],
        settings=WorkflowSettings,
        jobs=[run_effect, deliver_kept_message, purge_kept_messages, *intelligence.JOBS],
        periodic=[*intelligence.PERIODIC, PURGE_KEPT_MESSAGES_DAILY],
        loops=[TIMER_LOOP],
        catch_all=[TRIGGERS],
        subscriptions=[
            *intelligence.SUBSCRIPTIONS,
            Subscription(
                OrganisationPurged,
                cast(Handler, on_organisation_purged),  # its service is injected by name
                name="workflow.organisation_purged",
            ),
            Subscription(
                UserErased,
                cast(Handler, on_user_erased),  # its service is injected by name
                name="workflow.user_erased",
            ),
        ],
        interfaces=(
            describe("workflow", WorkflowConfigApi, "workflow_config"),
            describe("workflow", PersonalDataApi, "workflow_personal_data"),
        ),
        personal_data="workflow_personal_data",
    )
