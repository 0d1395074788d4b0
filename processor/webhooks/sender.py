"""One webhook attempt: check where the URL leads now, sign, POST, and say what came back.

The host is resolved and checked before every attempt (domain.webhooks.checked_target), and the
request is sent to the address that was checked, with the host name kept for the Host header
and TLS (SNI and certificate): a name re-pointed at a private address between the check and
the connection cannot reach it. Redirects are not followed (a 3xx is a failed attempt), and no more
of the response body is read than BODY_READ_MAX."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import httpx
import orjson
from standardwebhooks import Webhook

from api.webhooks.payload import webhook_body
from db.webhook_claims import Outgoing
from domain.errors import InvalidInput
from domain.webhooks import Resolver, checked_target
from processor.config import WebhookSettings
from processor.webhooks.resolve import resolve

USER_AGENT = "refunds-webhooks/1"
ERROR_MAX = 300  # characters of an error kept for lastError
# A response body is read this far, and no further, so that the connection can be reused
# when it is short (the usual empty 2xx) and a huge one costs nothing.
BODY_READ_MAX = 64 * 1024


@dataclass(frozen=True, slots=True)
class Attempt:
    status_code: int | None  # None: no HTTP answer (refused, unreachable, timed out)
    error: str | None
    refused: bool = False  # the URL leads where a delivery may not go

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def result(self) -> str:
        """The metric label: 2xx … 5xx, error or refused."""
        if self.refused:
            return "refused"
        if self.status_code is None:
            return "error"
        return f"{min(max(self.status_code // 100, 1), 5)}xx"


def signed_headers(
    event_id: str, secrets: tuple[str, ...], body: str, at: datetime
) -> dict[str, str]:
    """The Standard Webhooks headers: one `v1,<sig>` per valid secret, space-separated."""
    signatures = " ".join(Webhook(secret).sign(event_id, at, body) for secret in secrets)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


class WebhookSender:
    def __init__(self, settings: WebhookSettings, resolver: Resolver = resolve) -> None:
        self.settings = settings
        self.resolve = resolver
        self.client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: it would do the resolving
            timeout=settings.timeout_seconds,
            # Every connection may stay open for the next delivery to its endpoint (httpx keeps
            # 20 by default: beyond that each delivery paid a new TCP connection).
            limits=httpx.Limits(
                max_connections=settings.concurrency,
                max_keepalive_connections=settings.concurrency,
            ),
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, out: Outgoing, at: datetime) -> Attempt:
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                target, addresses = await checked_target(
                    out.url, allow_private=self.settings.allow_private, resolve=self.resolve
                )
                body = orjson.dumps(webhook_body(out.delivery)).decode()
                headers = signed_headers(out.delivery.event_id, out.secrets, body, at)
                request = self._pinned_request(out.url, target.host, addresses[0], body, headers)
                response = await self.client.send(request, stream=True)
                await _drain(response)
        except InvalidInput as refused:
            return Attempt(None, refused.message, refused=True)
        except TimeoutError:
            return Attempt(None, f"no answer within {self.settings.timeout_seconds:g} s")
        except (httpx.HTTPError, OSError) as error:
            return Attempt(None, f"{type(error).__name__}: {error}"[:ERROR_MAX])
        if 200 <= response.status_code < 300:
            return Attempt(response.status_code, None)
        return Attempt(response.status_code, f"HTTP {response.status_code}")

    def _pinned_request(
        self, url: str, host: str, address: str, body: str, headers: dict[str, str]
    ) -> httpx.Request:
        original = httpx.URL(url)
        return self.client.build_request(
            "POST",
            original.copy_with(host=address),
            content=body.encode(),
            headers={
                **headers,
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                "host": original.netloc.decode("ascii"),
            },
            extensions={"sni_hostname": host} if original.scheme == "https" else {},
        )


async def _drain(response: httpx.Response) -> None:
    read = 0
    try:
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > BODY_READ_MAX:
                break
    finally:
        await response.aclose()
