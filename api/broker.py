"""The per-process fan-out of refund status changes to GraphQL subscribers.

The listener hands over NOTIFY payloads (ids only). One task takes them in order, in batches,
loads each batch's events with their refunds in one query, and puts the refund as of each event
on the queue of every subscriber of that merchant whose filter matches. One load serves every
subscriber, so fan-out costs one query per batch, not one per subscriber.

Order and once-only: one refund's events are committed under its row lock, so their ids grow
in commit order; the broker remembers the last event id it pushed per refund and drops a
repeat or an older one (a catch-up after a re-connected listener can overlap live NOTIFYs).

Slow consumers: each subscriber has a bounded queue. On overflow the subscriber is DROPPED
(its stream ends with SUBSCRIBER_TOO_SLOW), not coalesced: the contract promises every status
change once and in order, and coalescing would silently skip changes. A dropped client
re-subscribes and catches up with a query of `refund { events }`."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import orjson
from graphql import GraphQLError
from prometheus_client import Counter, Gauge

from db.refund_changes import Change, RefundChanges
from domain.model import Refund

log = logging.getLogger("refunds.broker")

BATCH_MAX = 500
INBOX_MAX = 100_000
REMEMBERED_REFUNDS = 100_000

SUBSCRIBERS = Gauge("refunds_subscribers", "Live refundUpdated subscribers in this process.")
PUSHED = Counter("refunds_subscription_pushes_total", "Refund changes put on subscriber queues.")
DROPPED = Counter("refunds_subscribers_dropped_total", "Subscribers dropped as too slow.")


class SubscriberTooSlow(GraphQLError):
    def __init__(self) -> None:
        super().__init__(
            "This subscription fell too far behind and was ended. Subscribe again and catch "
            "up with a query of the refund's events.",
            extensions={"code": "SUBSCRIBER_TOO_SLOW"},
        )


class TooManySubscribers(GraphQLError):
    def __init__(self) -> None:
        super().__init__(
            "This server has too many subscribers; retry on another connection.",
            extensions={"code": "TOO_MANY_SUBSCRIBERS"},
        )


_OVERFLOW = object()


class Subscriber:
    """One subscription's bounded queue: a deque and at most one waiting reader (lighter
    than an asyncio.Queue, which matters at ten thousand subscribers)."""

    __slots__ = ("items", "limit", "merchant_id", "refund_id", "transaction_id", "waiter")

    def __init__(
        self,
        merchant_id: UUID,
        refund_id: UUID | None,
        transaction_id: UUID | None,
        queue_size: int,
    ) -> None:
        self.merchant_id = merchant_id
        self.refund_id = refund_id
        self.transaction_id = transaction_id
        # made on the first change: an empty deque is ~0.7 KB, times every idle subscriber
        self.items: deque[object] | None = None
        self.limit = queue_size
        self.waiter: asyncio.Future[None] | None = None

    def matches(self, change: Change) -> bool:
        return (self.refund_id is None or self.refund_id == change.refund_id) and (
            self.transaction_id is None or self.transaction_id == change.transaction_id
        )

    def _put(self, item: object) -> None:
        if self.items is None:
            self.items = deque()
        self.items.append(item)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def offer(self, item: Any) -> bool:
        """Queue the change; False when the queue was full and the subscriber is now dropped."""
        if self.items is not None and len(self.items) >= self.limit:
            self._put(_OVERFLOW)
            return False
        self._put(item)
        return True

    def overflow(self) -> None:
        self._put(_OVERFLOW)

    async def next(self) -> Any:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        assert self.items is not None
        item = self.items.popleft()
        if item is _OVERFLOW:
            raise SubscriberTooSlow()
        return item


class Broker:
    def __init__(
        self,
        changes: RefundChanges,
        *,
        wrap: Callable[[Refund], Any] = lambda r: r,
        queue_size: int = 256,
        max_subscribers: int = 50_000,
    ) -> None:
        self.changes = changes
        self.wrap = wrap  # what subscribers receive, built once per change
        self.queue_size = queue_size
        self.max_subscribers = max_subscribers
        self.count = 0
        self._by_merchant: dict[UUID, set[Subscriber]] = {}
        self._inbox: asyncio.Queue[Change] = asyncio.Queue(INBOX_MAX)
        self._last_pushed: OrderedDict[UUID, int] = OrderedDict()
        self._high_water = 0  # the highest event id seen, to catch up from

    # -- subscribers -------------------------------------------------------------------------

    @asynccontextmanager
    async def subscribe(
        self,
        merchant_id: UUID,
        refund_id: UUID | None = None,
        transaction_id: UUID | None = None,
    ) -> AsyncIterator[Subscriber]:
        if self.count >= self.max_subscribers:
            raise TooManySubscribers()
        sub = Subscriber(merchant_id, refund_id, transaction_id, self.queue_size)
        self._by_merchant.setdefault(merchant_id, set()).add(sub)
        self.count += 1
        SUBSCRIBERS.inc()
        try:
            yield sub
        finally:
            self._remove(sub)

    def subscriber_count(self, merchant_id: UUID) -> int:
        return len(self._by_merchant.get(merchant_id, ()))

    def _remove(self, sub: Subscriber) -> None:
        subs = self._by_merchant.get(sub.merchant_id)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        if not subs:
            del self._by_merchant[sub.merchant_id]
        self.count -= 1
        SUBSCRIBERS.dec()

    # -- notifications -----------------------------------------------------------------------

    def notify(self, payload: str) -> None:
        """A NOTIFY payload from the listener. Runs in the event loop: cheap, never blocks."""
        try:
            p = orjson.loads(payload)
            change = Change(UUID(p["m"]), UUID(p["r"]), UUID(p["t"]), int(p["e"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed notification")
            return
        self._high_water = max(self._high_water, change.event_id)
        if change.merchant_id not in self._by_merchant:
            return  # nobody here listens to this merchant
        self._enqueue(change)

    def _enqueue(self, change: Change) -> None:
        try:
            self._inbox.put_nowait(change)
        except asyncio.QueueFull:  # the database cannot keep up with the commit rate
            log.error(
                "broker inbox full: dropping every subscriber of merchant %s", change.merchant_id
            )
            for sub in list(self._by_merchant.get(change.merchant_id, ())):
                self._drop(sub)

    def _drop(self, sub: Subscriber) -> None:
        self._remove(sub)
        sub.overflow()
        DROPPED.inc()

    async def catch_up(self) -> None:
        """After the listener re-connected: push what was committed while it was away."""
        if not self._high_water:
            return
        for change in await self.changes.since(self._high_water):
            self._high_water = max(self._high_water, change.event_id)
            if change.merchant_id in self._by_merchant:
                self._enqueue(change)

    async def run(self) -> None:
        while True:
            batch = [await self._inbox.get()]
            while len(batch) < BATCH_MAX and not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
            delay = 0.1
            while True:  # the same batch again: later changes must not overtake it
                try:
                    await self._deliver(batch)
                    break
                except Exception:
                    log.exception("loading %d refund changes failed; retrying", len(batch))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)

    async def _deliver(self, batch: list[Change]) -> None:
        loaded = await self.changes.load(batch)
        for change in batch:
            refund = loaded.get(change.event_id)
            if refund is None or not self._first_time(change):
                continue
            pushed = None
            for sub in list(self._by_merchant.get(change.merchant_id, ())):
                if sub.matches(change):
                    PUSHED.inc()
                    pushed = pushed if pushed is not None else self.wrap(refund)
                    if not sub.offer(pushed):
                        self._remove(sub)
                        DROPPED.inc()

    def _first_time(self, change: Change) -> bool:
        last = self._last_pushed.get(change.refund_id)
        if last is not None and last >= change.event_id:
            return False
        self._last_pushed[change.refund_id] = change.event_id
        self._last_pushed.move_to_end(change.refund_id)
        if len(self._last_pushed) > REMEMBERED_REFUNDS:
            self._last_pushed.popitem(last=False)
        return True
