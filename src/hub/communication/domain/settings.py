"""Communication's own settings (``HUB_*`` variables like every other), declared on its
``ContextModule`` and loaded and validated with the kernel's. README "Configuration"
documents them."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from hub.kernel.settings import Networks

#: The VAPID contact: ``mailto:`` an address, or an https URL (RFC 8292 §2.1).
WebPushSubject = Annotated[
    str, Meta(pattern=r"^(mailto:[^\s@]+@[^\s@]+|https://\S+)?$", max_length=320)
]


class CommunicationSettings(msgspec.Struct, kw_only=True, frozen=True):
    #: Recipients one fan-out job writes (one bulk INSERT each for inbox and deliveries);
    #: at most 1000, the most identity's display lookup answers in one call.
    notification_batch_size: Annotated[int, Meta(ge=1, le=1000)] = 500
    #: Most recipients one notification may resolve to (a larger audience is a 422).
    notification_max_recipients: Annotated[int, Meta(ge=1, le=1_000_000)] = 50_000
    #: Seconds one server-sent-event stream stays open before the server ends it (the
    #: client reconnects with a new ticket), so no connection is held forever.
    notification_stream_max_seconds: Annotated[int, Meta(ge=1, le=3600)] = 300
    #: Networks an organisation's chat or SMS channel may reach although they are not
    #: public (loopback, private, link-local …; ``hub.kernel.netguard``): an internal
    #: chat server, a test's ``127.0.0.1``. Empty: public addresses only.
    notification_channel_allowed_networks: Networks = ()
    #: Days a read in-app notification is kept after it was read (then pruned daily).
    notification_read_retention_days: Annotated[int, Meta(ge=1, le=36500)] = 90
    #: Days an archived in-app notification is kept after it was archived.
    notification_archived_retention_days: Annotated[int, Meta(ge=1, le=36500)] = 30
    #: Days notifications, their delivery log and digests are kept after sending (then
    #: pruned daily, once nothing refers to them); 0 keeps them forever.
    notification_history_days: Annotated[int, Meta(ge=0, le=36500)] = 365
    #: Seconds of silence after which an open stream sends a ``: ping`` comment, so
    #: proxies do not cut an idle connection.
    stream_heartbeat_s: Annotated[float, Meta(gt=0, le=300)] = 15.0
    #: Seconds a person's recent stream events are kept for ``Last-Event-ID`` replay
    #: (at most 200 events); a reconnect naming an older one gets ``reset``.
    stream_replay_s: Annotated[int, Meta(ge=10, le=86_400)] = 600
    #: Minutes a message from someone else stays unread before its reader gets one
    #: ``conversation.unread`` notification (one per conversation per unread burst).
    conversation_unread_notice_minutes: Annotated[int, Meta(ge=1, le=10_080)] = 10
    #: Addresses or networks webhook deliveries may reach although they are not public
    #: (loopback, private…): ``127.0.0.1/32`` for a receiver on the same host. Cloud
    #: metadata addresses stay refused.
    webhook_allow_private_networks: Networks = ()
    #: Hours a rotated-out webhook secret keeps signing beside the new one.
    webhook_secret_overlap_hours: Annotated[int, Meta(ge=0, le=720)] = 24
    #: Seconds one webhook attempt may take in all (connecting: at most 5 of them).
    webhook_timeout_seconds: Annotated[int, Meta(ge=1, le=60)] = 15
    #: The contact a push service may write to about the hub's pushes (the VAPID
    #: ``sub``): ``mailto:ops@example.com`` or an https URL. Empty: ``HUB_PUBLIC_URL``
    #: when it is https, else ``mailto:`` the address of ``HUB_MAIL_FROM``.
    webpush_subject: WebPushSubject = ""
    #: Networks a browser's push endpoint may reach although they are not public (a
    #: test's loopback, an intranet push relay); plain ``http://`` only to these.
    webpush_allowed_networks: Networks = ()
    #: Seconds a push service keeps a message for a browser that is offline (the
    #: ``TTL`` header; 0: now or never). At most 28 days, what push services keep.
    webpush_ttl_seconds: Annotated[int, Meta(ge=0, le=2_419_200)] = 86_400
