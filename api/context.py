"""What every resolver gets as `info.context`: the caller, the app's services, and per-request
DataLoaders (built on first use, so a WebSocket's events never share stale ones)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.dataloader import DataLoader

from api.auth import MerchantPrincipal, Operator, Principal
from api.batches.followers import BatchFollowers
from api.config import Settings
from api.errors import Forbidden, Unauthenticated
from api.keys.revocations import OpenSockets, Revocations
from db.queries import ReadQueries
from db.reports import Reports
from db.repositories.api_keys import ApiKeyStore
from db.repositories.batches import RefundBatchReads
from db.repositories.webhooks import WebhookReads
from db.secret_box import SecretBox
from db.uow import SqlUnitOfWork
from domain.model import ApiKey, Refund, RefundEvent, Transaction

if TYPE_CHECKING:
    from api.auth import Authenticator
    from api.broker import Broker


@dataclass
class Services:
    """One per process: the engine and what is built on it."""

    settings: Settings
    engine: AsyncEngine
    reads: ReadQueries
    api_keys: ApiKeyStore
    authenticator: Authenticator
    secret_box: SecretBox  # seals the webhook secrets a unit of work stores
    sockets: OpenSockets = field(default_factory=OpenSockets)  # authenticated WebSockets
    broker: Broker | None = None  # live status fan-out; set by create_app
    # refundBatchUpdated's wake-ups; fed by the LISTEN connection (create_app)
    batch_followers: BatchFollowers = field(default_factory=BatchFollowers)

    @cached_property
    def webhooks(self) -> WebhookReads:
        return WebhookReads(self.engine)

    @cached_property
    def batches(self) -> RefundBatchReads:
        return RefundBatchReads(self.engine)

    @cached_property
    def reports(self) -> Reports:
        return Reports(self.engine)

    @cached_property
    def revocations(self) -> Revocations:
        return Revocations(self.authenticator, self.sockets, self.api_keys)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.secret_box)


class Loaders:
    """Per-request batch loaders, scoped to one merchant."""

    def __init__(self, reads: ReadQueries, api_keys: ApiKeyStore, merchant_id: UUID) -> None:
        self.api_key = DataLoader[UUID, ApiKey | None](
            lambda ids: api_keys.by_ids(merchant_id, ids)
        )
        self.transaction = DataLoader[UUID, Transaction | None](
            lambda ids: reads.transactions_by_id(merchant_id, ids)
        )
        self.refund = DataLoader[UUID, Refund | None](
            lambda ids: reads.refunds_by_id(merchant_id, ids)
        )
        self.refunds_of_transaction = DataLoader[UUID, list[Refund]](
            lambda ids: reads.refunds_by_transaction(merchant_id, ids)
        )
        self.events_of_refund = DataLoader[UUID, list[RefundEvent]](
            lambda ids: reads.events_by_refund(merchant_id, ids)
        )


@dataclass
class Context:
    services: Services
    request: Any
    response: Any
    principal: Principal | None = None
    connection_params: dict[str, Any] | None = field(default=None)

    @property
    def merchant_id(self) -> UUID:
        """The calling merchant's id; FORBIDDEN for the operator, UNAUTHENTICATED for nobody."""
        if isinstance(self.principal, MerchantPrincipal):
            return self.principal.merchant_id
        if isinstance(self.principal, Operator):
            raise Forbidden("This field needs a merchant's API key; the admin token has no data.")
        raise Unauthenticated("Send a merchant API key: Authorization: Bearer <key>.")

    @property
    def key_id(self) -> UUID:
        """The calling merchant's API key (same errors as merchant_id)."""
        _ = self.merchant_id
        assert isinstance(self.principal, MerchantPrincipal)
        return self.principal.key_id

    def require_operator(self) -> None:
        if not isinstance(self.principal, Operator):
            raise Forbidden("Only the platform operator (admin token) may do this.")

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.services.reads, self.services.api_keys, self.merchant_id)
