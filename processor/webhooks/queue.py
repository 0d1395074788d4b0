"""The claimed deliveries waiting for a send slot, in front of the senders.

The dispatcher claims ahead of its free slots, in big claims, and the rows wait here. A row
leaves for a send only while its endpoint has fewer than `per_endpoint` sends in flight, so a
large total concurrency cannot pile onto one receiver; endpoints take turns, oldest claims
first within each. It counts the rows held per endpoint, so that the dispatcher can stop
claiming for an endpoint that has plenty waiting (`full`) and leave its excess out of the room
the others are claimed into (`held(per_endpoint=…)`). The queue knows each row's lease as this
process reckons it (from a monotonic clock read before the claim was sent, so never later than
the database's): the rows whose lease is getting short are renewed (`to_renew`), and a row whose
lease is too short for a whole attempt is dropped rather than sent, since another process may
claim it meanwhile."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from uuid import UUID

from db.webhook_claims import Outgoing


@dataclass(slots=True)
class Queued:
    out: Outgoing
    held_until: float  # monotonic time at which the lease may have run out


class SendQueue:
    def __init__(self, per_endpoint: int) -> None:
        self.per_endpoint = per_endpoint
        # endpoint -> its rows waiting, oldest first; the dict's order is the endpoints' turn
        self._waiting: dict[UUID, deque[Queued]] = {}
        self._sending: Counter[UUID] = Counter()  # endpoint -> sends awaiting their answer
        self._held: set[UUID] = set()  # delivery ids waiting, being sent or being recorded
        self._held_of: Counter[UUID] = Counter()  # … by endpoint
        self._count = 0

    def __len__(self) -> int:
        """Rows waiting (not those being sent)."""
        return self._count

    def add(self, out: Outgoing, held_until: float) -> bool:
        """Queue a claimed row; False (and not queued) when this process already holds it: a
        claim of its own that ran out and came back to it must not be sent twice at once."""
        delivery = out.delivery
        if delivery.id in self._held:
            return False
        self._held.add(delivery.id)
        self._held_of[delivery.endpoint_id] += 1
        self._waiting.setdefault(delivery.endpoint_id, deque()).append(Queued(out, held_until))
        self._count += 1
        return True

    def take(self, free: int, now: float, min_lease: float) -> tuple[list[Outgoing], int]:
        """Up to `free` rows to send now, each counted against its endpoint until `done`, and
        how many were dropped because less than `min_lease` of their lease was left."""
        taken: list[Outgoing] = []
        dropped = 0
        for endpoint_id in list(self._waiting):
            if len(taken) >= free:
                break
            rows = self._waiting.pop(endpoint_id)
            while rows and len(taken) < free and self._sending[endpoint_id] < self.per_endpoint:
                row = rows.popleft()
                self._count -= 1
                if row.held_until - now < min_lease:
                    self._let_go(row.out)
                    dropped += 1
                    continue
                taken.append(row.out)
                self._sending[endpoint_id] += 1
            if rows:  # to the back of the line, once it has had its turn
                self._waiting[endpoint_id] = rows
        return taken, dropped

    def sent(self, out: Outgoing) -> None:
        """A send taken from here has its answer (or failed): its endpoint has a slot again."""
        endpoint_id = out.delivery.endpoint_id
        self._sending[endpoint_id] -= 1
        if self._sending[endpoint_id] <= 0:
            del self._sending[endpoint_id]

    def done(self, out: Outgoing) -> None:
        """Its attempt is recorded (or given up): this process holds the row no more, and a
        claim that brings it back may queue it again."""
        self._let_go(out)

    def _let_go(self, out: Outgoing) -> None:
        delivery = out.delivery
        if delivery.id not in self._held:
            return
        self._held.discard(delivery.id)
        self._held_of[delivery.endpoint_id] -= 1
        if self._held_of[delivery.endpoint_id] <= 0:
            del self._held_of[delivery.endpoint_id]

    def held(self, per_endpoint: int | None = None) -> int:
        """Rows waiting, being sent, or being recorded; with `per_endpoint`, no more than that
        many counted for any one endpoint."""
        if per_endpoint is None:
            return len(self._held)
        return sum(min(count, per_endpoint) for count in self._held_of.values())

    def held_for(self, endpoint_id: UUID) -> int:
        return self._held_of[endpoint_id]

    def full(self, per_endpoint: int) -> list[UUID]:
        """The endpoints with `per_endpoint` rows or more held."""
        return sorted(e for e, count in self._held_of.items() if count >= per_endpoint)

    def to_renew(self, before: float) -> list[Queued]:
        """The waiting rows whose lease runs out before `before`."""
        return [row for rows in self._waiting.values() for row in rows if row.held_until < before]

    def renewed(self, rows: list[Queued], kept: set[UUID], held_until: float) -> None:
        """After a renewal of `rows`: those in `kept` are held until `held_until`; the others
        were lost (their lease had run out and another process took them) and are dropped."""
        lost = set()
        for row in rows:
            if row.out.delivery.id in kept:
                row.held_until = max(row.held_until, held_until)
            else:
                lost.add(row.out.delivery.id)
        if not lost:
            return
        for endpoint_id in list(self._waiting):
            waiting = self._waiting.pop(endpoint_id)
            left = deque(row for row in waiting if row.out.delivery.id not in lost)
            for row in waiting:
                if row.out.delivery.id in lost:  # (one already being sent stays held)
                    self._let_go(row.out)
                    self._count -= 1
            if left:
                self._waiting[endpoint_id] = left

    def sending(self, endpoint_id: UUID | None = None) -> int:
        """Sends taken from here awaiting their answer, to the endpoint or in all."""
        if endpoint_id is None:  # at most one entry per send in flight: summed, not kept twice
            return sum(self._sending.values())
        return self._sending[endpoint_id]
