"""Wires the communication context: its services (built once from its runtime), routes,
tables, permissions, jobs and event subscriptions. Only ``hub.app``, ``hub.cli`` and
``hub.worker`` import this."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from hub.communication.api import CommunicationApi, CommunicationConfigApi
from hub.communication.controllers.categories import CategoryController
from hub.communication.controllers.channels import NotificationChannelController
from hub.communication.controllers.conversations import ConversationController
from hub.communication.controllers.messaging import MessagingPolicyController
from hub.communication.controllers.notifications import (
    DeliveryController,
    NotificationController,
    ScheduledNotificationController,
)
from hub.communication.controllers.preferences import DefaultsController, PreferencesController
from hub.communication.controllers.push import PushController
from hub.communication.controllers.stream import StreamController
from hub.communication.controllers.templates import TemplateController
from hub.communication.controllers.topics import TopicController
from hub.communication.controllers.webhooks import WebhookController
from hub.communication.domain.permissions import PERMISSIONS
from hub.communication.domain.push import contact
from hub.communication.domain.settings import CommunicationSettings
from hub.communication.facade import CommunicationConfigFacade, CommunicationFacade
from hub.communication.handlers import (
    WEBHOOK_FEED,
    on_document_shared,
    on_member_removed,
    on_note_added,
    on_user_erased,
)
from hub.communication.handlers.org_purge import on_organisation_purged
from hub.communication.models import Base
from hub.communication.services.channels import SEAL_PURPOSE, ChannelService
from hub.communication.services.chat import ChatDelivery
from hub.communication.services.conversations import ConversationService
from hub.communication.services.deliveries import DeliveryLog
from hub.communication.services.digests import DigestClosing, DigestEmail
from hub.communication.services.email import DeferredRelease, EmailDelivery
from hub.communication.services.erasure import CommunicationErasure
from hub.communication.services.escalation import Escalation
from hub.communication.services.fanout import FanOut
from hub.communication.services.inbox import InboxService
from hub.communication.services.inbox_events import InboxEvents
from hub.communication.services.messages import MessageService
from hub.communication.services.messaging import MessagingPolicies
from hub.communication.services.org_categories import OrganisationCategories
from hub.communication.services.personal_data import CommunicationPersonalData
from hub.communication.services.preferences import PreferenceService
from hub.communication.services.push import SEAL_PURPOSE as PUSH_SEAL
from hub.communication.services.push import PushSubscriptions, VapidKeys
from hub.communication.services.push_delivery import PushDelivery
from hub.communication.services.retention import HistoryRetention, InboxRetention
from hub.communication.services.secret_rotation import sealed_values
from hub.communication.services.sending import SendService
from hub.communication.services.snoozes import SnoozeEnd
from hub.communication.services.stream import StreamService
from hub.communication.services.stream_buffer import StreamBuffer
from hub.communication.services.templates import TemplateService
from hub.communication.services.topics import Topics
from hub.communication.services.unread_notices import UnreadNotices
from hub.communication.services.webhook_delivery import (
    WebhookDispatch,
    WebhookRetries,
    WebhookSender,
)
from hub.communication.services.webhooks import SEAL_PURPOSE as WEBHOOK_SEAL
from hub.communication.services.webhooks import WebhookService
from hub.communication.tasks import (
    CLOSE_DIGESTS_EVERY_MINUTE,
    END_SNOOZES_EVERY_MINUTE,
    ESCALATE_EVERY_MINUTE,
    PRUNE_HISTORY_DAILY,
    PRUNE_INBOX_DAILY,
    RELEASE_EVERY_MINUTE,
    SEND_SCHEDULED_EVERY_MINUTE,
    UNREAD_NOTICES_EVERY_MINUTE,
    WEBHOOK_RETRIES_EVERY_5S,
    close_digests,
    conversation_unread_notices,
    end_snoozes,
    escalate_unread,
    fan_out,
    prune_history,
    prune_inbox,
    release_deferred,
    send_chat,
    send_digest,
    send_email,
    send_push,
    send_scheduled,
    webhook_deliver,
    webhook_retries,
)
from hub.content.api import ContentApi, DocumentShared, NoteAdded
from hub.identity.api import IdentityApi, MemberRemoved, OrganisationPurged, UserErased
from hub.kernel.contexts import ContextModule
from hub.kernel.egress import AddressPolicy
from hub.kernel.netguard import networks
from hub.kernel.org_purge import SchemaPurge
from hub.kernel.personal_data import PersonalDataApi
from hub.kernel.remote.interface import describe
from hub.kernel.runtime import ContextRuntime
from hub.kernel.sealing import Sealer
from hub.kernel.subscribers import Handler, Subscription


def services(
    rt: ContextRuntime, *, identity_api: IdentityApi, content_api: ContentApi
) -> dict[str, Any]:
    """Every use case of communication, wired once per process."""
    store, clock = rt.store, rt.clock
    settings: CommunicationSettings = rt.config
    categories = OrganisationCategories(store, clock, identity_api)
    messaging = MessagingPolicies(store, clock, identity_api)
    templates = TemplateService(store, clock, categories)
    preferences = PreferenceService(store, clock, categories)
    topics = Topics(store, clock, identity_api)
    sending = SendService(
        store,
        rt.tenancy,
        identity_api,
        templates,
        clock,
        rt.queue_job,
        batch_size=settings.notification_batch_size,
        max_recipients=settings.notification_max_recipients,
        topics=topics,
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
    channels = ChannelService(
        store,
        clock,
        Sealer.from_settings(rt.settings, SEAL_PURPOSE),
        networks(settings.notification_channel_allowed_networks),
        categories,
    )
    return {
        "notification_categories": categories,
        "notification_topics": topics,
        "notification_templates": templates,
        "notifications": sending,
        "notification_stream": stream,
        "notification_fan_out": FanOut(store, templates, clock, rt.queue_job, inbox_events),
        "email_delivery": EmailDelivery(
            store, templates, identity_api, clock, rt.settings, rt.mail_transport
        ),
        "deferred_release": DeferredRelease(store, clock, rt.queue_job),
        "inbox": InboxService(store, clock, inbox_events),
        "snooze_end": SnoozeEnd(store, clock, inbox_events),
        "preferences": preferences,
        "delivery_log": DeliveryLog(store),
        "notification_channels": channels,
        "chat_delivery": ChatDelivery(store, templates, channels, clock),
        **_push(rt, templates),
        "communication_public_url": str(rt.settings.public_url),
        "communication_api": CommunicationFacade(sending),
        "communication_erasure": CommunicationErasure(clock),
        "communication_personal_data": CommunicationPersonalData(store),
        "communication_config": CommunicationConfigFacade(
            store, templates, preferences, categories, messaging, topics
        ),
        "messaging_policies": messaging,
        "digest_closing": DigestClosing(store, clock, rt.queue_job),
        "digest_email": DigestEmail(
            store, templates, identity_api, clock, rt.settings, rt.mail_transport
        ),
        "escalation": Escalation(store, clock, rt.queue_job),
        "inbox_retention": InboxRetention(
            store,
            clock,
            read_days=settings.notification_read_retention_days,
            archived_days=settings.notification_archived_retention_days,
        ),
        "history_retention": HistoryRetention(
            store, clock, days=settings.notification_history_days
        ),
        **_conversations(rt, identity_api, content_api, inbox_events, sending, messaging),
        **webhook_services(rt, settings, sending),
    }


def _push(rt: ContextRuntime, templates: TemplateService) -> dict[str, Any]:
    """Web Push: the browsers people register, the VAPID key, the send job's service."""
    settings: CommunicationSettings = rt.config
    sealer = Sealer.from_settings(rt.settings, PUSH_SEAL)
    policy = AddressPolicy.of(settings.webpush_allowed_networks)
    keys = VapidKeys(rt.store, sealer, rt.clock)
    return {
        "push_subscriptions": PushSubscriptions(rt.store, rt.clock, sealer, policy, keys),
        "push_delivery": PushDelivery(
            rt.store,
            templates,
            rt.clock,
            sealer=sealer,
            keys=keys,
            policy=policy,
            subject=contact(
                settings.webpush_subject, str(rt.settings.public_url), rt.settings.mail_from
            ),
            ttl_seconds=settings.webpush_ttl_seconds,
        ),
    }


def webhook_services(
    rt: ContextRuntime, settings: CommunicationSettings, sending: SendService
) -> dict[str, Any]:
    sealer = Sealer.from_settings(rt.settings, WEBHOOK_SEAL)
    policy = AddressPolicy.of(settings.webhook_allow_private_networks)
    return {
        "webhooks": WebhookService(
            rt.store,
            rt.tenancy,
            rt.clock,
            rt.queue_job,
            sealer=sealer,
            policy=policy,
            overlap=timedelta(hours=settings.webhook_secret_overlap_hours),
        ),
        "webhook_dispatch": WebhookDispatch(rt.clock, rt.queue_job),
        "webhook_sender": WebhookSender(
            rt.store,
            rt.clock,
            sending,
            sealer=sealer,
            policy=policy,
            timeout_s=settings.webhook_timeout_seconds,
        ),
        "webhook_release": WebhookRetries(rt.store, rt.clock, rt.queue_job),
        "communication_org_purge": SchemaPurge(rt.store, Base.metadata),
        "communication_secret_rotation": sealed_values(rt.store, rt.settings),
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
            ScheduledNotificationController,
            DeliveryController,
            PreferencesController,
            DefaultsController,
            CategoryController,
            TopicController,
            MessagingPolicyController,
            TemplateController,
            StreamController,
            NotificationChannelController,
            PushController,
            ConversationController,
            WebhookController,
        ],
        permissions=PERMISSIONS,
        subscriptions=[
            Subscription(
                DocumentShared,
                cast(Handler, on_document_shared),  # its services are injected by name
                name="communication.document_shared",
            ),
            Subscription(
                NoteAdded,
                cast(Handler, on_note_added),  # its services are injected by name
                name="communication.note_added",
            ),
            Subscription(
                OrganisationPurged,
                cast(Handler, on_organisation_purged),  # its service is injected by name
                name="communication.organisation_purged",
            ),
            Subscription(
                UserErased,
                cast(Handler, on_user_erased),  # its service is injected by name
                name="communication.user_erased",
            ),
            Subscription(
                MemberRemoved,
                cast(Handler, on_member_removed),  # its service is injected by name
                name="communication.member_removed",
            ),
        ],
        catch_all=[WEBHOOK_FEED],
        interfaces=(
            describe("communication", CommunicationApi, "communication_api"),
            describe("communication", CommunicationConfigApi, "communication_config"),
            describe("communication", PersonalDataApi, "communication_personal_data"),
        ),
        personal_data="communication_personal_data",
        secrets="communication_secret_rotation",
        jobs=[
            fan_out,
            send_email,
            release_deferred,
            send_scheduled,
            send_chat,
            send_push,
            close_digests,
            send_digest,
            escalate_unread,
            prune_inbox,
            prune_history,
            end_snoozes,
            conversation_unread_notices,
            webhook_deliver,
            webhook_retries,
        ],
        periodic=[
            RELEASE_EVERY_MINUTE,
            SEND_SCHEDULED_EVERY_MINUTE,
            CLOSE_DIGESTS_EVERY_MINUTE,
            ESCALATE_EVERY_MINUTE,
            PRUNE_INBOX_DAILY,
            PRUNE_HISTORY_DAILY,
            END_SNOOZES_EVERY_MINUTE,
            UNREAD_NOTICES_EVERY_MINUTE,
            WEBHOOK_RETRIES_EVERY_5S,
        ],
    )


def _conversations(
    rt: ContextRuntime,
    identity_api: IdentityApi,
    content_api: ContentApi,
    events: InboxEvents,
    sending: SendService,
    messaging: MessagingPolicies | None = None,
) -> dict[str, Any]:
    """Conversations, their messages and the unread-messages notices."""
    settings: CommunicationSettings = rt.config
    store, clock = rt.store, rt.clock
    return {
        "conversations": ConversationService(
            store, rt.tenancy, identity_api, content_api, clock, events, messaging
        ),
        "conversation_messages": MessageService(
            store, identity_api, content_api, events, clock, rt.redis
        ),
        "conversation_unread_notices": UnreadNotices(
            store,
            identity_api,
            sending,
            clock,
            after_minutes=settings.conversation_unread_notice_minutes,
            public_url=str(rt.settings.public_url),
        ),
    }
