"""Webhooks to merchants' back ends (Standard Webhooks): what an endpoint and a delivery are,
which event a status change makes, the retry schedule, and which URLs may be called.

Resolving a host name is I/O and lives outside `domain/`: the rules here take the addresses a
resolver found, so that the same check runs at creation and before every attempt."""

from __future__ import annotations

import base64
import enum
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from uuid import UUID

from domain.errors import InvalidInput
from domain.model import Refund, RefundStatus

SECRET_PREFIX = "whsec_"
# After rotation the old secret keeps signing beside the new one this long.
OLD_SECRET_GRACE = timedelta(hours=24)
# The contract's schedule: the waits before the 2nd, 3rd, … attempt (about 5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h, 10 h). After the last wait's attempt fails the delivery is FAILED.
RETRY_WAITS_SECONDS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_WAITS_SECONDS) + 1
URL_MAX = 2048
DESCRIPTION_MAX = 500


class WebhookEventType(enum.StrEnum):
    REFUND_CREATED = "REFUND_CREATED"
    REFUND_ON_HOLD = "REFUND_ON_HOLD"
    REFUND_PENDING = "REFUND_PENDING"
    REFUND_PROCESSING = "REFUND_PROCESSING"
    REFUND_PROCESSED = "REFUND_PROCESSED"
    REFUND_FAILED = "REFUND_FAILED"
    REFUND_ACTION_REQUIRED = "REFUND_ACTION_REQUIRED"
    REFUND_CANCELLED = "REFUND_CANCELLED"
    REFUND_REVERSED = "REFUND_REVERSED"

    @property
    def wire_name(self) -> str:
        """The body's `type`: the enum in dotted lower case (refund.processed)."""
        return self.value.lower().replace("_", ".", 1)


class WebhookEndpointStatus(enum.StrEnum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


class WebhookDeliveryStatus(enum.StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    RETRYING = "RETRYING"
    FAILED = "FAILED"


# Still owed to the receiver: a later event of the same refund waits for these (order).
UNDELIVERED = (WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.RETRYING)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: UUID
    merchant_id: UUID
    url: str
    description: str | None
    enabled_events: tuple[WebhookEventType, ...]
    status: WebhookEndpointStatus
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    id: UUID
    merchant_id: UUID
    endpoint_id: UUID
    event_id: str  # the `webhook-id` header, the same on every attempt
    event_type: WebhookEventType
    status: WebhookDeliveryStatus
    attempts: int
    last_response_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    # What the body is made of: the refund as this event left it, and its order.
    refund: Refund
    order_id: str
    event_at: datetime


def event_type(previous: RefundStatus | None, status: RefundStatus) -> WebhookEventType:
    """REFUND_CREATED for a refund's first event, whatever its status; else the new status."""
    if previous is None:
        return WebhookEventType.REFUND_CREATED
    return WebhookEventType(f"REFUND_{status.value}")


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(16)}"


def new_secret() -> str:
    """`whsec_` and 24 random bytes in base64, as the Standard Webhooks libraries expect."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def retry_wait_seconds(attempts_made: int, scale: float, jitter: float) -> float | None:
    """How long to wait after `attempts_made` failed attempts; None when none is left.
    `jitter` in [0, 1) spreads retries over ±20 % so that an outage's backlog does not
    come back all at once."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    return RETRY_WAITS_SECONDS[attempts_made - 1] * scale * (0.8 + 0.4 * jitter)


def enabled_events(events: list[WebhookEventType]) -> tuple[WebhookEventType, ...]:
    if not events:
        raise InvalidInput(
            "enabledEvents must name at least one event type.", field=("input", "enabledEvents")
        )
    return tuple(dict.fromkeys(events))


def description(text: str | None) -> str | None:
    if text is None:
        return None
    if len(text) > DESCRIPTION_MAX:
        raise InvalidInput(
            f"description must be at most {DESCRIPTION_MAX} characters.",
            field=("input", "description"),
        )
    return text


@dataclass(frozen=True, slots=True)
class Target:
    """A URL's parts, checked for shape (not yet for where it leads)."""

    url: str
    scheme: str
    host: str
    port: int


def parse_url(url: str, *, allow_private: bool) -> Target:
    """An absolute `https` URL with a host (and `http` when private addresses are allowed)."""
    bad = InvalidInput("url must be an https URL to a public address.", field=("input", "url"))
    if len(url) > URL_MAX or any(c.isspace() or ord(c) < 32 for c in url):
        raise bad
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad from None
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes or not parts.hostname or parts.username or parts.password:
        raise bad
    default = 443 if parts.scheme == "https" else 80
    return Target(url, parts.scheme, parts.hostname, port or default)


def refused_addresses(addresses: list[str], *, allow_private: bool) -> list[str]:
    """The addresses a delivery must not reach: anything not globally routable (loopback,
    private, link-local and so the cloud metadata address, multicast, reserved). Every address
    the name resolves to must be public: one private answer is enough to refuse."""
    if not addresses:
        return ["(no address)"]
    if allow_private:
        return []
    refused = []
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            refused.append(text)
    return refused


# host, port -> the addresses it resolves to (an empty list when it does not resolve)
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def checked_target(
    url: str, *, allow_private: bool, resolve: Resolver
) -> tuple[Target, list[str]]:
    """The URL's parts and the addresses its host resolves to, once every one of them may be
    reached (at creation, and again before every attempt: a name can be pointed elsewhere at
    any time, so the attempt connects to the address checked here)."""
    target = parse_url(url, allow_private=allow_private)
    addresses = await resolve(target.host, target.port)
    if refused_addresses(addresses, allow_private=allow_private):
        raise InvalidInput(
            "url must be an https URL to a public address; "
            f"{target.host} resolves to an address that is not public or to none.",
            field=("input", "url"),
        )
    return target, addresses
