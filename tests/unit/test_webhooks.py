"""The webhook rules alone: event types, the retry schedule, which URLs and addresses a
delivery may reach, and how a batch of attempts moves endpoints' failing clocks."""

from uuid import uuid4

import pytest

from db.webhook_claims import Clock, failing_clocks
from domain.errors import InvalidInput
from domain.model import RefundStatus
from domain.webhooks import (
    MAX_ATTEMPTS,
    RETRY_WAITS_SECONDS,
    WebhookEventType,
    description,
    event_type,
    new_secret,
    parse_url,
    refused_addresses,
    retry_wait_seconds,
)


def test_a_refunds_first_event_is_created_whatever_its_status_and_later_ones_name_theirs() -> None:
    assert event_type(None, RefundStatus.ON_HOLD) is WebhookEventType.REFUND_CREATED
    assert event_type(RefundStatus.ON_HOLD, RefundStatus.PENDING) is WebhookEventType.REFUND_PENDING
    assert WebhookEventType.REFUND_ACTION_REQUIRED.wire_name == "refund.action_required"


def test_the_schedule_is_the_contracts_scaled_with_jitter_then_nothing() -> None:
    assert RETRY_WAITS_SECONDS == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert retry_wait_seconds(1, 1.0, 0.5) == 5
    assert retry_wait_seconds(2, 0.01, 0.0) == pytest.approx(300 * 0.01 * 0.8)
    assert retry_wait_seconds(7, 1.0, 0.999) == pytest.approx(36000 * 1.2, rel=1e-3)
    assert retry_wait_seconds(MAX_ATTEMPTS, 1.0, 0.5) is None


def test_a_secret_is_whsec_and_random() -> None:
    assert new_secret().startswith("whsec_")
    assert new_secret() != new_secret()


def test_a_description_longer_than_500_characters_is_refused() -> None:
    assert description(None) is None
    assert description("ERP") == "ERP"
    with pytest.raises(InvalidInput):
        description("x" * 501)


def test_only_absolute_https_urls_with_a_host_pass_unless_private_is_allowed() -> None:
    assert parse_url("https://example.com/h", allow_private=False).port == 443
    assert parse_url("http://127.0.0.1:9000/h", allow_private=True).port == 9000
    for url in ("http://example.com/", "https:///x", "//example.com", "https://a b/", "x" * 3000):
        with pytest.raises(InvalidInput):
            parse_url(url, allow_private=False)


def test_every_address_must_be_public_and_one_private_answer_refuses() -> None:
    assert refused_addresses(["93.184.215.14", "2606:2800:21f:cb07::1"], allow_private=False) == []
    for private in (
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "::1",
        "fe80::1%eth0",
        "::ffff:10.0.0.1",
        "224.0.0.1",
        "100.64.0.1",
        "0.0.0.0",
    ):
        assert refused_addresses(["93.184.215.14", private], allow_private=False) == [private]
    assert refused_addresses([], allow_private=True) == ["(no address)"]
    assert refused_addresses(["127.0.0.1"], allow_private=True) == []


def test_a_batch_of_attempts_moves_each_endpoints_failing_clock_by_its_last_attempt() -> None:
    a, b, c, d, e, f = (uuid4() for _ in range(6))
    clocks = failing_clocks(
        [
            (a, False, False),  # a fails: its clock starts (or keeps running)
            (b, True, True),  # b was failing and succeeds: its clock stops
            (c, True, False),  # c was not failing and succeeds: left alone (no row lock)
            (d, True, False),
            (d, False, False),  # d succeeds (left alone), then fails: its clock starts
            (e, False, False),
            (e, True, False),  # e fails, then succeeds: its clock stops
            (f, True, True),
            (f, False, True),  # f was failing, succeeds, then fails: its clock starts anew
        ]
    )
    assert clocks == {
        a: Clock(failing=True, restart=False),
        b: Clock(failing=False, restart=False),
        d: Clock(failing=True, restart=False),
        e: Clock(failing=False, restart=False),
        f: Clock(failing=True, restart=True),
    }
