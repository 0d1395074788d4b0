"""Merchants' API keys: the unit of work's repository (create, revoke), and the store the
authenticator and the reads use outside any unit of work (the one lookup of a key by its hash,
listings, and the batched record of last use).

A presented key is found in two steps: its hash names the merchant in the platform-wide
`api_key_routes`, then the merchant's own `api_keys` row says whether it is active (both by
primary key; a table distributed by merchant can hold no index on the hash alone)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db import rows, statements
from db.connected import ConnectedReads
from db.notifications import API_KEY_REVOCATIONS_CHANNEL
from db.tables import api_key_routes, api_keys
from domain.model import ApiKey, ApiKeyScope

k = api_keys.c
API_KEY_COLUMNS = rows.columns(api_keys, ApiKey, prefix="display_prefix")


def api_key(row: Any) -> ApiKey:
    return rows.record(ApiKey, row._mapping)


class SqlApiKeys:
    def __init__(self, conn: AsyncConnection, raw: Any) -> None:
        self.conn = conn
        self.raw = raw  # the asyncpg connection under `conn`, in its transaction

    async def add(
        self, merchant_id: UUID, key_hash: str, prefix: str, name: str, scope: ApiKeyScope
    ) -> ApiKey:
        stmt = (
            insert(api_keys)
            .values(merchant_id=merchant_id, display_prefix=prefix, name=name, scope=scope.value)
            .returning(*API_KEY_COLUMNS)
        )
        key = api_key((await self.conn.execute(stmt)).one())
        route = insert(api_key_routes).values(
            key_hash=key_hash, merchant_id=merchant_id, key_id=key.id
        )
        await self.conn.execute(route)
        return key

    async def get(self, merchant_id: UUID, key_id: UUID) -> ApiKey | None:
        stmt = select(*API_KEY_COLUMNS).where(k.merchant_id == merchant_id, k.id == key_id)
        row = (await self.conn.execute(stmt)).one_or_none()
        return api_key(row) if row else None

    async def active_full_count(self, merchant_id: UUID) -> int:
        stmt = select(func.count()).where(
            k.merchant_id == merchant_id,
            k.scope == ApiKeyScope.FULL.value,
            k.revoked_at.is_(None),
        )
        return int((await self.conn.execute(stmt)).scalar_one())

    async def revoke(self, merchant_id: UUID, key_id: UUID, at: datetime) -> ApiKey:
        stmt = (
            update(api_keys)
            .where(k.merchant_id == merchant_id, k.id == key_id)
            .values(revoked_at=at)
            .returning(*API_KEY_COLUMNS)
        )
        revoked = api_key((await self.conn.execute(stmt)).one())
        # Delivered at commit, to every process: each forgets the key and closes its sockets.
        await self.raw.execute(statements.NOTIFY, API_KEY_REVOCATIONS_CHANNEL, str(key_id))
        return revoked


class ApiKeyStore(ConnectedReads):
    async def active_by_hash(self, key_hash: str) -> ApiKey | None:
        """The one lookup of a presented key: by its hash, unless revoked."""
        r = api_key_routes.c
        route = select(r.merchant_id, r.key_id).where(r.key_hash == key_hash)
        async with self.engine.connect() as conn:
            found = (await conn.execute(route)).one_or_none()
            if found is None:
                return None
            stmt = select(*API_KEY_COLUMNS).where(
                k.merchant_id == found.merchant_id, k.id == found.key_id, k.revoked_at.is_(None)
            )
            row = (await conn.execute(stmt)).one_or_none()
        return api_key(row) if row else None

    async def of_merchant(self, merchant_id: UUID) -> Sequence[ApiKey]:
        stmt = (
            select(*API_KEY_COLUMNS)
            .where(k.merchant_id == merchant_id)
            .order_by(k.created_at, k.id)
        )
        async with self._connected() as conn:
            return [api_key(r) for r in (await conn.execute(stmt)).all()]

    async def by_ids(self, merchant_id: UUID, key_ids: Sequence[UUID]) -> list[ApiKey | None]:
        """In the order asked (a DataLoader's batch)."""
        stmt = select(*API_KEY_COLUMNS).where(k.merchant_id == merchant_id, k.id.in_(list(key_ids)))
        async with self._connected() as conn:
            found = {r.id: api_key(r) for r in (await conn.execute(stmt)).all()}
        return [found.get(key_id) for key_id in key_ids]

    async def revoked_among(self, key_ids: Iterable[tuple[UUID, UUID]]) -> set[UUID]:
        """Which of these (merchant id, key id) pairs are revoked, or gone. One statement per
        merchant, each answered by that merchant's node."""
        by_merchant: dict[UUID, list[UUID]] = defaultdict(list)
        for merchant_id, key_id in key_ids:
            by_merchant[merchant_id].append(key_id)
        active: set[UUID] = set()
        async with self.engine.connect() as conn:
            for merchant_id, ids in by_merchant.items():
                stmt = select(k.id).where(
                    k.merchant_id == merchant_id, k.id.in_(ids), k.revoked_at.is_(None)
                )
                active.update((await conn.execute(stmt)).scalars())
        return {key_id for ids in by_merchant.values() for key_id in ids} - active

    async def record_use(self, uses: Mapping[tuple[UUID, UUID], datetime]) -> None:
        """Set `last_used_at` of many keys in one statement; (merchant id, key id) -> when."""
        if not uses:
            return
        stmt = (
            update(api_keys)
            .where(k.merchant_id == bindparam("m"), k.id == bindparam("k"))
            .where(func.coalesce(k.last_used_at, bindparam("at")) <= bindparam("at"))
            .values(last_used_at=bindparam("at"))
        )
        params = [{"m": m, "k": key, "at": at} for (m, key), at in uses.items()]
        async with self.engine.begin() as conn:
            await conn.execute(stmt, params)
