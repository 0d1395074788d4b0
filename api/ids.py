"""Public IDs: a type prefix and the row's key, like Stripe's (`txn_…`, `rfd_…`).

The prefix tells `node(id:)` which type to load; an ID that does not parse behaves exactly like
an ID that names nothing."""

from __future__ import annotations

from uuid import UUID

from domain.errors import DomainError

MERCHANT = "mer"
TRANSACTION = "txn"
REFUND = "rfd"
LEDGER_ENTRY = "led"
API_KEY = "key"
WEBHOOK_ENDPOINT = "whe"
WEBHOOK_DELIVERY = "whd"
REFUND_BATCH = "rbt"


def encode(prefix: str, key: UUID | int) -> str:
    return f"{prefix}_{key.hex if isinstance(key, UUID) else key}"


def decode_uuid(prefix: str, public_id: str) -> UUID | None:
    """The UUID behind `public_id` if it is of this type, else None."""
    head, _, tail = public_id.partition("_")
    if head != prefix or len(tail) != 32:
        return None
    try:
        return UUID(hex=tail)
    except ValueError:
        return None


def decode_or_raise(prefix: str, public_id: str, not_found: DomainError) -> UUID:
    """The UUID behind `public_id`; `not_found` raised when it is not an ID of this type."""
    found = decode_uuid(prefix, public_id)
    if found is None:
        raise not_found
    return found


def prefix_of(public_id: str) -> str:
    return public_id.partition("_")[0]
