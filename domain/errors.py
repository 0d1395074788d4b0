"""The one hierarchy of expected failures. Each class has a stable `code` that the API sends to
clients as `userErrors[].code`; the message says what to do about it."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class ErrorCode(StrEnum):
    """Every code an expected failure carries, in the order the API lists them (the GraphQL
    enum UserErrorCode is this one: api/errors.py)."""

    TRANSACTION_NOT_FOUND = "TRANSACTION_NOT_FOUND"
    TRANSACTION_NOT_REFUNDABLE = "TRANSACTION_NOT_REFUNDABLE"
    REFUND_WINDOW_EXPIRED = "REFUND_WINDOW_EXPIRED"
    AMOUNT_INVALID = "AMOUNT_INVALID"
    AMOUNT_EXCEEDS_REFUNDABLE = "AMOUNT_EXCEEDS_REFUNDABLE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"
    REFUND_NOT_FOUND = "REFUND_NOT_FOUND"
    REFUND_NOT_CANCELLABLE = "REFUND_NOT_CANCELLABLE"
    REFUND_NOT_AWAITING_ACTION = "REFUND_NOT_AWAITING_ACTION"
    INVALID_DESTINATION = "INVALID_DESTINATION"
    MERCHANT_NOT_FOUND = "MERCHANT_NOT_FOUND"
    TRANSACTION_CONFLICT = "TRANSACTION_CONFLICT"
    INVALID_INPUT = "INVALID_INPUT"
    API_KEY_NOT_FOUND = "API_KEY_NOT_FOUND"
    LAST_FULL_API_KEY = "LAST_FULL_API_KEY"
    WEBHOOK_ENDPOINT_NOT_FOUND = "WEBHOOK_ENDPOINT_NOT_FOUND"
    WEBHOOK_DELIVERY_NOT_FOUND = "WEBHOOK_DELIVERY_NOT_FOUND"
    REFUND_BATCH_NOT_FOUND = "REFUND_BATCH_NOT_FOUND"
    REFUND_BATCH_NOT_CANCELLABLE = "REFUND_BATCH_NOT_CANCELLABLE"
    UNKNOWN_TIME_ZONE = "UNKNOWN_TIME_ZONE"


class DomainError(Exception):
    """Raised when a request breaks a business rule; nothing has been changed."""

    code: ErrorCode = ErrorCode.INVALID_INPUT
    default_field: tuple[str, ...] | None = None

    def __init__(self, message: str, *, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field: tuple[str, ...] | None = (
            tuple(field) if field is not None else self.default_field
        )


class InvalidInput(DomainError):
    """Raised when an input value is malformed (too long, wrong shape, out of range)."""

    code = ErrorCode.INVALID_INPUT


class MerchantNotFound(DomainError):
    """Raised when a merchant id names no merchant."""

    code = ErrorCode.MERCHANT_NOT_FOUND
    default_field = ("input", "merchantId")


class TransactionNotFound(DomainError):
    """Raised when a transaction id names no transaction of the caller's."""

    code = ErrorCode.TRANSACTION_NOT_FOUND
    default_field = ("input", "transactionId")


class TransactionConflict(DomainError):
    """Raised when a transaction reference is recorded again with different data."""

    code = ErrorCode.TRANSACTION_CONFLICT
    default_field = ("input", "reference")


class TransactionNotRefundable(DomainError):
    """Raised when a refund is asked against a transaction that did not succeed."""

    code = ErrorCode.TRANSACTION_NOT_REFUNDABLE
    default_field = ("input", "transactionId")


class RefundWindowExpired(DomainError):
    """Raised when a transaction is older than the refund window."""

    code = ErrorCode.REFUND_WINDOW_EXPIRED
    default_field = ("input", "transactionId")


class AmountInvalid(DomainError):
    """Raised when an amount is not a positive whole number of minor units within range."""

    code = ErrorCode.AMOUNT_INVALID
    default_field = ("input", "amount")


class AmountExceedsRefundable(DomainError):
    """Raised when a refund asks for more than is still refundable on its transaction."""

    code = ErrorCode.AMOUNT_EXCEEDS_REFUNDABLE
    default_field = ("input", "amount")


class CurrencyMismatch(DomainError):
    """Raised when two amounts of different currencies would be combined."""

    code = ErrorCode.CURRENCY_MISMATCH
    default_field = ("input", "currency")


class InsufficientBalance(DomainError):
    """Raised when the recharge balance cannot cover a refund and queueing was not asked."""

    code = ErrorCode.INSUFFICIENT_BALANCE
    default_field = ("input", "amount")


class IdempotencyKeyReused(DomainError):
    """Raised when an idempotency key comes back with a different request."""

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED
    default_field = ("input", "idempotencyKey")


class IdempotencyKeyInUse(DomainError):
    """Raised when a request with the same idempotency key is still running."""

    code = ErrorCode.IDEMPOTENCY_KEY_IN_USE
    default_field = ("input", "idempotencyKey")


class RefundNotFound(DomainError):
    """Raised when a refund id names no refund of the caller's."""

    code = ErrorCode.REFUND_NOT_FOUND
    default_field = ("input", "refundId")


class RefundNotCancellable(DomainError):
    """Raised when a refund has gone too far to be cancelled."""

    code = ErrorCode.REFUND_NOT_CANCELLABLE
    default_field = ("input", "refundId")


class RefundNotAwaitingAction(DomainError):
    """Raised when a new destination is given for a refund that is not ACTION_REQUIRED."""

    code = ErrorCode.REFUND_NOT_AWAITING_ACTION
    default_field = ("input", "refundId")


class InvalidDestination(DomainError):
    """Raised when an alternate bank account or UPI VPA is malformed."""

    code = ErrorCode.INVALID_DESTINATION


class ApiKeyNotFound(DomainError):
    """Raised when an API key id names no key of the caller's."""

    code = ErrorCode.API_KEY_NOT_FOUND
    default_field = ("input", "id")


class LastFullApiKey(DomainError):
    """Raised when revoking a key would leave the merchant without an active FULL key."""

    code = ErrorCode.LAST_FULL_API_KEY
    default_field = ("input", "id")


class IllegalTransition(Exception):
    """Raised when code (not a client) tries a status change the transition table forbids.

    Not a DomainError: it is a bug in the caller, and is masked like any other fault."""


class WebhookEndpointNotFound(DomainError):
    """Raised when an id names no webhook endpoint of the caller's."""

    code = ErrorCode.WEBHOOK_ENDPOINT_NOT_FOUND
    default_field = ("input", "id")


class WebhookDeliveryNotFound(DomainError):
    """Raised when an id names no webhook delivery of the caller's."""

    code = ErrorCode.WEBHOOK_DELIVERY_NOT_FOUND
    default_field = ("input", "deliveryId")


class RefundBatchNotFound(DomainError):
    """Raised when an id names no refund batch of the caller's."""

    code = ErrorCode.REFUND_BATCH_NOT_FOUND
    default_field = ("input", "id")


class RefundBatchNotCancellable(DomainError):
    """Raised when a batch to cancel has already been applied in full."""

    code = ErrorCode.REFUND_BATCH_NOT_CANCELLABLE
    default_field = ("input", "id")


class UnknownTimeZone(DomainError):
    """Raised when a time zone is not an IANA name (Asia/Kolkata, Europe/London)."""

    code = ErrorCode.UNKNOWN_TIME_ZONE
    default_field = ("input", "timeZone")
