"""GraphQL types of a merchant's API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Self
from uuid import UUID

import strawberry
from strawberry.types import Info

from api import ids
from api.node import Node
from domain.model import ApiKey, ApiKeyScope
from domain.values import made_from

strawberry.enum(ApiKeyScope, name="ApiKeyScope")


@strawberry.type(name="ApiKey", description="One of your API keys; the key itself is never shown.")
class ApiKeyType(Node):
    name: str
    prefix: str = strawberry.field(description="The key's first characters, to recognise it.")
    scope: ApiKeyScope
    created_at: datetime
    last_used_at: datetime | None = strawberry.field(
        description="When a request last used it (recorded about once a minute)."
    )
    revoked_at: datetime | None

    @classmethod
    def from_domain(cls, key: ApiKey) -> Self:
        return made_from(cls, key, id=strawberry.ID(ids.encode(ids.API_KEY, key.id)))


async def load_api_key(info: Info, key_id: UUID) -> ApiKeyType | None:
    found = await info.context.loaders.api_key.load(key_id)
    return ApiKeyType.from_domain(found) if found else None
