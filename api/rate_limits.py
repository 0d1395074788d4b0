"""Flood control: failed authentications per client address, requests per API key.

Counted with the `limits` library's sliding-window counters (O(1) memory per client) in the
storage REFUNDS_RATE_LIMIT_STORAGE names: in-process memory by default, where each process counts
alone, or a shared store (redis://…) where all processes count together. An address over its
failed-authentication limit is refused before its key is looked up, so a flood of made-up keys
costs no query. A key is identified by the hash of its bearer token, without a lookup. When the
store is unreachable the request goes through: the limits protect the service, they must not
become a way to stop it."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from starlette.responses import JSONResponse
from starlette.types import Scope

from api.auth import bearer_token
from api.config import EdgeSettings
from domain.api_keys import hash_api_key

log = logging.getLogger("refunds.api")

RATE_LIMITED_MESSAGE = "Too many requests. Retry after the number of seconds in Retry-After."


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def rate_limited_response(retry_after: int) -> JSONResponse:
    """HTTP 429 with a GraphQL-shaped body."""
    return JSONResponse(
        {
            "data": None,
            "errors": [
                {
                    "message": RATE_LIMITED_MESSAGE,
                    "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after},
                }
            ],
        },
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )


def _storage_uri(url: str) -> str:
    return url if url.startswith("async+") else "async+" + url


def _limits(setting: str, value: str) -> list[RateLimitItem]:
    """The limits a setting names (none when it is empty), or a clear error at startup."""
    if not value.strip():
        return []
    try:
        return parse_many(value)
    except ValueError:
        raise ValueError(
            f"{setting}={value!r} is not a rate limit: write e.g. '20/minute' or "
            "'3000 per 10 seconds', several joined by ';', or leave it empty for none"
        ) from None


class RateLimits:
    def __init__(self, settings: EdgeSettings) -> None:
        storage = storage_from_string(_storage_uri(settings.rate_limit_storage))
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._failed_auth = _limits("REFUNDS_RATE_LIMIT_FAILED_AUTH", settings.failed_auth_limit)
        self._per_key = _limits("REFUNDS_RATE_LIMIT_PER_KEY", settings.key_request_limit)

    async def refuse_address(self, address: str) -> JSONResponse | None:
        """A 429 when this address has failed to authenticate too often, else None."""
        wait = await self._wait("failed_auth", self._failed_auth, address, consume=False)
        return None if wait is None else rate_limited_response(wait)

    async def address_blocked(self, address: str) -> bool:
        return await self.refuse_address(address) is not None

    async def failed_authentication(self, address: str) -> None:
        await self._wait("failed_auth", self._failed_auth, address, consume=True)

    async def refuse_key(self, authorization: str | None) -> JSONResponse | None:
        """Counts one request of the key in this header; a 429 when it is over its limit."""
        token = bearer_token(authorization)
        if token is None:
            return None
        wait = await self._wait("key", self._per_key, hash_api_key(token), consume=True)
        return None if wait is None else rate_limited_response(wait)

    async def _wait(
        self, kind: str, items: list[RateLimitItem], who: str, *, consume: bool
    ) -> int | None:
        """Seconds until `who` may try again under every item, or None when it is within them."""
        try:
            for item in items:
                allowed = await (
                    self._limiter.hit(item, kind, who)
                    if consume
                    else self._limiter.test(item, kind, who)
                )
                if not allowed:
                    stats = await self._limiter.get_window_stats(item, kind, who)
                    return max(1, math.ceil(stats.reset_time - time.time()))
        except Exception as error:  # the shared store is down: serve rather than refuse everyone
            log.warning("rate limit store unreachable, request not counted: %r", error)
        return None
