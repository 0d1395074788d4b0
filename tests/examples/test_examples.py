"""The client examples in examples/, each run as a merchant's back end would run it, against a
real `refunds serve` (processor and webhook dispatcher on): the Python `gql` client, the
JavaScript client (fetch and graphql-ws; its packages installed here with `npm ci` when
missing), and the webhook receiver verifying signatures and deduping by webhook-id."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.serve_process import ADMIN_TOKEN, Served, running
from tests.support import Merchant, free_port, transaction_input

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
RUN_LIMIT_SECONDS = 120  # a guard against hanging, never a measured bound
SERVE_ENV = {
    "REFUNDS_PROCESSOR": "on",
    # a UPI refund's simulated settle time (a day) shrunk to a few seconds, so that there is a
    # change for the clients to follow live
    "REFUNDS_GATEWAY_DELAY_SCALE": "0.00003",
    "REFUNDS_WEBHOOK_ALLOW_PRIVATE": "1",
    "REFUNDS_WEBHOOK_RETRY_SCALE": "0.0001",
}
CREATE_MERCHANT = """mutation($i: CreateMerchantInput!) {
  createMerchant(input: $i) { merchant { id } apiKey } }"""
RECHARGE = """mutation($i: RechargeBalanceInput!) {
  rechargeBalance(input: $i) { userErrors { code } } }"""
RECORD = """mutation($i: RecordTransactionInput!) {
  recordTransaction(input: $i) { userErrors { code } } }"""
CREATE_ENDPOINT = """mutation($i: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $i) { endpoint { id } secret userErrors { code } } }"""
DELIVERIES = """{ webhookEndpoints { deliveries(first: 10) { edges { node {
  id eventId eventType status } } } } }"""
REDELIVER = """mutation($id: ID!) { redeliverWebhook(input: {deliveryId: $id}) {
  userErrors { code } } }"""


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[Served]:
    with running(database_url, settings=SERVE_ENV) as served:
        yield served


def graphql(served: Served, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{served.base_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def merchant_with_a_payment(served: Served) -> Merchant:
    """A merchant with a balance and one UPI payment to refund."""
    made = graphql(
        served, ADMIN_TOKEN, CREATE_MERCHANT, {"i": {"name": "Example", "currency": "INR"}}
    )["createMerchant"]
    merchant = Merchant(made["merchant"]["id"], made["apiKey"])
    recharge = {"merchantId": merchant.id, "amount": 100_000, "reference": f"rch_{merchant.id}"}
    graphql(served, ADMIN_TOKEN, RECHARGE, {"i": recharge})
    graphql(served, ADMIN_TOKEN, RECORD, {"i": transaction_input(merchant, amount=5_000)})
    return merchant


def steps(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def run_client(command: list[str], cwd: Path = ROOT) -> list[dict[str, Any]]:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=RUN_LIMIT_SECONDS, check=False
    )
    assert done.returncode == 0, done.stderr
    return steps(done.stdout)


def assert_followed_to_processed(found: list[dict[str, Any]]) -> str:
    """The client refunded a payment, the retry with its key gave the same refund, and it
    followed the refund live to PROCESSED. Returns the refund's id."""
    assert [s["step"] for s in found][:2] == ["transaction", "refund"], found
    refund = found[1]
    assert refund["retried_same"] is True
    updates = [s for s in found if s["step"] == "update"]
    assert {u["id"] for u in updates} == {refund["id"]}, found
    assert updates[-1]["status"] == "PROCESSED"
    refund_id: str = refund["id"]
    return refund_id


def python_client(served: Served, merchant: Merchant) -> list[str]:
    return [
        sys.executable,
        str(EXAMPLES / "python_client.py"),
        *("--url", served.base_url, "--key", merchant.key, "--amount", "1500"),
    ]


def test_the_python_client_refunds_a_payment_and_follows_it_live(served: Served) -> None:
    merchant = merchant_with_a_payment(served)
    assert_followed_to_processed(run_client(python_client(served, merchant)))


def test_the_javascript_client_refunds_a_payment_and_follows_it_live(served: Served) -> None:
    js = EXAMPLES / "js"
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node, "the JavaScript example needs Node 20+ on PATH"
    assert npm, "and npm, to install its packages"
    if not (js / "node_modules").exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=js, check=True, timeout=RUN_LIMIT_SECONDS
        )
    merchant = merchant_with_a_payment(served)
    command = [node, "client.mjs", "--url", served.base_url, "--key", merchant.key]
    assert_followed_to_processed(run_client([*command, "--amount", "1500"], cwd=js))


def read_until(output: Path, done: Any) -> list[dict[str, Any]]:
    """The receiver's lines once `done(lines)` holds (it runs in another process)."""
    deadline = time.monotonic() + RUN_LIMIT_SECONDS
    while not done(lines := steps(output.read_text())):
        assert time.monotonic() < deadline, f"gave up waiting; the receiver printed {lines}"
        time.sleep(0.05)
    return lines


def test_the_webhook_receiver_verifies_and_handles_each_event_once(
    served: Served, tmp_path: Path
) -> None:
    merchant = merchant_with_a_payment(served)
    port = free_port()
    events = ["REFUND_CREATED", "REFUND_PROCESSING", "REFUND_PROCESSED"]
    endpoint = {"url": f"http://127.0.0.1:{port}/webhooks", "enabledEvents": events}
    secret = graphql(served, merchant.key, CREATE_ENDPOINT, {"i": endpoint})[
        "createWebhookEndpoint"
    ]["secret"]
    output = tmp_path / "receiver.out"
    with (
        output.open("w") as out,
        subprocess.Popen(
            [sys.executable, str(EXAMPLES / "webhook_receiver.py"), "--port", str(port)],
            env={"WEBHOOK_SECRET": secret, "PATH": "/usr/bin:/bin"},
            stdout=out,
        ) as receiver,
    ):
        try:
            # when a refund is made and settles
            refund_id = assert_followed_to_processed(run_client(python_client(served, merchant)))
            handled = read_until(output, lambda lines: len(lines) >= 3)
            # then the receiver verified and handled each of its three events, in order
            assert [h["type"] for h in handled] == [
                "refund.created",
                "refund.processing",
                "refund.processed",
            ]
            assert {h["refund"] for h in handled} == {refund_id}
            # and one sent again is recognised by its webhook-id and not handled twice
            edges = graphql(served, merchant.key, DELIVERIES, {})["webhookEndpoints"][0]
            delivery = edges["deliveries"]["edges"][0]["node"]
            graphql(served, merchant.key, REDELIVER, {"id": delivery["id"]})
            lines = read_until(output, lambda lines: len(lines) >= 4)
            assert lines[3] == {"duplicate": delivery["eventId"]}
        finally:
            receiver.terminate()
