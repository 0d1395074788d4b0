"""Creating and revoking a merchant's API keys, over an in-memory unit of work."""

from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from uuid import UUID, uuid4

import pytest

from domain.api_keys import hash_api_key
from domain.errors import ApiKeyNotFound, InvalidInput, LastFullApiKey
from domain.model import ApiKey, ApiKeyScope
from domain.use_cases.api_keys import NAME_MAX, create_api_key, revoke_api_key

NOW = datetime(2026, 12, 2, tzinfo=UTC)
MERCHANT = UUID(int=1)
OTHER_MERCHANT = UUID(int=2)


class InMemoryKeys:
    def __init__(self) -> None:
        self.rows: dict[tuple[UUID, UUID], ApiKey] = {}
        self.hashes: dict[str, UUID] = {}

    async def add(
        self, merchant_id: UUID, key_hash: str, prefix: str, name: str, scope: ApiKeyScope
    ) -> ApiKey:
        key = ApiKey(uuid4(), merchant_id, name, prefix, scope, NOW, None, None)
        self.rows[(merchant_id, key.id)] = key
        self.hashes[key_hash] = key.id
        return key

    async def get(self, merchant_id: UUID, key_id: UUID) -> ApiKey | None:
        return self.rows.get((merchant_id, key_id))

    async def active_full_count(self, merchant_id: UUID) -> int:
        return sum(
            1
            for (m, _), k in self.rows.items()
            if m == merchant_id and k.active and k.scope is ApiKeyScope.FULL
        )

    async def revoke(self, merchant_id: UUID, key_id: UUID, at: datetime) -> ApiKey:
        key = self.rows[(merchant_id, key_id)] = replace(
            self.rows[(merchant_id, key_id)], revoked_at=at
        )
        return key


class InMemoryMerchants:
    def __init__(self) -> None:
        self.locked: list[UUID] = []

    async def lock(self, merchant_id: UUID) -> None:
        self.locked.append(merchant_id)


class InMemoryUnitOfWork:
    def __init__(self) -> None:
        self.api_keys = InMemoryKeys()
        self.merchants = InMemoryMerchants()
        self.commits = 0

    async def __aenter__(self) -> "InMemoryUnitOfWork":
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def commit(self) -> None:
        self.commits += 1


async def _create(uow: InMemoryUnitOfWork, scope: ApiKeyScope = ApiKeyScope.FULL) -> ApiKey:
    key, _ = await create_api_key(uow, MERCHANT, "CI deploys", scope)  # type: ignore[arg-type]
    return key


async def test_a_new_key_is_stored_as_the_hash_of_the_key_returned_once() -> None:
    uow = InMemoryUnitOfWork()
    key, secret = await create_api_key(uow, MERCHANT, "  Reports  ", ApiKeyScope.READ_ONLY)  # type: ignore[arg-type]
    assert uow.api_keys.hashes == {hash_api_key(secret): key.id}
    assert (key.name, key.scope, key.active) == ("Reports", ApiKeyScope.READ_ONLY, True)
    assert secret.startswith(key.prefix)
    assert uow.commits == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * (NAME_MAX + 1)])
async def test_a_blank_or_too_long_name_is_refused_and_nothing_is_stored(name: str) -> None:
    uow = InMemoryUnitOfWork()
    with pytest.raises(InvalidInput) as refused:
        await create_api_key(uow, MERCHANT, name, ApiKeyScope.FULL)  # type: ignore[arg-type]
    assert refused.value.field == ("input", "name")
    assert uow.api_keys.rows == {}


async def test_a_key_is_revoked_when_another_full_key_remains() -> None:
    uow = InMemoryUnitOfWork()
    first, _second = await _create(uow), await _create(uow)
    revoked = await revoke_api_key(uow, MERCHANT, first.id, NOW)  # type: ignore[arg-type]
    assert revoked.revoked_at == NOW
    assert not revoked.active
    assert uow.merchants.locked == [MERCHANT]


async def test_the_last_active_full_key_cannot_be_revoked() -> None:
    uow = InMemoryUnitOfWork()
    full = await _create(uow)
    await _create(uow, ApiKeyScope.READ_ONLY)
    with pytest.raises(LastFullApiKey):
        await revoke_api_key(uow, MERCHANT, full.id, NOW)  # type: ignore[arg-type]
    assert (await uow.api_keys.get(MERCHANT, full.id)).active  # type: ignore[union-attr]


async def test_a_read_only_key_can_be_revoked_beside_the_last_full_key() -> None:
    uow = InMemoryUnitOfWork()
    await _create(uow)
    reader = await _create(uow, ApiKeyScope.READ_ONLY)
    assert (await revoke_api_key(uow, MERCHANT, reader.id, NOW)).revoked_at == NOW  # type: ignore[arg-type]


async def test_revoking_a_revoked_key_returns_it_unchanged() -> None:
    uow = InMemoryUnitOfWork()
    first = await _create(uow)
    await _create(uow)
    await revoke_api_key(uow, MERCHANT, first.id, NOW)  # type: ignore[arg-type]
    later = datetime(2026, 12, 3, tzinfo=UTC)
    again = await revoke_api_key(uow, MERCHANT, first.id, later)  # type: ignore[arg-type]
    assert again.revoked_at == NOW


async def test_another_merchants_key_is_not_found() -> None:
    uow = InMemoryUnitOfWork()
    key = await _create(uow)
    with pytest.raises(ApiKeyNotFound) as refused:
        await revoke_api_key(uow, OTHER_MERCHANT, key.id, NOW)  # type: ignore[arg-type]
    assert refused.value.field == ("input", "id")
