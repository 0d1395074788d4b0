-- initiateRefund's SQL transaction, statement for statement as db/repositories/* send it
-- (domain/use_cases/initiate_refund.py with an idempotency key, amount 100, a PENDING start).
-- Ids are computed from integers the way bench/seed.py made them; -D per=<per merchant>
-- -D ntx=<transactions>. Run by bench in prepared mode (-M prepared), like asyncpg.
\set k random(0, :ntx / 10 - 1)
\set n 10 * :k + 1
\set m (:n - 1) / :per + 1
\set r random(1, 9000000000000000000)
BEGIN;
INSERT INTO idempotency_keys (merchant_id, key, request_hash)
  VALUES (('00000000-0000-4000-8000-' || lpad(to_hex(:m::bigint), 12, '0'))::uuid,
          'pgb-' || :r::text, md5(:r::text))
  ON CONFLICT (merchant_id, key) DO UPDATE SET request_hash = excluded.request_hash,
    refund_id = NULL, created_at = now()
  WHERE idempotency_keys.created_at < now() - interval '24 hours'
  RETURNING idempotency_keys.key;
SELECT id, merchant_id, reference, order_id, amount, currency, status, payment_method, source,
       created_at
  FROM transactions
  WHERE merchant_id = ('00000000-0000-4000-8000-' || lpad(to_hex(:m::bigint), 12, '0'))::uuid
    AND id = ('00000001-0000-4000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid
  FOR NO KEY UPDATE \gset t_
SELECT coalesce(sum(amount), 0) AS held FROM refunds
  WHERE merchant_id = :t_merchant_id::uuid AND transaction_id = :t_id::uuid
    AND status NOT IN ('FAILED', 'CANCELLED', 'REVERSED');
SELECT id, name, currency, balance, created_at FROM merchants
  WHERE id = :t_merchant_id::uuid FOR NO KEY UPDATE \gset m_
\set newbal :m_balance - 100
INSERT INTO refunds (id, merchant_id, transaction_id, amount, currency, status, reason, notes,
                     metadata, speed_requested, destination_kind, destination_display,
                     destination_details, estimated_settlement_at, created_at, updated_at,
                     next_attempt_at)
  VALUES (md5(:r::text || 'refund')::uuid, :t_merchant_id::uuid, :t_id::uuid, 100,
          :t_currency, 'PENDING', 'CUSTOMER_REQUEST', NULL, NULL, 'NORMAL', 'ORIGINAL_SOURCE',
          :t_source, NULL, now() + interval '1 day', now(), now(), now());
INSERT INTO refund_events (merchant_id, refund_id, status, at, message, failure_code)
  VALUES (:t_merchant_id::uuid, md5(:r::text || 'refund')::uuid, 'PENDING', now(), NULL, NULL)
  RETURNING refund_events.id AS event_id \gset
SELECT pg_notify('refund_events', '{"m":"' || :t_merchant_id || '","r":"' ||
                 md5(:r::text || 'refund')::uuid::text || '","t":"' || :t_id || '","e":' ||
                 :event_id::text || '}');
UPDATE merchants SET balance = :newbal, ledger_seq = ledger_seq + 1
  WHERE merchants.id = :t_merchant_id::uuid RETURNING ledger_seq AS entry_id \gset
INSERT INTO ledger_entries (merchant_id, id, kind, amount, balance_after, refund_id, reference)
  VALUES (:t_merchant_id::uuid, :entry_id, 'REFUND_DEBIT', 100, :newbal,
          md5(:r::text || 'refund')::uuid, NULL)
  RETURNING ledger_entries.merchant_id, ledger_entries.id, ledger_entries.kind,
            ledger_entries.amount, ledger_entries.balance_after, ledger_entries.refund_id,
            ledger_entries.reference, ledger_entries.created_at;
UPDATE idempotency_keys SET refund_id = md5(:r::text || 'refund')::uuid
  WHERE idempotency_keys.merchant_id = :t_merchant_id::uuid
    AND idempotency_keys.key = 'pgb-' || :r::text;
COMMIT;
