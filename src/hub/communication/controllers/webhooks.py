"""/webhooks: an organisation's outbound webhook endpoints, their secrets, deliveries,
manual retries and pings (``communication.webhooks.manage``).

Lists name the organisation in ``?organisationId=`` and creation in the body (like
``POST /notifications``); routes by id find it from the endpoint, and an endpoint outside
the caller's organisations is a 404. The secret is in the answer of creation and rotation
only. Creation takes no ``Idempotency-Key``: a replayed answer would have to keep the
secret in the replay store.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import UNSET

from hub.communication.domain.permissions import WEBHOOKS_MANAGE
from hub.communication.domain.webhooks import webhook_id as webhook_id_of
from hub.communication.schemas import (
    EventTypesOut,
    WebhookCreatedOut,
    WebhookDeliveryOut,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
    WebhookSecretOut,
)
from hub.communication.services.webhooks import (
    EndpointDraft,
    WebhookService,
    subscribable_event_types,
)
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema

OrganisationQuery = Annotated[uuid.UUID, QueryParameter(name="organisationId")]
DeliveryStatus = Literal["pending", "succeeded", "failed"]
_MANAGE = [permission(WEBHOOKS_MANAGE)]


def _delivery(row: Any) -> WebhookDeliveryOut:
    return to_schema(row, WebhookDeliveryOut, webhook_id=webhook_id_of(row.id))


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["Communication: webhooks"]
    security = BEARER_OR_KEY

    @get(
        operation_id="listWebhooks",
        summary="The organisation's webhook endpoints, newest first",
        guards=_MANAGE,
    )
    async def list_webhooks(
        self,
        webhooks: NamedDependency[WebhookService],
        organisation_id: OrganisationQuery,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[WebhookOut]:
        return page_as(await webhooks.list(organisation_id, limit, cursor), WebhookOut)

    @get(
        "/event-types",
        operation_id="listWebhookEventTypes",
        summary="Every event type an endpoint may subscribe to",
        guards=_MANAGE,
    )
    async def event_types(self, organisation_id: OrganisationQuery) -> EventTypesOut:
        return EventTypesOut(items=subscribable_event_types())

    @post(
        operation_id="createWebhook",
        summary="A new endpoint; the answer holds its secret, shown this once",
        description="`url`: http(s), no credentials; a host that is a literal loopback, "
        "private, link-local or metadata address is a 422 naming `url` (and each delivery "
        "checks what the name resolves to). `eventTypes`: patterns such as "
        "`content.document.*`, each matching some event type.",
        status_code=201,
        opt=problems(403, 404, 422),
    )
    async def create_webhook(
        self,
        data: JSONBody[WebhookIn],
        principal: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookService],
    ) -> WebhookCreatedOut:
        draft = EndpointDraft(
            url=data.url,
            event_types=data.event_types,
            description=data.description,
            enabled=data.enabled,
            headers=data.headers,
        )
        created = await webhooks.create(principal, data.organisation_id, draft)
        return to_schema(created.endpoint, WebhookCreatedOut, secret=created.secret)

    @get(
        "/{webhook_id:uuid}",
        operation_id="getWebhook",
        summary="One endpoint",
        opt=problems(403, 404),
    )
    async def get_webhook(
        self,
        principal: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
    ) -> WebhookOut:
        return to_schema(await webhooks.get(principal, webhook_id), WebhookOut)

    @patch(
        "/{webhook_id:uuid}",
        operation_id="updateWebhook",
        summary="Change an endpoint's URL, event types, description, headers or enabled flag",
        description="Enabling an endpoint the hub disabled starts its failure count afresh; "
        "disabling one fails its pending deliveries. `headers` replaces every custom "
        "header (`{}` removes them): at most 10, names RFC 9110 tokens other than those "
        "the hub sets (`content-type`, `user-agent`, `webhook-*`, `host`…), values of "
        "visible ASCII (no line breaks), each wrong one 422 naming `headers.<name>`.",
        opt=problems(403, 404, 422),
    )
    async def update_webhook(
        self,
        data: JSONBody[WebhookPatch],
        principal: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
    ) -> WebhookOut:
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("url", data.url),
                ("event_types", data.event_types),
                ("description", data.description),
                ("enabled", data.enabled),
                ("headers", data.headers),
            )
            if value is not UNSET
        }
        return to_schema(await webhooks.update(principal, webhook_id, changes), WebhookOut)

    @delete(
        "/{webhook_id:uuid}",
        operation_id="deleteWebhook",
        summary="Delete an endpoint and its delivery log",
        status_code=204,
        opt=problems(403, 404),
    )
    async def delete_webhook(
        self,
        principal: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
    ) -> None:
        await webhooks.delete(principal, webhook_id)

    @post(
        "/{webhook_id:uuid}/rotate-secret",
        operation_id="rotateWebhookSecret",
        summary="A new secret, shown once; the old one keeps signing for the overlap",
        description="Until `previousSecretExpiresAt` (`HUB_WEBHOOK_SECRET_OVERLAP_HOURS` "
        "later) every delivery carries two signatures, one per secret, so receivers can "
        "switch secrets without losing a delivery.",
        status_code=200,
        opt=problems(403, 404),
    )
    async def rotate_secret(
        self,
        principal: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
    ) -> WebhookSecretOut:
        secret, until = await webhooks.rotate_secret(principal, webhook_id)
        return WebhookSecretOut(secret=secret, previous_secret_expires_at=until)

    @get(
        "/{webhook_id:uuid}/deliveries",
        operation_id="listWebhookDeliveries",
        summary="The endpoint's deliveries, newest first",
        opt=problems(403, 404),
    )
    async def list_deliveries(
        self,
        principal: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        status: Annotated[DeliveryStatus | None, QueryParameter(required=False)] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[WebhookDeliveryOut]:
        page = await webhooks.deliveries(
            principal, webhook_id, status=status, limit=limit, cursor=cursor
        )
        return Page(
            items=[_delivery(r) for r in page.items],
            limit=page.limit,
            next_cursor=page.next_cursor,
        )

    @post(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/retry",
        operation_id="retryWebhookDelivery",
        summary="Send a delivery again, with the same webhook-id and body",
        status_code=202,
        opt=problems(403, 404, 409),
    )
    async def retry_delivery(
        self,
        principal: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
    ) -> WebhookDeliveryOut:
        return _delivery(await webhooks.retry(principal, webhook_id, delivery_id))

    @post(
        "/{webhook_id:uuid}/test",
        operation_id="testWebhook",
        summary="Queue a webhook.ping to the endpoint",
        status_code=202,
        opt=problems(403, 404, 409),
    )
    async def test_webhook(
        self,
        principal: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
    ) -> WebhookDeliveryOut:
        return _delivery(await webhooks.ping(principal, webhook_id))
