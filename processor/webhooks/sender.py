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

import aiohttp
import orjson
from standardwebhooks import Webhook
from yarl import URL

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
    """Sends with aiohttp: keep-alive connections per address, reused by later deliveries to
    the same endpoint; no cookies kept (endpoints of different merchants may share a host)."""

    def __init__(self, settings: WebhookSettings, resolver: Resolver = resolve) -> None:
        self.settings = settings
        self.resolve = resolver
        self._session: aiohttp.ClientSession | None = None  # made in the event loop, when used

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.settings.concurrency, limit_per_host=0),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,  # no proxy from the environment: it would do the resolving
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds),
                auto_decompress=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, out: Outgoing, at: datetime) -> Attempt:
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                target, addresses = await checked_target(
                    out.url, allow_private=self.settings.allow_private, resolve=self.resolve
                )
                body = orjson.dumps(webhook_body(out.delivery))
                headers = signed_headers(out.delivery.event_id, out.secrets, body.decode(), at)
                status = await self._post(out.url, target.host, addresses[0], body, headers)
        except InvalidInput as refused:
            return Attempt(None, refused.message, refused=True)
        except TimeoutError:
            return Attempt(None, f"no answer within {self.settings.timeout_seconds:g} s")
        except (aiohttp.ClientError, OSError) as error:
            return Attempt(None, f"{type(error).__name__}: {error}"[:ERROR_MAX])
        if 200 <= status < 300:
            return Attempt(status, None)
        return Attempt(status, f"HTTP {status}")

    async def _post(
        self, url: str, host: str, address: str, body: bytes, headers: dict[str, str]
    ) -> int:
        """POST to the checked address, with the URL's host for the Host header and TLS (SNI
        and the certificate's name); returns the status after reading at most BODY_READ_MAX."""
        original = URL(url)
        https = original.scheme == "https"
        async with self._client().post(
            original.with_host(address),
            data=body,
            headers={
                **headers,
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                "host": original.host_port_subcomponent or "",
            },
            allow_redirects=False,
            server_hostname=host if https else None,
        ) as response:
            read = 0
            async for chunk in response.content.iter_any():
                read += len(chunk)
                if read > BODY_READ_MAX:
                    break  # the rest is not read: the connection is closed, not reused
            return int(response.status)
