"""The webhook dispatcher's queue, in the outbox table itself, claimed as refunds are
(db/claims.py): FOR UPDATE SKIP LOCKED with a lease, merchant by merchant, so that any number
of processes share the work and a dead one's claims come back when the lease runs out.

A delivery is claimable when it is due, its endpoint is enabled, and no earlier event of the
same refund is still owed to the same endpoint: a refund's events arrive in order. A claim moves
`next_attempt_at` to the lease's end, so a claimed delivery is simply not due meanwhile.

One round trip each way: a merchant's claim is one UPDATE that RETURNs what the sender needs
(the delivery, its event, refund and order, the endpoint's URL and secrets), and the attempts
finished together are recorded with one UPDATE per merchant over `unnest` of their outcomes
(bench/WEBHOOKS.md has the figures)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    Boolean,
    Integer,
    Interval,
    Text,
    Uuid,
    all_,
    and_,
    any_,
    bindparam,
    case,
    column,
    exists,
    func,
    null,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.claims import share_out
from db.distribution import ACROSS_MERCHANTS
from db.repositories.webhooks import DELIVERY_COLUMNS, DELIVERY_SOURCES, delivery
from db.secret_box import SecretBox, UnreadableSecret
from db.tables import webhook_deliveries, webhook_endpoints
from domain.webhooks import (
    UNDELIVERED,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpointStatus,
)

log = logging.getLogger("refunds.webhooks")
d = webhook_deliveries.c
w = webhook_endpoints.c
OWED = [s.value for s in UNDELIVERED]
# Claims and records commit without waiting for the disk: one lost in a crash only means that a
# delivery is sent again, under the same webhook-id, which a receiver already has to expect.
NO_WAIT_FOR_DISK = text("SET LOCAL synchronous_commit TO off")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed delivery with where it goes and the secrets that sign it."""

    delivery: WebhookDelivery
    url: str
    secrets: tuple[str, ...]  # the current secret, and the old one during its grace period
    endpoint_failing: bool  # when claimed: a success has the endpoint's failing clock to stop


def _owed_of_same_refund(merchant_id: Any, name: str, earlier: bool) -> Any:
    """Whether an earlier (or later) event of the same refund is owed to the same endpoint.

    The nearest such event, by ix_webhook_deliveries_refund's own order: a subquery in that
    order with LIMIT 1 can only be served well by that index, pinned to the one refund. An
    EXISTS lets the planner probe by another index when its statistics lag behind a filling
    outbox (as during an outage), and read every row the merchant is owed for each candidate
    (bench/WEBHOOKS.md)."""
    e = webhook_deliveries.alias(name).c
    before_or_after = (
        e.refund_event_id < d.refund_event_id if earlier else e.refund_event_id > d.refund_event_id
    )
    nearest = (
        select(e.refund_event_id)
        .where(
            # Each subquery names the merchant itself, so that it is routed on its own (Citus).
            e.merchant_id == merchant_id,
            e.endpoint_id == d.endpoint_id,
            e.refund_id == d.refund_id,
            before_or_after,
            e.status.in_(OWED),
        )
        .order_by(
            e.merchant_id,
            e.endpoint_id,
            e.refund_id,
            e.refund_event_id.desc() if earlier else e.refund_event_id,
        )
        .limit(1)
        .scalar_subquery()
    )
    return nearest.is_not(None)


def _due(merchant_id: Any) -> Any:
    owed_before = _owed_of_same_refund(merchant_id, "earlier", earlier=True)
    enabled = exists().where(
        w.merchant_id == merchant_id,
        w.id == d.endpoint_id,
        w.status == WebhookEndpointStatus.ENABLED.value,
    )
    return and_(
        d.merchant_id == merchant_id,
        d.status.in_(OWED),
        d.next_attempt_at <= func.now(),
        enabled,
        ~owed_before,
    )


class WebhookClaims:
    def __init__(self, engine: AsyncEngine, worker_id: str, secrets: SecretBox) -> None:
        self.engine = engine
        self.worker_id = worker_id
        self.secrets = secrets

    async def claim(
        self,
        limit: int,
        lease_seconds: float,
        merchants: Sequence[UUID] | None = None,
        skip_endpoints: Sequence[UUID] = (),
    ) -> Sequence[Outgoing]:
        """Up to `limit` due deliveries, shared out among the merchants that have some (or
        among `merchants`, when the caller knows whose events are new: then no read across
        merchants), none to `skip_endpoints`: one statement per merchant, all in one
        transaction (one commit)."""
        async with self.engine.connect() as conn:
            if merchants is None:
                hungry = await _merchants_with_deliveries_due(conn, limit)
            else:
                hungry = list(merchants)
            if not hungry:
                return []
            await conn.execute(NO_WAIT_FOR_DISK)
            claim_of = partial(
                self._claim_of, conn, lease_seconds=lease_seconds, skip=list(skip_endpoints)
            )
            claimed = await share_out(limit, hungry, claim_of)
            await conn.commit()
        return claimed

    async def _claim_of(
        self,
        conn: AsyncConnection,
        merchant_id: UUID,
        limit: int,
        lease_seconds: float,
        skip: list[UUID],
    ) -> list[Outgoing]:
        params = {
            "merchant": merchant_id,
            "limit": limit,
            "skip": skip,
            "worker": self.worker_id,
            "lease": timedelta(seconds=lease_seconds),
        }
        rows = (await conn.execute(CLAIM, params)).all()
        found = sorted(rows, key=lambda r: r.event_row_id)  # each refund's oldest first
        claimed = []
        for r in found:
            try:
                secrets = self._signing_secrets(r)
            except UnreadableSecret as unreadable:
                # The keys configured here do not open it: not sent unsigned. It stays claimed
                # until its lease runs out, then comes back (and here again) until they do.
                log.error("webhook endpoint %s: secret unreadable: %s", r.endpoint_id, unreadable)
                continue
            claimed.append(Outgoing(delivery(r), r.url, secrets, r.failing_since is not None))
        return claimed

    def _signing_secrets(self, row: Any) -> tuple[str, ...]:
        """The current secret, and the old one during its grace period, opened."""
        stored = [row.secret]
        if row.old_secret is not None and row.old_secret_expires_at > row.db_now:
            stored.append(row.old_secret)
        return tuple(self.secrets.open(s, row.merchant_id, row.endpoint_id) for s in stored)

    async def renew(self, held: Sequence[WebhookDelivery], lease_seconds: float) -> set[UUID]:
        """Renew the leases of claimed deliveries still waiting to be sent, and say which
        this worker still held (one statement per merchant, one transaction)."""
        by_merchant: dict[UUID, list[UUID]] = defaultdict(list)
        for one in held:
            by_merchant[one.merchant_id].append(one.id)
        kept: set[UUID] = set()
        async with self.engine.begin() as conn:
            await conn.execute(NO_WAIT_FOR_DISK)
            for merchant_id in sorted(by_merchant):
                params = {
                    "merchant": merchant_id,
                    "worker": self.worker_id,
                    "ids": by_merchant[merchant_id],
                    "lease": timedelta(seconds=lease_seconds),
                }
                kept |= set((await conn.execute(RENEW, params)).scalars())
        return kept

    async def oldest_undelivered_seconds(self) -> float:
        """Age of the oldest event still owed to an endpoint (across merchants)."""
        async with self.engine.connect() as conn:
            return await _oldest_undelivered(conn)

    async def record(
        self, outcomes: Sequence[Outcome], disable_after: timedelta
    ) -> dict[UUID, bool]:
        """Record finished attempts (in the order they finished) on the claims still held, and
        say which those were, each with whether a later event of its refund is owed to its
        endpoint (claimable now that this one is recorded): a claim lost to an expired lease is
        recorded by its new holder.
        A delivery is SUCCEEDED on a 2xx, else RETRYING (due again after its wait) or FAILED.
        An endpoint's failing clock stops at a success and starts at a failure; an endpoint
        that has failed every attempt for `disable_after` is DISABLED. One transaction, one
        UPDATE of deliveries per merchant (and one of endpoints when a clock moves), merchants
        in a fixed order so that two batches lock endpoints in the same order."""
        by_merchant: dict[UUID, list[Outcome]] = defaultdict(list)
        for outcome in outcomes:
            by_merchant[outcome.sent.delivery.merchant_id].append(outcome)
        recorded: dict[UUID, bool] = {}
        async with self.engine.begin() as conn:
            await conn.execute(NO_WAIT_FOR_DISK)
            for merchant_id in sorted(by_merchant):
                group = by_merchant[merchant_id]
                mine = await self._record_of(conn, merchant_id, group)
                clocks = failing_clocks(
                    (o.sent.delivery.endpoint_id, o.delivered, o.sent.endpoint_failing)
                    for o in group
                    if o.sent.delivery.id in mine
                )
                if clocks:
                    params = _endpoint_clocks(merchant_id, clocks, disable_after)
                    await conn.execute(ENDPOINT_CLOCKS, params)
                recorded |= mine
        return recorded

    async def _record_of(
        self, conn: AsyncConnection, merchant_id: UUID, outcomes: Sequence[Outcome]
    ) -> dict[UUID, bool]:
        params = {
            "merchant": merchant_id,
            "worker": self.worker_id,
            "ids": [o.sent.delivery.id for o in outcomes],
            "statuses": [o.status.value for o in outcomes],
            "codes": [o.status_code for o in outcomes],
            "errors": [o.error for o in outcomes],
            "retry_in": [o.retry_in for o in outcomes],
        }
        return {row.id: row.more for row in await conn.execute(RECORD, params)}


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished attempt, to record."""

    sent: Outgoing
    status_code: int | None  # None: no HTTP answer
    error: str | None
    delivered: bool  # a 2xx
    retry_in: timedelta | None  # when not delivered: the wait before the next attempt, or None

    @property
    def status(self) -> WebhookDeliveryStatus:
        if self.delivered:
            return WebhookDeliveryStatus.SUCCEEDED
        if self.retry_in is not None:
            return WebhookDeliveryStatus.RETRYING
        return WebhookDeliveryStatus.FAILED


@dataclass(frozen=True, slots=True)
class Clock:
    failing: bool  # the endpoint's last attempt in the batch failed
    restart: bool  # … after a success earlier in the batch: the clock starts again now


def failing_clocks(attempts: Iterable[tuple[UUID, bool, bool]]) -> dict[UUID, Clock]:
    """Each endpoint whose failing clock a batch of attempts moves, from the attempts'
    (endpoint id, delivered, endpoint failing when claimed) in the order they finished: by
    its last attempt, a failure starts the clock, a success stops it. A success leaves alone
    an endpoint that was not failing when claimed and has not failed in the batch: successes
    must not queue on its row lock."""
    clocks: dict[UUID, Clock] = {}
    for endpoint_id, delivered, endpoint_failing in attempts:
        before = clocks.get(endpoint_id)
        if delivered:
            if endpoint_failing or before is not None:
                clocks[endpoint_id] = Clock(failing=False, restart=False)
        else:
            restart = before is not None and not before.failing
            clocks[endpoint_id] = Clock(failing=True, restart=restart)
    return clocks


def _endpoint_clocks(
    merchant_id: UUID, clocks: dict[UUID, Clock], disable_after: timedelta
) -> dict[str, Any]:
    ids = sorted(clocks)
    return {
        "merchant": merchant_id,
        "ids": ids,
        "failing": [clocks[i].failing for i in ids],
        "restart": [clocks[i].restart for i in ids],
        "disable_after": disable_after,
    }


# The statements are built once, with named parameters: building one and computing its cache
# key took more of the dispatcher's time than anything but the sockets (bench/WEBHOOKS.md).
MERCHANT = bindparam("merchant", type_=Uuid)
WORKER = bindparam("worker", type_=Text)


def _claim_statement() -> Any:
    due = (
        select(d.id)
        .where(_due(MERCHANT), d.endpoint_id != all_(bindparam("skip", type_=ARRAY(Uuid))))
        .order_by(d.next_attempt_at, d.refund_event_id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED")
    )
    until = func.now() + bindparam("lease", type_=Interval)
    # Each source names the merchant itself, so that the statement is routed (Citus).
    sources = [on for _table, on in DELIVERY_SOURCES]
    # The claimed rows by their ids (`id = ANY(ARRAY(…))`) rather than a join to the CTE.
    claimed = func.array(select(due.c.id).scalar_subquery())
    return (
        update(webhook_deliveries)
        .where(
            d.merchant_id == MERCHANT,
            d.id == any_(claimed),
            *sources,
            w.merchant_id == MERCHANT,
            w.id == d.endpoint_id,
        )
        .values(claimed_by=WORKER, claim_expires_at=until, next_attempt_at=until)
        .returning(
            *DELIVERY_COLUMNS,
            w.url,
            w.secret,
            w.old_secret,
            w.old_secret_expires_at,
            w.failing_since,
            func.now().label("db_now"),
        )
    )


def _renew_statement() -> Any:
    until = func.now() + bindparam("lease", type_=Interval)
    return (
        update(webhook_deliveries)
        .where(
            d.merchant_id == MERCHANT,
            d.id == any_(bindparam("ids", type_=ARRAY(Uuid))),
            d.claimed_by == WORKER,
            d.status.in_(OWED),
        )
        .values(claim_expires_at=until, next_attempt_at=until)
        .returning(d.id)
    )


def _record_statement() -> Any:
    v = (
        func.unnest(
            bindparam("ids", type_=ARRAY(Uuid)),
            bindparam("statuses", type_=ARRAY(Text)),
            bindparam("codes", type_=ARRAY(Integer)),
            bindparam("errors", type_=ARRAY(Text)),
            bindparam("retry_in", type_=ARRAY(Interval)),
        )
        .table_valued(
            column("id", Uuid),
            column("status", Text),
            column("code", Integer),
            column("error", Text),
            column("retry_in", Interval),
        )
        .render_derived(name="outcome")
    )
    return (
        update(webhook_deliveries)
        .where(d.merchant_id == MERCHANT, d.id == v.c.id, d.claimed_by == WORKER)
        .values(
            status=v.c.status,
            attempts=d.attempts + 1,
            last_response_status=v.c.code,
            last_error=v.c.error,
            delivered_at=case(
                (v.c.status == WebhookDeliveryStatus.SUCCEEDED.value, func.now()),
                else_=d.delivered_at,
            ),
            next_attempt_at=func.now() + v.c.retry_in,  # NULL when no retry is due
            claimed_by=None,
            claim_expires_at=None,
        )
        .returning(d.id, _owed_of_same_refund(MERCHANT, "later", earlier=False).label("more"))
    )


def _endpoint_clocks_statement() -> Any:
    ids = bindparam("ids", type_=ARRAY(Uuid))
    v = (
        func.unnest(
            ids,
            bindparam("failing", type_=ARRAY(Boolean)),
            bindparam("restart", type_=ARRAY(Boolean)),
        )
        .table_valued(column("id", Uuid), column("failing", Boolean), column("restart", Boolean))
        .render_derived(name="clock")
    )
    # Locked in id order first: two batches moving the same endpoints cannot deadlock.
    locked = (
        select(w.id)
        .where(w.merchant_id == MERCHANT, w.id == any_(ids))
        .order_by(w.id)
        .with_for_update()
        .cte("locked")
        .prefix_with("MATERIALIZED")
    )
    failing_since = case(
        (~v.c.failing, null()),
        (v.c.restart, func.now()),
        else_=func.coalesce(w.failing_since, func.now()),
    )
    disable_after = bindparam("disable_after", type_=Interval)
    return (
        update(webhook_endpoints)
        .where(w.merchant_id == MERCHANT, w.id == locked.c.id, w.id == v.c.id)
        .values(
            failing_since=failing_since,
            status=case(
                (
                    v.c.failing & (failing_since <= func.now() - disable_after),
                    WebhookEndpointStatus.DISABLED.value,
                ),
                else_=w.status,
            ),
        )
    )


CLAIM = _claim_statement()
RENEW = _renew_statement()
RECORD = _record_statement()
ENDPOINT_CLOCKS = _endpoint_clocks_statement()


_OWED_SQL = ", ".join(f"'{status}'" for status in OWED)  # the enum's own values
# The first merchants by their oldest due delivery: the one read across merchants. It walks
# ix_webhook_deliveries_due merchant by merchant (a loose index scan: one probe each for the
# next merchant owed something and for its earliest due time), where a GROUP BY read every
# row owed, the whole backlog, at every claim round (bench/WEBHOOKS.md).
MERCHANTS_WITH_DELIVERIES_DUE = text(f"""
WITH RECURSIVE owing(merchant_id) AS (
    (SELECT {ACROSS_MERCHANTS} merchant_id FROM webhook_deliveries
     WHERE status IN ({_OWED_SQL}) ORDER BY merchant_id LIMIT 1)
    UNION ALL
    SELECT (SELECT n.merchant_id FROM webhook_deliveries AS n
            WHERE n.status IN ({_OWED_SQL}) AND n.merchant_id > owing.merchant_id
            ORDER BY n.merchant_id LIMIT 1)
    FROM owing WHERE owing.merchant_id IS NOT NULL
)
SELECT owing.merchant_id FROM owing
CROSS JOIN LATERAL (
    SELECT min(f.next_attempt_at) AS due FROM webhook_deliveries AS f
    WHERE f.merchant_id = owing.merchant_id AND f.status IN ({_OWED_SQL})
) AS earliest
WHERE earliest.due <= now()
ORDER BY earliest.due
LIMIT :limit
""")


async def _merchants_with_deliveries_due(conn: AsyncConnection, limit: int) -> list[UUID]:
    return list((await conn.execute(MERCHANTS_WITH_DELIVERIES_DUE, {"limit": limit})).scalars())


async def _oldest_undelivered(conn: AsyncConnection) -> float:
    oldest = (
        select(func.coalesce(func.extract("epoch", func.now() - func.min(d.created_at)), 0))
        .prefix_with(ACROSS_MERCHANTS)
        .where(d.status.in_(OWED))
    )
    return float((await conn.execute(oldest)).scalar_one())
