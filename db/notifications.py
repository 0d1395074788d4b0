"""Refund status changes announced through PostgreSQL LISTEN/NOTIFY.

`pg_notify` is sent inside the transaction that stores the event, so PostgreSQL delivers it at
commit and never for a rollback. Payloads carry ids only (PostgreSQL caps them under 8000 bytes);
listeners read the state from the tables."""

REFUND_EVENTS_CHANNEL = "refund_events"

# Payload: the revoked key's id. Every process evicts it from its key cache and closes the
# WebSockets opened with it.
API_KEY_REVOCATIONS_CHANNEL = "api_key_revocations"

# Payload: the merchant's id. A refund batch was submitted: the batch appliers look for work.
REFUND_BATCHES_CHANNEL = "refund_batches"

# Payload: the batch's id. A chunk of its items was applied, or it reached its final state:
# refundBatchUpdated reads it again (one notification per commit, not one per item).
REFUND_BATCH_PROGRESS_CHANNEL = "refund_batch_progress"
