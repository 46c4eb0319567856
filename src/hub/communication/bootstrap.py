"""Wires the communication context: its services (built once from its runtime), routes,
tables, permissions, jobs and event subscriptions. Only ``hub.app``, ``hub.cli`` and
``hub.worker`` import this."""

from __future__ import annotations

from typing import Any, cast

from hub.communication.controllers.notifications import DeliveryController, NotificationController
from hub.communication.controllers.preferences import DefaultsController, PreferencesController
from hub.communication.controllers.stream import StreamController
from hub.communication.controllers.templates import TemplateController
from hub.communication.domain.permissions import PERMISSIONS
from hub.communication.domain.settings import CommunicationSettings
from hub.communication.facade import CommunicationFacade
from hub.communication.handlers import on_document_shared
from hub.communication.models import Base
from hub.communication.services.deliveries import DeliveryLog
from hub.communication.services.email import DeferredRelease, EmailDelivery
from hub.communication.services.fanout import FanOut
from hub.communication.services.inbox import InboxService
from hub.communication.services.inbox_events import InboxEvents
from hub.communication.services.preferences import PreferenceService
from hub.communication.services.sending import SendService
from hub.communication.services.snoozes import SnoozeEnd
from hub.communication.services.stream import StreamService
from hub.communication.services.stream_buffer import StreamBuffer
from hub.communication.services.templates import TemplateService
from hub.communication.tasks import (
    END_SNOOZES_EVERY_MINUTE,
    RELEASE_EVERY_MINUTE,
    end_snoozes,
    fan_out,
    release_deferred,
    send_email,
)
from hub.content.api import DocumentShared
from hub.identity.api import IdentityApi
from hub.kernel.contexts import ContextModule
from hub.kernel.runtime import ContextRuntime
from hub.kernel.subscribers import Handler, Subscription


def services(rt: ContextRuntime, *, identity_api: IdentityApi) -> dict[str, Any]:
    """Every use case of communication, wired once per process."""
    store, clock = rt.store, rt.clock
    settings: CommunicationSettings = rt.config
    templates = TemplateService(store, clock)
    sending = SendService(
        store,
        rt.tenancy,
        identity_api,
        templates,
        clock,
        rt.queue_job,
        batch_size=settings.notification_batch_size,
        max_recipients=settings.notification_max_recipients,
    )
    buffer = StreamBuffer(rt.redis, replay_s=settings.stream_replay_s)
    inbox_events = InboxEvents(store, buffer)
    stream = StreamService(
        rt.redis,
        clock,
        buffer,
        rt.kernel.security.revocations,
        heartbeat_s=settings.stream_heartbeat_s,
        max_seconds=settings.notification_stream_max_seconds,
    )
    return {
        "notification_templates": templates,
        "notifications": sending,
        "notification_stream": stream,
        "notification_fan_out": FanOut(store, templates, clock, rt.queue_job, inbox_events),
        "email_delivery": EmailDelivery(store, templates, identity_api, clock, rt.settings),
        "deferred_release": DeferredRelease(store, clock, rt.queue_job),
        "inbox": InboxService(store, clock, inbox_events),
        "snooze_end": SnoozeEnd(store, clock, inbox_events),
        "preferences": PreferenceService(store, clock),
        "delivery_log": DeliveryLog(store),
        "communication_public_url": str(rt.settings.public_url),
        "communication_api": CommunicationFacade(sending),
    }


def build() -> ContextModule:
    return ContextModule(
        name="communication",
        metadata=Base.metadata,
        depends_on=("identity", "content"),
        settings=CommunicationSettings,
        services=services,
        route_handlers=[
            NotificationController,
            DeliveryController,
            PreferencesController,
            DefaultsController,
            TemplateController,
            StreamController,
        ],
        permissions=PERMISSIONS,
        subscriptions=[
            Subscription(
                DocumentShared,
                cast(Handler, on_document_shared),  # its services are injected by name
                name="communication.document_shared",
            )
        ],
        jobs=[fan_out, send_email, release_deferred, end_snoozes],
        periodic=[RELEASE_EVERY_MINUTE, END_SNOOZES_EVERY_MINUTE],
    )
