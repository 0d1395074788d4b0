"""A merchant's own API keys: create (the key is shown once) and revoke.

Revoking is idempotent: revoking a revoked key returns it unchanged, so a retried request is
harmless. The last active FULL key cannot be revoked, so a merchant can never lock itself out
of managing its keys (create a new FULL key first, then revoke the old one)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.api_keys import display_prefix, hash_api_key, new_api_key
from domain.errors import ApiKeyNotFound, InvalidInput, LastFullApiKey
from domain.model import ApiKey, ApiKeyScope
from domain.ports import UnitOfWork

NAME_MAX = 100
FIRST_KEY_NAME = "Default"


def key_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > NAME_MAX:
        raise InvalidInput(f"name must be 1 to {NAME_MAX} characters.", field=("input", "name"))
    return cleaned


async def issue_key(
    uow: UnitOfWork, merchant_id: UUID, name: str, scope: ApiKeyScope
) -> tuple[ApiKey, str]:
    """Store a new key's hash inside the caller's unit of work; returns it and the key."""
    secret = new_api_key()
    key = await uow.api_keys.add(
        merchant_id, hash_api_key(secret), display_prefix(secret), name, scope
    )
    return key, secret


async def create_api_key(
    uow: UnitOfWork, merchant_id: UUID, name: str, scope: ApiKeyScope
) -> tuple[ApiKey, str]:
    name = key_name(name)
    async with uow:
        key, secret = await issue_key(uow, merchant_id, name, scope)
        await uow.commit()
    return key, secret


async def revoke_api_key(uow: UnitOfWork, merchant_id: UUID, key_id: UUID, now: datetime) -> ApiKey:
    async with uow:
        # One merchant's key changes queue here, so two revokes cannot each see the other
        # FULL key still active and together leave none.
        await uow.merchants.lock(merchant_id)
        key = await uow.api_keys.get(merchant_id, key_id)
        if key is None:
            raise ApiKeyNotFound("No API key of yours has that id.")
        if not key.active:
            return key
        if key.scope is ApiKeyScope.FULL and await uow.api_keys.active_full_count(merchant_id) <= 1:
            raise LastFullApiKey(
                "This is your last active FULL key: create another FULL key before revoking it."
            )
        revoked = await uow.api_keys.revoke(merchant_id, key_id, now)
        await uow.commit()
    return revoked
