"""Who is calling: a merchant (Bearer API key) or the platform operator (admin token).

Keys are looked up by their SHA-256 hash. A small in-process cache keeps the lookup off the
hot path; a revoked key stops working within CACHE_SECONDS."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables import api_keys
from domain.api_keys import hash_api_key

CACHE_SECONDS = 30.0
CACHE_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class MerchantPrincipal:
    merchant_id: UUID


@dataclass(frozen=True, slots=True)
class Operator:
    pass


Principal = MerchantPrincipal | Operator


def bearer_token(header_value: str | None) -> str | None:
    if not header_value:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator:
    def __init__(self, engine: AsyncEngine, admin_token: str | None) -> None:
        self.engine = engine
        self.admin_token = admin_token
        self._cache: dict[str, tuple[UUID, float]] = {}

    async def principal(self, authorization: str | None) -> Principal | None:
        """The caller named by an `Authorization` header value, or None when it names nobody."""
        token = bearer_token(authorization)
        if token is None:
            return None
        if self.admin_token and hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return Operator()
        merchant_id = await self._merchant_for(hash_api_key(token))
        return MerchantPrincipal(merchant_id) if merchant_id else None

    async def _merchant_for(self, key_hash: str) -> UUID | None:
        cached = self._cache.get(key_hash)
        now = time.monotonic()
        if cached and cached[1] > now:
            return cached[0]
        async with self.engine.connect() as conn:
            merchant_id = (
                await conn.execute(
                    select(api_keys.c.merchant_id).where(
                        api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None)
                    )
                )
            ).scalar_one_or_none()
        if merchant_id is not None:
            if len(self._cache) >= CACHE_MAX_ENTRIES:
                self._cache.clear()
            self._cache[key_hash] = (merchant_id, now + CACHE_SECONDS)
        return merchant_id
