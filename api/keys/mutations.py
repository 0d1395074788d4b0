"""A merchant's own key management: createApiKey (the key is shown once) and revokeApiKey.

Both need a FULL key: READ_ONLY keys make no mutation at all (api/keys/scope.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.types import Info

from api import ids
from api.errors import UserError
from api.keys.types import ApiKeyType
from domain.errors import ApiKeyNotFound, DomainError
from domain.model import ApiKeyScope
from domain.use_cases import api_keys


@strawberry.input
class CreateApiKeyInput:
    name: str
    scope: ApiKeyScope = ApiKeyScope.FULL


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKeyType | None = None
    key: str | None = strawberry.field(
        default=None, description="Shown once: only its hash is stored."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKeyType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiKeyMutations:
    @strawberry.mutation(description="A new API key for you; the key is in the payload, once.")
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        merchant_id = info.context.merchant_id
        try:
            key, secret = await api_keys.create_api_key(
                info.context.services.unit_of_work(), merchant_id, input.name, input.scope
            )
        except DomainError as error:
            return CreateApiKeyPayload(user_errors=[UserError.from_domain(error)])
        return CreateApiKeyPayload(api_key=ApiKeyType.from_domain(key), key=secret)

    @strawberry.mutation(
        description="Revoke one of your keys: refused everywhere within a second, its open "
        "WebSockets closed (4403). Revoking a revoked key changes nothing."
    )
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> ApiKeyPayload:
        merchant_id = info.context.merchant_id
        services = info.context.services
        try:
            key_id = ids.decode_or_raise(
                ids.API_KEY, input.id, ApiKeyNotFound("No API key of yours has that id.")
            )
            key = await api_keys.revoke_api_key(
                services.unit_of_work(), merchant_id, key_id, datetime.now(UTC)
            )
        except DomainError as error:
            return ApiKeyPayload(user_errors=[UserError.from_domain(error)])
        services.revocations.revoked(key.id)  # this process at once; the others by NOTIFY
        return ApiKeyPayload(api_key=ApiKeyType.from_domain(key))
