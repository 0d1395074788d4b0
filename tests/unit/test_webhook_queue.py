"""The claimed deliveries waiting for a send slot (processor/webhooks/queue.py): the cap per
endpoint, endpoints taking turns, a row held twice refused, short leases dropped or renewed,
rows counted per endpoint for the room and the claims."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID, uuid4

from db.webhook_claims import Outgoing
from processor.webhooks.queue import SendQueue
from tests.api.test_webhook_delivery import _outgoing

BASE = _outgoing("http://127.0.0.1/hooks")
LEASE = 30.0


def row(endpoint_id: UUID) -> Outgoing:
    return replace(BASE, delivery=replace(BASE.delivery, id=uuid4(), endpoint_id=endpoint_id))


def test_no_endpoint_gets_more_than_its_cap_and_each_takes_its_turn() -> None:
    a, b = uuid4(), uuid4()
    queue = SendQueue(per_endpoint=2)
    rows_a = [row(a) for _ in range(5)]
    rows_b = [row(b) for _ in range(5)]
    for out in [*rows_a, *rows_b]:
        assert queue.add(out, held_until=LEASE)
    taken, dropped = queue.take(10, now=0, min_lease=10)
    assert (taken, dropped) == ([*rows_a[:2], *rows_b[:2]], 0)
    assert (queue.sending(a), queue.sending(b), len(queue)) == (2, 2, 6)
    # nothing more for either until one of its sends has its answer; then its next, oldest first
    assert queue.take(10, now=0, min_lease=10) == ([], 0)
    queue.sent(rows_b[0])
    assert queue.take(10, now=0, min_lease=10) == ([rows_b[2]], 0)


def test_a_smaller_free_count_is_shared_out_by_turns() -> None:
    a, b = uuid4(), uuid4()
    queue = SendQueue(per_endpoint=10)
    rows_a, rows_b = [row(a) for _ in range(3)], [row(b) for _ in range(3)]
    for out in [*rows_a, *rows_b]:
        queue.add(out, held_until=LEASE)
    first, _ = queue.take(3, now=0, min_lease=10)
    second, _ = queue.take(3, now=0, min_lease=10)
    assert first == rows_a  # a's turn, as far as it goes
    assert second == rows_b  # then b's, a having gone to the back of the line


def test_a_row_already_held_is_not_queued_again_until_its_attempt_is_recorded() -> None:
    queue = SendQueue(per_endpoint=2)
    out = row(uuid4())
    assert queue.add(out, held_until=LEASE)
    assert not queue.add(out, held_until=LEASE)
    assert queue.take(5, now=0, min_lease=10) == ([out], 0)
    assert not queue.add(out, held_until=LEASE)  # being sent
    queue.sent(out)
    assert not queue.add(out, held_until=LEASE)  # answered, being recorded
    assert queue.held() == 1
    queue.done(out)
    assert queue.held() == 0
    assert queue.add(out, held_until=LEASE)


def test_an_endpoints_slot_is_free_at_the_answer_while_the_row_is_still_recorded() -> None:
    endpoint = uuid4()
    queue = SendQueue(per_endpoint=1)
    first, second = row(endpoint), row(endpoint)
    queue.add(first, held_until=LEASE)
    queue.add(second, held_until=LEASE)
    assert queue.take(5, now=0, min_lease=10) == ([first], 0)
    assert queue.take(5, now=0, min_lease=10) == ([], 0)  # the cap: one at a time
    queue.sent(first)  # answered; its record not written yet
    assert queue.take(5, now=0, min_lease=10) == ([second], 0)
    assert (queue.sending(endpoint), queue.held()) == (1, 2)


def test_a_row_whose_lease_is_too_short_for_an_attempt_is_dropped_unsent() -> None:
    endpoint = uuid4()
    queue = SendQueue(per_endpoint=5)
    short, long = row(endpoint), row(endpoint)
    queue.add(short, held_until=15.0)
    queue.add(long, held_until=30.0)
    assert queue.take(5, now=10.0, min_lease=10) == ([long], 1)
    assert len(queue) == 0
    assert queue.add(short, held_until=50.0)  # no longer held: claimed again, it may go


def test_renewal_extends_the_rows_kept_and_drops_those_lost() -> None:
    endpoint = uuid4()
    queue = SendQueue(per_endpoint=5)
    old_kept, old_lost, fresh = row(endpoint), row(endpoint), row(endpoint)
    queue.add(old_kept, held_until=5.0)
    queue.add(old_lost, held_until=5.0)
    queue.add(fresh, held_until=40.0)
    due = queue.to_renew(before=20.0)
    assert [r.out for r in due] == [old_kept, old_lost]
    queue.renewed(due, kept={old_kept.delivery.id}, held_until=35.0)
    assert queue.to_renew(before=20.0) == []
    assert queue.take(5, now=10.0, min_lease=10) == ([old_kept, fresh], 0)
    assert queue.add(old_lost, held_until=50.0)  # forgotten: another process holds it


def test_an_endpoints_rows_beyond_its_share_leave_room_for_the_other_endpoints() -> None:
    queue = SendQueue(per_endpoint=2)
    slow_endpoint = uuid4()
    slow, other = [row(slow_endpoint) for _ in range(10)], [row(uuid4())]
    for out in slow + other:
        assert queue.add(out, held_until=100.0)
    # ten rows of one endpoint and one of another: all held, but the first counts as four
    assert queue.held() == 11
    assert queue.held(per_endpoint=4) == 5
    assert queue.full(4) == [slow_endpoint]
    # two of its rows and the other's sent and recorded: eight held, still counted as four
    taken, _ = queue.take(free=3, now=0.0, min_lease=1.0)
    assert len(taken) == 3
    assert queue.sending() == 3
    for out in taken:
        queue.sent(out)
        queue.done(out)
    assert queue.sending() == 0
    assert (queue.held(), queue.held(per_endpoint=4)) == (8, 4)
    assert queue.full(4) == [slow_endpoint]
    # the rest dropped unsent (their lease too short for an attempt): nothing held any more
    taken, dropped = queue.take(free=10, now=100.0, min_lease=1.0)
    assert (taken, dropped) == ([], 8)
    assert (queue.held(), queue.held(per_endpoint=4), queue.full(1)) == (0, 0, [])
