"""Who is calling: a merchant (Bearer API key) or the platform operator (admin token).

Keys are looked up by their SHA-256 hash (db/repositories/api_keys.py). An in-process cache
keeps the lookup off the hot path:

- a known key is cached, and evicted the moment it is revoked on any process (NOTIFY, wired in
  api/app.py). The cache is trusted only while this process's LISTEN connection is up: a
  revocation announced while it was down is lost, so then every request asks the database, and
  the cache is emptied when it reconnects;
- an unknown key is cached briefly too, so a flood of one bad key costs no query each;
- concurrent lookups of one key share one query.

The last use of each key is kept in memory and written in one batch per interval."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from db.repositories.api_keys import ApiKeyStore
from domain.api_keys import hash_api_key
from domain.model import ApiKey, ApiKeyScope

log = logging.getLogger("refunds.api")

CACHE_SECONDS = 300.0  # a safety net only: revocations evict at once
UNKNOWN_KEY_CACHE_SECONDS = 5.0
CACHE_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class MerchantPrincipal:
    merchant_id: UUID
    key_id: UUID
    scope: ApiKeyScope

    @property
    def read_only(self) -> bool:
        return self.scope is ApiKeyScope.READ_ONLY


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
    def __init__(self, keys: ApiKeyStore, admin_token: str | None) -> None:
        self.keys = keys
        self.admin_token = admin_token
        # Set by the app to its LISTEN connection's state; None: never trust the cache.
        self.listening: asyncio.Event | None = None
        self._known: dict[str, tuple[MerchantPrincipal, float]] = {}
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._lookups: dict[str, asyncio.Future[MerchantPrincipal | None]] = {}
        self._generation = 0  # bumped by every eviction: a lookup begun before is not cached
        self._used: dict[tuple[UUID, UUID], datetime] = {}

    async def principal(self, authorization: str | None) -> Principal | None:
        """The caller named by an `Authorization` header value, or None when it names nobody."""
        token = bearer_token(authorization)
        if token is None:
            return None
        if self.admin_token and hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return Operator()
        principal = await self._merchant(hash_api_key(token))
        if principal is not None:
            self._used[(principal.merchant_id, principal.key_id)] = datetime.now(UTC)
        return principal

    async def _merchant(self, key_hash: str) -> MerchantPrincipal | None:
        if self.listening is not None and self.listening.is_set():
            now = time.monotonic()
            known = self._known.get(key_hash)
            if known and known[1] > now:
                return known[0]
            if self._unknown.get(key_hash, 0.0) > now:
                return None
        pending = self._lookups.get(key_hash)
        if pending is None:
            pending = asyncio.ensure_future(self._look_up(key_hash))
            self._lookups[key_hash] = pending
            pending.add_done_callback(lambda _f: self._lookups.pop(key_hash, None))
        return await asyncio.shield(pending)

    async def _look_up(self, key_hash: str) -> MerchantPrincipal | None:
        generation = self._generation
        key = await self.keys.active_by_hash(key_hash)
        principal = principal_of(key) if key else None
        if generation == self._generation:
            self._remember(key_hash, principal)
        return principal

    def _remember(self, key_hash: str, principal: MerchantPrincipal | None) -> None:
        now = time.monotonic()
        if principal is not None:
            if len(self._known) >= CACHE_MAX_ENTRIES:
                self._known.clear()
            self._known[key_hash] = (principal, now + CACHE_SECONDS)
            return
        self._unknown[key_hash] = now + UNKNOWN_KEY_CACHE_SECONDS
        self._unknown.move_to_end(key_hash)
        while len(self._unknown) > CACHE_MAX_ENTRIES:
            self._unknown.popitem(last=False)

    def forget(self, key_id: UUID) -> None:
        """A key was revoked: no request of this process accepts it from now on."""
        self._generation += 1
        for key_hash, (principal, _) in list(self._known.items()):
            if principal.key_id == key_id:
                del self._known[key_hash]

    def forget_all(self) -> None:
        """Revocations may have been missed (the LISTEN connection was down)."""
        self._generation += 1
        self._known.clear()
        self._unknown.clear()

    async def record_use(self) -> None:
        """Write the last use of every key used since the previous call, in one statement."""
        used, self._used = self._used, {}
        await self.keys.record_use(used)


def principal_of(key: ApiKey) -> MerchantPrincipal:
    return MerchantPrincipal(key.merchant_id, key.id, key.scope)


async def record_key_use_forever(authenticator: Authenticator, interval: float) -> None:
    """Off the request path: at most one write per key per interval, all keys in one."""
    while True:
        await asyncio.sleep(interval)
        try:
            await authenticator.record_use()
        except Exception as error:  # an outage: the uses of this interval are not recorded
            log.warning("could not record API key use: %r", error)
