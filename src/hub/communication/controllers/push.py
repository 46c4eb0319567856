"""/notifications/push-key and /notifications/push-subscriptions: the signed-in person's
browsers that notifications may wake (Web Push)."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from hub.communication.deps import people_only
from hub.communication.schemas import (
    PushKeyOut,
    PushSubscriptionIn,
    PushSubscriptionOut,
    PushSubscriptionPatch,
    PushTestOut,
)
from hub.communication.services.push import PushSubscriptions
from hub.communication.services.push_delivery import PushDelivery
from hub.kernel.openapi import problems
from hub.kernel.pagination import Page
from hub.kernel.ratelimit import rate_limit
from hub.kernel.security import Principal
from hub.kernel.web import BEARER, to_schema, to_schemas


class PushController(Controller):
    path = "/notifications"
    tags = ["Communication: push"]
    security = BEARER
    guards = [people_only]

    @get(
        "/push-key",
        operation_id="getPushKey",
        summary="The hub's VAPID public key, for pushManager.subscribe",
        description="Give it as `applicationServerKey` to `pushManager.subscribe(...)`; the "
        "browser's subscription is then registered with `POST "
        "/notifications/push-subscriptions`. The key is made once and kept (a rotation of "
        "`HUB_SECRET_KEY` keeps it), so subscriptions stay valid.",
    )
    async def push_key(self, push_subscriptions: NamedDependency[PushSubscriptions]) -> PushKeyOut:
        return PushKeyOut(public_key=await push_subscriptions.keys.public_key())

    @get(
        "/push-subscriptions",
        operation_id="listPushSubscriptions",
        summary="The caller's browsers registered for push, most recently used first",
    )
    async def list_subscriptions(
        self,
        principal: NamedDependency[Principal],
        push_subscriptions: NamedDependency[PushSubscriptions],
    ) -> Page[PushSubscriptionOut]:
        mine = await push_subscriptions.mine(principal.user_id)
        return Page(items=to_schemas(mine, PushSubscriptionOut), limit=len(mine))

    @post(
        "/push-subscriptions",
        operation_id="registerPushSubscription",
        summary="Register a browser's push subscription (201; 200 when it was known)",
        description="The body is `subscription.toJSON()` (`endpoint`, `keys.p256dh`, "
        "`keys.auth`, `expirationTime`) and an optional `label`. A browser registered "
        "before is refreshed (200), also when another person had registered it: it is "
        "theirs no more. Past 20 browsers the least recently used is forgotten. 422 "
        "naming `endpoint` (not https, a private or loopback address: "
        "`endpoint_not_allowed`), `keys.p256dh` or `keys.auth`.",
        status_code=201,
        responses={
            200: ResponseSpec(PushSubscriptionOut, description="The browser, registered before.")
        },
        opt=problems(422),
    )
    async def register(
        self,
        data: JSONBody[PushSubscriptionIn],
        principal: NamedDependency[Principal],
        push_subscriptions: NamedDependency[PushSubscriptions],
    ) -> Response[PushSubscriptionOut]:
        row, created = await push_subscriptions.register(
            principal.user_id, data.endpoint, data.keys.p256dh, data.keys.auth, data.label
        )
        return Response(to_schema(row, PushSubscriptionOut), status_code=201 if created else 200)

    @post(
        "/push-subscriptions/{subscription_id:uuid}/test",
        status_code=200,
        operation_id="testPushSubscription",
        summary="Push a test message to one of the caller's browsers now",
        description="For a frontend checking its service worker: the message has the usual "
        "shape (`category` `test`, no notification behind it) and the answer says what the "
        "browser's push service said (`sent`; `gone`: the subscription expired and is "
        "forgotten; `rejected` with its reason, e.g. a subscription made with another "
        "`applicationServerKey`; `down`). Someone else's browser: 404. Rate-limited as "
        "sends; 503 `push_unavailable` when the hub's VAPID key does not open.",
        opt={**rate_limit("sends"), **problems(404, 503)},
    )
    async def test(
        self,
        subscription_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        push_delivery: NamedDependency[PushDelivery],
    ) -> PushTestOut:
        attempt = await push_delivery.test(principal.user_id, subscription_id)
        return PushTestOut(outcome=attempt.outcome, error=attempt.error)

    @patch(
        "/push-subscriptions/{subscription_id:uuid}",
        operation_id="updatePushSubscription",
        summary="Rename one of the caller's browsers or choose what wakes it",
        description="`categories`: the notification categories this device is woken for "
        '(`["security", "workflow.tasks"]` on a phone that should stay quiet about the '
        "rest); null, the default, is every category the person's preferences push. A "
        "category a device leaves out still reaches the person's other browsers and "
        "channels. Someone else's browser: 404.",
        opt=problems(404),
    )
    async def update(
        self,
        subscription_id: FromPath[uuid.UUID],
        data: JSONBody[PushSubscriptionPatch],
        principal: NamedDependency[Principal],
        push_subscriptions: NamedDependency[PushSubscriptions],
    ) -> PushSubscriptionOut:
        row = await push_subscriptions.update(principal.user_id, subscription_id, data.sent())
        return to_schema(row, PushSubscriptionOut)

    @delete(
        "/push-subscriptions/{subscription_id:uuid}",
        status_code=204,
        operation_id="removePushSubscription",
        summary="Forget a browser: it is woken no more",
        description="Someone else's browser is 404, as an unknown one.",
        opt=problems(404),
    )
    async def remove(
        self,
        subscription_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        push_subscriptions: NamedDependency[PushSubscriptions],
    ) -> None:
        await push_subscriptions.remove(principal.user_id, subscription_id)
