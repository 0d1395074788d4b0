"""A merchant manages its webhook endpoints over real HTTP: create (secret shown once, stored
sealed), list, update, enable/disable, rotate, delete; private and odd URLs refused; another
merchant's endpoints are invisible."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from api import ids
from api.app import create_app
from api.config import Settings
from db.repositories.webhooks import reseal_secrets
from db.secret_box import SecretBox, new_key_entry
from db.tables import webhook_endpoints
from processor.config import ProcessorSettings, WebhookSettings
from tests.serving import serving
from tests.support import Api, Merchant

ENDPOINT = "id url description enabledEvents status createdAt"
CREATE = f"""mutation($input: CreateWebhookEndpointInput!) {{
  createWebhookEndpoint(input: $input) {{
    endpoint {{ {ENDPOINT} }} secret userErrors {{ code field message }} }} }}"""
UPDATE = f"""mutation($input: UpdateWebhookEndpointInput!) {{
  updateWebhookEndpoint(input: $input) {{
    endpoint {{ {ENDPOINT} }} userErrors {{ code field }} }} }}"""
ROTATE = f"""mutation($id: ID!) {{ rotateWebhookSecret(input: {{id: $id}}) {{
  endpoint {{ {ENDPOINT} }} secret userErrors {{ code field }} }} }}"""
DELETE = f"""mutation($id: ID!) {{ deleteWebhookEndpoint(input: {{id: $id}}) {{
  endpoint {{ {ENDPOINT} }} userErrors {{ code field }} }} }}"""
LIST = f"{{ webhookEndpoints {{ {ENDPOINT} }} }}"
# A public address written as an IP: no DNS needed to check it.
PUBLIC_URL = "https://93.184.215.14/hooks/refunds"


async def create_endpoint(
    api: Api, merchant: Merchant, url: str, events: list[str] | None = None, **more: Any
) -> dict[str, Any]:
    variables = {
        "input": {
            "url": url,
            "enabledEvents": ["REFUND_PROCESSED"] if events is None else events,
            **more,
        }
    }
    payload: dict[str, Any] = (await api.gql(CREATE, variables, token=merchant.key))[
        "createWebhookEndpoint"
    ]
    return payload


async def test_an_endpoint_is_created_with_a_secret_shown_once_and_listed_without_it(
    api: Api,
) -> None:
    merchant = await api.create_merchant()
    created = await create_endpoint(
        api, merchant, PUBLIC_URL, ["REFUND_CREATED", "REFUND_PROCESSED"], description="ERP"
    )
    assert created["userErrors"] == []
    endpoint, secret = created["endpoint"], created["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 30
    assert endpoint["url"] == PUBLIC_URL
    assert endpoint["enabledEvents"] == ["REFUND_CREATED", "REFUND_PROCESSED"]
    assert (endpoint["status"], endpoint["description"]) == ("ENABLED", "ERP")
    listed = (await api.gql(LIST, token=merchant.key))["webhookEndpoints"]
    assert listed == [endpoint]
    assert secret not in str(listed)
    node = f'{{ node(id: "{endpoint["id"]}") {{ ... on WebhookEndpoint {{ id url }} }} }}'
    assert (await api.gql(node, token=merchant.key))["node"] == {
        "id": endpoint["id"],
        "url": PUBLIC_URL,
    }


async def test_an_endpoint_is_updated_disabled_enabled_rotated_and_deleted(api: Api) -> None:
    merchant = await api.create_merchant()
    endpoint = (await create_endpoint(api, merchant, PUBLIC_URL))["endpoint"]
    # when its URL and events change, then it is disabled
    changed = (
        await api.gql(
            UPDATE,
            {
                "input": {
                    "id": endpoint["id"],
                    "url": "https://93.184.215.14/v2",
                    "enabledEvents": ["REFUND_FAILED", "REFUND_REVERSED"],
                }
            },
            token=merchant.key,
        )
    )["updateWebhookEndpoint"]
    assert changed["userErrors"] == []
    assert changed["endpoint"]["url"] == "https://93.184.215.14/v2"
    assert changed["endpoint"]["enabledEvents"] == ["REFUND_FAILED", "REFUND_REVERSED"]
    for status in ("DISABLED", "ENABLED"):
        toggled = (
            await api.gql(
                UPDATE, {"input": {"id": endpoint["id"], "status": status}}, token=merchant.key
            )
        )["updateWebhookEndpoint"]
        assert toggled["endpoint"]["status"] == status
    # a rotation gives a new secret
    first = (await api.gql(ROTATE, {"id": endpoint["id"]}, token=merchant.key))[
        "rotateWebhookSecret"
    ]
    second = (await api.gql(ROTATE, {"id": endpoint["id"]}, token=merchant.key))[
        "rotateWebhookSecret"
    ]
    assert first["secret"].startswith("whsec_")
    assert first["secret"] != second["secret"]
    # deleted, it is gone
    deleted = (await api.gql(DELETE, {"id": endpoint["id"]}, token=merchant.key))[
        "deleteWebhookEndpoint"
    ]
    assert deleted["endpoint"]["id"] == endpoint["id"]
    assert (await api.gql(LIST, token=merchant.key))["webhookEndpoints"] == []
    again = (await api.gql(DELETE, {"id": endpoint["id"]}, token=merchant.key))[
        "deleteWebhookEndpoint"
    ]
    assert again["userErrors"] == [{"code": "WEBHOOK_ENDPOINT_NOT_FOUND", "field": ["input", "id"]}]


async def test_another_merchants_endpoint_behaves_as_if_it_did_not_exist(api: Api) -> None:
    owner, other = await api.create_merchant(), await api.create_merchant()
    endpoint = (await create_endpoint(api, owner, PUBLIC_URL))["endpoint"]
    not_found = [{"code": "WEBHOOK_ENDPOINT_NOT_FOUND", "field": ["input", "id"]}]
    for query, variables, name in (
        (ROTATE, {"id": endpoint["id"]}, "rotateWebhookSecret"),
        (DELETE, {"id": endpoint["id"]}, "deleteWebhookEndpoint"),
        (UPDATE, {"input": {"id": endpoint["id"], "status": "DISABLED"}}, "updateWebhookEndpoint"),
        (DELETE, {"id": "whe_nonsense"}, "deleteWebhookEndpoint"),
    ):
        payload = (await api.gql(query, variables, token=other.key))[name]
        assert payload["userErrors"] == not_found
    assert (await api.gql(LIST, token=other.key))["webhookEndpoints"] == []
    assert (await api.gql(LIST, token=owner.key))["webhookEndpoints"] == [endpoint]


async def test_odd_urls_and_empty_event_lists_are_refused_and_nothing_is_created(api: Api) -> None:
    merchant = await api.create_merchant()
    for url in (
        "not a url",
        "ftp://93.184.215.14/x",
        "https://",
        "https://user:pw@93.184.215.14/",
        "https://93.184.215.14:99999/",
        "https://exa mple.com/",
        "https://no-such-host.invalid/",
    ):
        payload = await create_endpoint(api, merchant, url)
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
            ("INVALID_INPUT", ["input", "url"])
        ], url
    payload = await create_endpoint(api, merchant, PUBLIC_URL, [])
    assert payload["userErrors"][0]["field"] == ["input", "enabledEvents"]
    assert (await api.gql(LIST, token=merchant.key))["webhookEndpoints"] == []


@pytest.fixture(scope="module")
async def strict_api(settings: Settings) -> AsyncIterator[Api]:
    """The app as deployed: private addresses refused (REFUNDS_WEBHOOK_ALLOW_PRIVATE unset)."""
    strict = dataclasses.replace(
        settings, webhooks=WebhookSettings(), processor=ProcessorSettings(enabled=False)
    )
    async with (
        serving(create_app(strict)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Api(http, settings.admin_token or "")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://172.16.5.4/hooks",
        "https://169.254.169.254/latest/meta-data",  # the cloud metadata address
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://0.0.0.0/hooks",
        "http://93.184.215.14/hooks",  # http, even to a public address
    ],
)
async def test_private_addresses_and_http_are_refused_unless_allowed(
    strict_api: Api, url: str
) -> None:
    merchant = await strict_api.create_merchant()
    payload = await create_endpoint(strict_api, merchant, url)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["input", "url"])
    ]
    assert payload["endpoint"] is None
    assert payload["secret"] is None
    # and a public https URL is accepted by the same server
    assert (await create_endpoint(strict_api, merchant, PUBLIC_URL))["userErrors"] == []


async def test_the_secret_is_stored_sealed_and_a_rotation_keeps_both_sealed(
    api: Api, engine: AsyncEngine
) -> None:
    merchant = await api.create_merchant()
    created = await create_endpoint(api, merchant, PUBLIC_URL)
    public_id = created["endpoint"]["id"]
    rotated = (await api.gql(ROTATE, {"id": public_id}, token=merchant.key))["rotateWebhookSecret"]
    merchant_id = ids.decode_uuid(ids.MERCHANT, merchant.id)
    endpoint_id = ids.decode_uuid(ids.WEBHOOK_ENDPOINT, public_id)
    assert merchant_id is not None
    assert endpoint_id is not None
    w = webhook_endpoints.c
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(w.secret, w.old_secret).where(
                    w.merchant_id == merchant_id, w.id == endpoint_id
                )
            )
        ).one()
    # what the database holds is neither secret, and opens to each with the service's keys
    for stored in (row.secret, row.old_secret):
        assert stored.startswith("v1:")
        for shown in (created["secret"], rotated["secret"]):
            assert shown.removeprefix("whsec_") not in stored
    keys = WebhookSettings().box()  # the keys the app runs with (tests/conftest.py)
    assert keys.open(row.secret, merchant_id, endpoint_id) == rotated["secret"]
    assert keys.open(row.old_secret, merchant_id, endpoint_id) == created["secret"]


async def test_resealing_moves_every_secret_under_a_new_first_key(
    api: Api, engine: AsyncEngine
) -> None:
    merchant = await api.create_merchant()
    first = await create_endpoint(api, merchant, PUBLIC_URL)
    rotated = (await api.gql(ROTATE, {"id": first["endpoint"]["id"]}, token=merchant.key))[
        "rotateWebhookSecret"
    ]
    second = await create_endpoint(api, merchant, PUBLIC_URL)
    merchant_id = ids.decode_uuid(ids.MERCHANT, merchant.id)
    assert merchant_id is not None
    w = webhook_endpoints.c
    second_id = ids.decode_uuid(ids.WEBHOOK_ENDPOINT, second["endpoint"]["id"])
    # given the second endpoint's secret as it was stored before encryption: in plain text
    async with engine.begin() as conn:
        await conn.execute(
            update(webhook_endpoints)
            .where(w.merchant_id == merchant_id, w.id == second_id)
            .values(secret=second["secret"])
        )
    # when a new key goes first and the merchant's secrets are sealed again
    new_key = new_key_entry()
    keys = SecretBox.parse(f"{new_key},{os.environ['REFUNDS_WEBHOOK_SECRET_KEYS']}")
    assert await reseal_secrets(engine, keys, [merchant_id]) == 2
    # then each opens under the new key alone, and a second pass has nothing to do
    new_only = SecretBox.parse(new_key)
    async with engine.connect() as conn:
        found = await conn.execute(
            select(w.id, w.secret, w.old_secret).where(w.merchant_id == merchant_id)
        )
        opened = {
            (
                new_only.open(row.secret, merchant_id, row.id),
                row.old_secret and new_only.open(row.old_secret, merchant_id, row.id),
            )
            for row in found
        }
    assert opened == {(rotated["secret"], first["secret"]), (second["secret"], None)}
    assert await reseal_secrets(engine, keys, [merchant_id]) == 0
