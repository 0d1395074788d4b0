"""The body of a webhook, as the contract gives it: `{"type": "refund.processed", "timestamp":
ISO-8601, "data": {"refund": {…}}}`, the refund with the GraphQL Refund's scalar fields under
the same names, plus transactionId and orderId. Built from the stored event each time, so every
attempt and the API's `payload` field show the same body."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api import ids
from domain.webhooks import WebhookDelivery


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def webhook_body(delivery: WebhookDelivery) -> dict[str, Any]:
    r = delivery.refund
    refund = {
        "id": ids.encode(ids.REFUND, r.id),
        "amount": r.amount,
        "currency": r.currency,
        "status": r.status.value,
        "reason": r.reason.value,
        "notes": r.notes,
        "metadata": r.metadata,
        "speedRequested": r.speed_requested.value,
        "speedProcessed": r.speed_processed.value if r.speed_processed else None,
        "failureCode": r.failure_code,
        "failureMessage": r.failure_message,
        "bankReference": r.bank_reference,
        "estimatedSettlementAt": _instant(r.estimated_settlement_at),
        "createdAt": _instant(r.created_at),
        "updatedAt": _instant(r.updated_at),
        "processedAt": _instant(r.processed_at),
        "transactionId": ids.encode(ids.TRANSACTION, r.transaction_id),
        "orderId": delivery.order_id,
    }
    return {
        "type": delivery.event_type.wire_name,
        "timestamp": delivery.event_at.isoformat(),
        "data": {"refund": refund},
    }
