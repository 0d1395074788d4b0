"""The hot path's SQL as constant strings, sent on the asyncpg connection under the unit of
work's SQLAlchemy connection (db/uow.py).

initiateRefund was CPU-bound on building and cache-keying a SQLAlchemy statement per repository
call; a constant string costs nothing to build, and asyncpg keeps one prepared statement per
string per connection. The statements are the ones SQLAlchemy rendered from db/tables.py:
the same columns, predicates, lock clauses (FOR NO KEY UPDATE, see db/repositories/__init__.py)
and RETURNING. jsonb parameters are JSON text: the engine's asyncpg codec encodes strings."""

from __future__ import annotations

from db.rows import names
from domain.model import RELEASED_STATUSES, LedgerEntry, Merchant, Transaction

# What the domain's values are read from (db/rows.py builds them by these names).
TRANSACTION_COLUMNS = ", ".join(names(Transaction))
MERCHANT_COLUMNS = ", ".join(names(Merchant))
LEDGER_COLUMNS = ", ".join(names(LedgerEntry))

# $4 is the retention, an interval: an older key is taken over as new.
CLAIM_IDEMPOTENCY_KEY = (
    "INSERT INTO idempotency_keys (merchant_id, key, request_hash) VALUES ($1, $2, $3) "
    "ON CONFLICT (merchant_id, key) DO UPDATE "
    "SET request_hash = $3, refund_id = NULL, created_at = now() "
    "WHERE idempotency_keys.created_at < now() - $4::interval "
    "RETURNING idempotency_keys.key"
)
IDEMPOTENCY_KEY = (
    "SELECT request_hash, refund_id FROM idempotency_keys WHERE merchant_id = $1 AND key = $2"
)

LOCK_TRANSACTION = (
    f"SELECT {TRANSACTION_COLUMNS} FROM transactions "
    "WHERE merchant_id = $1 AND id = $2 FOR NO KEY UPDATE"
)

_RELEASED = ", ".join(f"'{s.value}'" for s in sorted(RELEASED_STATUSES, key=lambda s: s.value))
HELD_AMOUNT = (
    "SELECT coalesce(sum(amount), 0) FROM refunds "
    f"WHERE merchant_id = $1 AND transaction_id = $2 AND status NOT IN ({_RELEASED})"
)
# The held sum above and the merchant as it stands, in one round trip; nothing locked.
HELD_AMOUNT_AND_MERCHANT = (
    f"SELECT {MERCHANT_COLUMNS}, ({HELD_AMOUNT}) AS held FROM merchants WHERE id = $1"
)
# The event, and in the same statement (so in the same transaction) the outbox of its webhook
# deliveries: one per enabled endpoint of the merchant subscribed to its type ($8), all under
# one webhook-id ($7). With no endpoint it inserts nothing more.
INSERT_REFUND_EVENT = (
    "WITH event AS ("
    "INSERT INTO refund_events (merchant_id, refund_id, status, at, message, failure_code) "
    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id), "
    "outbox AS ("
    "INSERT INTO webhook_deliveries (merchant_id, id, endpoint_id, event_id, event_type, "
    "refund_id, refund_event_id, next_attempt_at) "
    "SELECT w.merchant_id, gen_random_uuid(), w.id, $7, $8, $2, event.id, $4 "
    "FROM webhook_endpoints w CROSS JOIN event "
    "WHERE w.merchant_id = $1 AND w.status = 'ENABLED' AND $8 = ANY(w.enabled_events)) "
    "SELECT id FROM event"
)
NOTIFY = "SELECT pg_notify($1, $2)"

# A new refund in one round trip, its merchant's balance row locked last. The balance CTE locks
# and updates the row only when its balance, once locked, lies in [$24, $25] (the bounds within
# which the caller's decision holds; $25 null: no upper bound), debiting $23 (0: no debit, the
# row is locked all the same). Every other part reads from it, so nothing is written when the
# balance lies outside and the statement returns no row. Then the refund, its first event as
# INSERT_REFUND_EVENT writes it (with its outbox), the ledger entry of a debit as SET_BALANCE
# and APPEND_LEDGER_ENTRY write it, the idempotency key's outcome ($26, null: none) and the
# announcement: $21 || the event's id || '}' on channel $20, delivered at commit.
CREATE_REFUND = (
    "WITH balance AS ("
    "UPDATE merchants SET balance = balance - $23::bigint, "
    "ledger_seq = ledger_seq + CASE WHEN $23::bigint > 0 THEN 1 ELSE 0 END "
    "WHERE id = $1 AND balance >= $24::bigint AND ($25::bigint IS NULL OR balance <= $25) "
    "RETURNING balance, ledger_seq), "
    "refund AS ("
    "INSERT INTO refunds (id, merchant_id, transaction_id, amount, currency, status, reason, "
    "notes, metadata, speed_requested, destination_kind, destination_display, "
    "destination_details, estimated_settlement_at, created_at, updated_at, next_attempt_at, "
    "initiated_by_key_id) "
    "SELECT $2::uuid, $1::uuid, $3::uuid, $4::bigint, $5::text, $6::text, $7::text, $8::text, "
    "$9::jsonb, $10::text, $11::text, $12::text, $13::jsonb, $14::timestamptz, "
    "$15::timestamptz, $16::timestamptz, $15::timestamptz, $17::uuid FROM balance), "
    "event AS ("
    "INSERT INTO refund_events (merchant_id, refund_id, status, at, message, failure_code) "
    "SELECT $1::uuid, $2::uuid, $6::text, $15::timestamptz, $18::text, NULL FROM balance "
    "RETURNING id), "
    "outbox AS ("
    "INSERT INTO webhook_deliveries (merchant_id, id, endpoint_id, event_id, event_type, "
    "refund_id, refund_event_id, next_attempt_at) "
    "SELECT w.merchant_id, gen_random_uuid(), w.id, $19::text, $22::text, $2::uuid, event.id, "
    "$15::timestamptz "
    "FROM webhook_endpoints w CROSS JOIN event "
    "WHERE w.merchant_id = $1 AND w.status = 'ENABLED' AND $22::text = ANY(w.enabled_events)), "
    "ledger AS ("
    "INSERT INTO ledger_entries "
    "(merchant_id, id, kind, amount, balance_after, refund_id, reference) "
    "SELECT $1::uuid, balance.ledger_seq, 'REFUND_DEBIT', $23::bigint, balance.balance, "
    "$2::uuid, NULL FROM balance WHERE $23::bigint > 0), "
    "outcome AS ("
    "UPDATE idempotency_keys SET refund_id = $2::uuid FROM balance "
    "WHERE idempotency_keys.merchant_id = $1 AND idempotency_keys.key = $26::text) "
    "SELECT pg_notify($20::text, $21::text || event.id::text || '}') FROM event"
)

LOCK_MERCHANT = f"SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = $1 FOR NO KEY UPDATE"
# The new balance and the id of the ledger entry that records it, in one row update.
SET_BALANCE = (
    "UPDATE merchants SET balance = $2, ledger_seq = ledger_seq + 1 WHERE id = $1 "
    "RETURNING ledger_seq"
)
APPEND_LEDGER_ENTRY = (
    "INSERT INTO ledger_entries "
    "(merchant_id, id, kind, amount, balance_after, refund_id, reference) "
    f"VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {LEDGER_COLUMNS}"
)
