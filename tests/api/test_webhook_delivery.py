"""Webhooks delivered by the app's own dispatcher to real HTTP receivers on 127.0.0.1: signed
as the reference library verifies, every status change in order, retried until a 2xx with the
same webhook-id, caught up after an outage, never to another merchant, redelivered on request,
signed with both secrets after rotation, FAILED after the schedule.

The session's app allows private addresses and shrinks the retry schedule (tests/conftest.py);
the refusal without that setting is at the end, on a sender of its own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from api import ids
from db.tables import webhook_endpoints
from db.webhook_claims import Outgoing
from domain.model import DestinationKind, Refund, RefundReason, RefundSpeed, RefundStatus
from domain.webhooks import (
    MAX_ATTEMPTS,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEventType,
)
from processor.config import WebhookSettings
from processor.webhooks.sender import WebhookSender
from tests.api.account_state import created, merchant_with_balance
from tests.api.test_webhook_endpoints import ROTATE, create_endpoint
from tests.api.webhook_receiver import Receiver, receiving
from tests.processing.live import wait_until
from tests.support import Api, Merchant, free_port

ALL_EVENTS = [e.value for e in WebhookEventType]
DELIVERIES = """query($first: Int) { webhookEndpoints { id deliveries(first: $first) {
  totalCount edges { node { id eventId eventType status attempts lastResponseStatus lastError
  nextAttemptAt deliveredAt payload } } } } }"""
REDELIVER = """mutation($id: ID!) { redeliverWebhook(input: {deliveryId: $id}) {
  delivery { id eventId status attempts } userErrors { code field } } }"""


async def hooked_merchant(
    api: Api, receiver: Receiver, events: list[str] | None = None
) -> tuple[Merchant, str]:
    """A merchant with a balance and one endpoint at the receiver; returns it and the secret."""
    merchant = await merchant_with_balance(api, 1_000_000)
    payload = await create_endpoint(api, merchant, receiver.url, events or ALL_EVENTS)
    assert payload["userErrors"] == []
    return merchant, payload["secret"]


async def refund_of(api: Api, merchant: Merchant, source: str = "customer@okaxis") -> str:
    paid = await api.record_transaction(merchant, amount=5_000, source=source)
    refund_id: str = created(await api.initiate_refund(merchant, transactionId=paid["id"]))["id"]
    return refund_id


async def deliveries(api: Api, merchant: Merchant) -> list[dict[str, Any]]:
    data = await api.gql(DELIVERIES, {"first": 100}, token=merchant.key)
    return [e["node"] for e in data["webhookEndpoints"][0]["deliveries"]["edges"]]


async def recorded(api: Api, merchant: Merchant, count: int, status: str = "SUCCEEDED") -> None:
    """Wait until the merchant's endpoint has `count` deliveries, all in `status` (a receiver
    has the request before the dispatcher records its answer)."""

    async def done() -> bool:
        listed = await deliveries(api, merchant)
        return len(listed) == count and all(d["status"] == status for d in listed)

    await wait_until(done, f"{count} deliveries {status}")


def types_of(received: list[Any]) -> list[str]:
    return [r.json["type"] for r in received]


async def test_each_status_change_arrives_in_order_signed_as_the_reference_library_verifies(
    api: Api,
) -> None:
    async with receiving() as receiver:
        merchant, secret = await hooked_merchant(api, receiver)
        refund_id = await refund_of(api, merchant)
        await receiver.wait_for(lambda _: len(receiver.of_refund(refund_id)) >= 3)
        got = receiver.of_refund(refund_id)
        assert types_of(got) == ["refund.created", "refund.processing", "refund.processed"]
        # each verifies with the secret, and each is the refund as that change left it
        for hook, status in zip(got, ["PENDING", "PROCESSING", "PROCESSED"], strict=True):
            body = Webhook(secret).verify(hook.body, hook.headers)
            assert body["data"]["refund"]["status"] == status
            assert body["data"]["refund"]["orderId"].startswith("order_")
            assert body["data"]["refund"]["transactionId"].startswith("txn_")
        assert got[2].json["data"]["refund"]["bankReference"]
        assert len({h.webhook_id for h in got}) == 3
        # a tampered body, or another secret, does not verify
        tampered = got[2].body.replace(b"PROCESSED", b"FAILED")
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(tampered, got[2].headers)
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 32).verify(got[2].body, got[2].headers)
        # and the API lists them delivered, with the body sent
        await recorded(api, merchant, 3)
        listed = await deliveries(api, merchant)
        assert {(d["status"], d["attempts"], d["lastResponseStatus"]) for d in listed} == {
            ("SUCCEEDED", 1, 204)
        }
        assert {d["eventId"] for d in listed} == {h.webhook_id for h in got}


async def test_only_the_event_types_an_endpoint_chose_are_sent(api: Api) -> None:
    async with receiving() as receiver:
        merchant, _ = await hooked_merchant(api, receiver, ["REFUND_PROCESSED"])
        first, second = await refund_of(api, merchant), await refund_of(api, merchant)
        await receiver.wait_for(lambda got: len(got) >= 2)
        assert types_of(receiver.received) == ["refund.processed"] * 2
        assert {r.refund_id for r in receiver.received} == {first, second}


async def test_a_receiver_failing_twice_gets_the_same_event_a_third_time_and_nothing_after(
    api: Api,
) -> None:
    async with receiving(script=[500, 500]) as receiver:
        merchant, _ = await hooked_merchant(api, receiver, ["REFUND_CREATED"])
        refund_id = await refund_of(api, merchant)
        await receiver.wait_for(lambda got: len(got) >= 3)
        assert [r.status for r in receiver.received] == [500, 500, 204]
        assert len({r.webhook_id for r in receiver.received}) == 1
        await recorded(api, merchant, 1)
        (delivery,) = await deliveries(api, merchant)
        assert (delivery["attempts"], delivery["lastResponseStatus"]) == (3, 204)
        assert delivery["nextAttemptAt"] is None
        # nothing more of that event: a later refund's event arrives, and it alone
        later = await refund_of(api, merchant)
        await receiver.wait_for(lambda got: any(r.refund_id == later for r in got))
        assert len(receiver.of_refund(refund_id)) == 3
        assert len(receiver.received) == 4


async def test_a_receiver_down_for_a_while_gets_every_event_once_it_is_back(api: Api) -> None:
    # given an endpoint whose receiver is not listening yet
    receiver = Receiver(free_port())
    merchant, secret = await hooked_merchant(api, receiver)
    refund_ids = [await refund_of(api, merchant) for _ in range(3)]

    async def failed_attempts() -> bool:
        listed = await deliveries(api, merchant)
        tried = [d for d in listed if d["eventType"] == "REFUND_CREATED"]
        return len(listed) == 9 and all(d["attempts"] >= 1 for d in tried)

    await wait_until(failed_attempts, "each refund's first delivery tried and failed")
    listed = await deliveries(api, merchant)
    for d in listed:
        if d["eventType"] == "REFUND_CREATED":
            assert d["status"] == "RETRYING"
            assert d["lastError"]
            assert d["lastResponseStatus"] is None
        else:  # a refund's later events wait for its first: they arrive in order
            assert (d["status"], d["attempts"]) == ("PENDING", 0)
    # when it comes back, then every event arrives, each refund's in order
    async with receiving(receiver=receiver):
        await receiver.wait_for(lambda got: len({r.webhook_id for r in got}) >= 9)
    for refund_id in refund_ids:
        got = receiver.of_refund(refund_id)
        assert types_of(got) == ["refund.created", "refund.processing", "refund.processed"]
        for hook in got:
            Webhook(secret).verify(hook.body, hook.headers)


async def test_another_merchants_events_never_reach_an_endpoint(api: Api) -> None:
    async with receiving() as mine, receiving() as theirs:
        merchant, _ = await hooked_merchant(api, mine)
        other, _ = await hooked_merchant(api, theirs)
        their_refund = await refund_of(api, other)
        await theirs.wait_for(lambda got: len(got) >= 3)
        my_refund = await refund_of(api, merchant)
        await mine.wait_for(lambda got: len(got) >= 3)
        assert {r.refund_id for r in mine.received} == {my_refund}
        assert {r.refund_id for r in theirs.received} == {their_refund}
        # nor can the other merchant see or redeliver my deliveries
        (delivery, *_) = await deliveries(api, merchant)
        refused = (await api.gql(REDELIVER, {"id": delivery["id"]}, token=other.key))[
            "redeliverWebhook"
        ]
        assert refused["userErrors"] == [
            {"code": "WEBHOOK_DELIVERY_NOT_FOUND", "field": ["input", "deliveryId"]}
        ]
        node = f'{{ node(id: "{delivery["id"]}") {{ id }} }}'
        assert (await api.gql(node, token=other.key))["node"] is None


async def test_a_redelivery_sends_the_same_event_again_with_its_webhook_id(api: Api) -> None:
    async with receiving() as receiver:
        merchant, _ = await hooked_merchant(api, receiver, ["REFUND_CREATED"])
        await refund_of(api, merchant)
        (first,) = await receiver.wait_for(lambda got: len(got) >= 1)
        await recorded(api, merchant, 1)
        (delivery,) = await deliveries(api, merchant)
        payload = (await api.gql(REDELIVER, {"id": delivery["id"]}, token=merchant.key))[
            "redeliverWebhook"
        ]
        assert payload["userErrors"] == []
        assert payload["delivery"]["eventId"] == first.webhook_id
        (_, again) = await receiver.wait_for(lambda got: len(got) >= 2)
        assert again.webhook_id == first.webhook_id
        assert again.json == first.json


async def test_after_rotation_both_secrets_sign_each_delivery(api: Api) -> None:
    async with receiving() as receiver:
        merchant, old = await hooked_merchant(api, receiver, ["REFUND_CREATED"])
        endpoint_id = (await deliveries_endpoint(api, merchant))["id"]
        rotated = (await api.gql(ROTATE, {"id": endpoint_id}, token=merchant.key))[
            "rotateWebhookSecret"
        ]
        new = rotated["secret"]
        await refund_of(api, merchant)
        (hook,) = await receiver.wait_for(lambda got: len(got) >= 1)
        assert len(hook.headers["webhook-signature"].split(" ")) == 2
        for secret in (old, new):
            Webhook(secret).verify(hook.body, hook.headers)


async def deliveries_endpoint(api: Api, merchant: Merchant) -> dict[str, Any]:
    endpoint: dict[str, Any] = (
        await api.gql("{ webhookEndpoints { id status } }", token=merchant.key)
    )["webhookEndpoints"][0]
    return endpoint


@pytest.mark.slow
async def test_a_delivery_never_answered_with_a_2xx_is_failed_after_the_schedule(
    api: Api,
) -> None:
    async with receiving(script=[500] * MAX_ATTEMPTS) as receiver:
        merchant, _ = await hooked_merchant(api, receiver, ["REFUND_CREATED"])
        await refund_of(api, merchant)
        await recorded(api, merchant, 1, "FAILED")
        (delivery,) = await deliveries(api, merchant)
        assert (delivery["attempts"], delivery["lastResponseStatus"]) == (MAX_ATTEMPTS, 500)
        assert len(receiver.received) == MAX_ATTEMPTS
        assert len({r.webhook_id for r in receiver.received}) == 1


def _outgoing(url: str) -> Outgoing:
    now = datetime.now(UTC)
    refund = Refund(
        id=uuid4(),
        merchant_id=uuid4(),
        transaction_id=uuid4(),
        amount=100,
        currency="INR",
        status=RefundStatus.PENDING,
        reason=RefundReason.OTHER,
        notes=None,
        metadata=None,
        speed_requested=RefundSpeed.NORMAL,
        speed_processed=None,
        destination_kind=DestinationKind.ORIGINAL_SOURCE,
        destination_display="c***@okaxis",
        failure_code=None,
        failure_message=None,
        bank_reference=None,
        estimated_settlement_at=None,
        created_at=now,
        updated_at=now,
        processed_at=None,
    )
    delivery = WebhookDelivery(
        id=refund.id,
        merchant_id=refund.merchant_id,
        endpoint_id=refund.id,
        event_id="evt_test",
        event_type=WebhookEventType.REFUND_CREATED,
        status=WebhookDeliveryStatus.PENDING,
        attempts=0,
        last_response_status=None,
        last_error=None,
        next_attempt_at=now,
        created_at=now,
        delivered_at=None,
        refund=refund,
        order_id="order_1",
        event_at=now,
    )
    return Outgoing(delivery, url, ("whsec_" + "A" * 32,), endpoint_failing=False)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_without_allow_private_an_attempt_to_a_private_address_is_refused_unsent(
    host: str,
) -> None:
    async with receiving() as receiver:
        for scheme in ("https", "http"):
            url = f"{scheme}://{host}:{receiver.port}/hooks"
            strict = WebhookSender(WebhookSettings())
            attempt = await strict.send(_outgoing(url), datetime.now(UTC))
            await strict.close()
            assert attempt.refused
            assert attempt.status_code is None
        # the same attempt, allowed, reaches it: the refusal was the check, not the network
        allowed = WebhookSender(WebhookSettings(allow_private=True))
        attempt = await allowed.send(
            _outgoing(f"http://{host}:{receiver.port}/hooks"), datetime.now(UTC)
        )
        await allowed.close()
        assert attempt.delivered
        assert len(receiver.received) == 1
        # sent to the address checked, under the URL's own host name
        assert receiver.received[0].headers["host"] == f"{host}:{receiver.port}"


async def test_a_redirect_is_a_failed_attempt_and_is_not_followed() -> None:
    async with receiving(script=[307]) as receiver:
        sender = WebhookSender(WebhookSettings(allow_private=True))
        attempt = await sender.send(_outgoing(receiver.url), datetime.now(UTC))
        await sender.close()
    assert (attempt.status_code, attempt.delivered, attempt.error) == (307, False, "HTTP 307")
    assert [r.status for r in receiver.received] == [307]  # the Location was not followed


async def test_an_endpoint_failing_for_the_disable_period_is_disabled_and_sent_nothing_more(
    api: Api, engine: AsyncEngine
) -> None:
    async with receiving(script=[500] * 3) as receiver:
        merchant, _ = await hooked_merchant(api, receiver, ["REFUND_CREATED"])
        # given an endpoint whose every attempt has failed, since over five days ago
        await refund_of(api, merchant)
        await receiver.wait_for(lambda got: len(got) >= 1)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE webhook_endpoints SET failing_since = now() - interval '5 days 1 hour'"
                    " WHERE merchant_id = :m"
                ),
                {"m": UUID(hex=merchant.id.partition("_")[2])},
            )
        # when its next attempt fails too
        await wait_until(
            lambda: endpoint_status(api, merchant, "DISABLED"), "the endpoint DISABLED"
        )
        tried = len(receiver.received)
        # then it is DISABLED: a later refund's events are not queued for it, nor sent
        later = await refund_of(api, merchant)
        await wait_until(lambda: refund_status(api, merchant, later, "PROCESSED"), "processed")
        assert len(await deliveries(api, merchant)) == 1
        assert len(receiver.received) == tried


async def endpoint_status(api: Api, merchant: Merchant, status: str) -> bool:
    endpoint = await deliveries_endpoint(api, merchant)
    return bool(endpoint["status"] == status)


async def refund_status(api: Api, merchant: Merchant, refund_id: str, status: str) -> bool:
    found = await api.gql(f'{{ refund(id: "{refund_id}") {{ status }} }}', token=merchant.key)
    return bool(found["refund"]["status"] == status)


async def test_a_secret_stored_before_secrets_were_sealed_still_signs(
    api: Api, engine: AsyncEngine
) -> None:
    async with receiving() as receiver:
        merchant, secret = await hooked_merchant(api, receiver, ["REFUND_CREATED"])
        # given the endpoint's row as a service before db/secret_box.py wrote it: plain text
        merchant_id = ids.decode_uuid(ids.MERCHANT, merchant.id)
        w = webhook_endpoints.c
        async with engine.begin() as conn:
            await conn.execute(
                update(webhook_endpoints).where(w.merchant_id == merchant_id).values(secret=secret)
            )
        # when a refund is made, then its event arrives signed with that secret
        refund_id = await refund_of(api, merchant)
        await receiver.wait_for(lambda _: len(receiver.of_refund(refund_id)) >= 1)
        hook = receiver.of_refund(refund_id)[0]
        assert Webhook(secret).verify(hook.body, hook.headers)["type"] == "refund.created"
