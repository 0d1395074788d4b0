import pytest

from domain import errors
from domain.errors import (
    AmountInvalid,
    DomainError,
    IllegalTransition,
    InvalidDestination,
    InvalidInput,
    RefundNotFound,
)

DOMAIN_ERRORS = [
    cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, DomainError)
]

# The UserErrorCode enum of the API contract (schema.graphql).
CONTRACT_CODES = {
    "TRANSACTION_NOT_FOUND", "TRANSACTION_NOT_REFUNDABLE", "REFUND_WINDOW_EXPIRED",
    "AMOUNT_INVALID", "AMOUNT_EXCEEDS_REFUNDABLE", "CURRENCY_MISMATCH", "INSUFFICIENT_BALANCE",
    "IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_KEY_IN_USE",
    "REFUND_NOT_FOUND", "REFUND_NOT_CANCELLABLE", "REFUND_NOT_AWAITING_ACTION",
    "INVALID_DESTINATION", "MERCHANT_NOT_FOUND", "TRANSACTION_CONFLICT", "INVALID_INPUT",
    "API_KEY_NOT_FOUND", "LAST_FULL_API_KEY",
    # webhooks: the contract's `*_NOT_FOUND` for an id that names nothing of the caller's
    "WEBHOOK_ENDPOINT_NOT_FOUND", "WEBHOOK_DELIVERY_NOT_FOUND",
}  # fmt: skip


@pytest.mark.parametrize("error", DOMAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_every_domain_error_sends_a_code_the_contract_lists(error):
    assert error.code in CONTRACT_CODES


@pytest.mark.parametrize("error", DOMAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_every_domain_error_says_when_it_is_raised(error):
    assert (error.__doc__ or "").startswith("Raised when ")


def test_every_code_but_invalid_input_belongs_to_exactly_one_error():
    codes = [cls.code for cls in DOMAIN_ERRORS if cls not in (DomainError, InvalidInput)]
    assert len(codes) == len(set(codes))
    assert set(codes) | {"INVALID_INPUT"} == CONTRACT_CODES


def test_an_error_points_at_its_usual_field_when_none_is_given():
    error = RefundNotFound("No refund of yours has that id.")
    assert error.field == ("input", "refundId")
    assert error.message == str(error) == "No refund of yours has that id."


def test_an_error_points_at_the_field_it_is_given_instead_of_its_usual_one():
    error = AmountInvalid("too much", field=["input", "lines", "0", "amount"])
    assert error.field == ("input", "lines", "0", "amount")


@pytest.mark.parametrize("error", [DomainError, InvalidInput, InvalidDestination])
def test_a_general_error_points_at_no_field_unless_told(error):
    assert error("bad").field is None


def test_an_illegal_transition_is_a_fault_not_a_domain_error():
    assert not issubclass(IllegalTransition, DomainError)
