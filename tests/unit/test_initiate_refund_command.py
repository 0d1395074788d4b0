import dataclasses
import re
from uuid import UUID, uuid4

import pytest

from domain.errors import AmountInvalid, InvalidInput
from domain.model import RefundReason, RefundSpeed
from domain.use_cases.initiate_refund import InitiateRefund, validate

# The bounds clients are told about (idempotencyKey: 1..255 characters, per the contract).
NOTES_MAX = 1000
METADATA_MAX_KEYS = 20
METADATA_MAX_BYTES = 4096
IDEMPOTENCY_KEY_MAX = 255

MERCHANT = UUID("00000000-0000-4000-8000-000000000001")
TRANSACTION = UUID("00000000-0000-4000-8000-000000000002")


def a_command(**changes: object) -> InitiateRefund:
    command = InitiateRefund(
        merchant_id=MERCHANT,
        transaction_id=TRANSACTION,
        amount=5_000,
        reason=RefundReason.CUSTOMER_REQUEST,
        speed=RefundSpeed.NORMAL,
        notes="Customer returned the shoes.",
        metadata={"ticket": "T-1", "items": [1, 2]},
        idempotency_key="key-1",
        queue_if_insufficient_balance=False,
    )
    return dataclasses.replace(command, **changes)  # type: ignore[arg-type]


# One different value for every field that defines the request.
DIFFERENT = {
    "merchant_id": UUID("00000000-0000-4000-8000-000000000003"),
    "transaction_id": UUID("00000000-0000-4000-8000-000000000004"),
    "amount": 5_001,
    "reason": RefundReason.DUPLICATE_PAYMENT,
    "speed": RefundSpeed.INSTANT,
    "notes": "Customer returned the shirt.",
    "metadata": {"ticket": "T-2", "items": [1, 2]},
    "queue_if_insufficient_balance": True,
}


def test_equal_commands_have_equal_fingerprints() -> None:
    assert a_command().fingerprint() == a_command().fingerprint()


def test_the_order_of_metadata_keys_does_not_change_the_fingerprint() -> None:
    first = a_command(metadata={"a": 1, "b": {"x": 1, "y": 2}})
    second = a_command(metadata={"b": {"y": 2, "x": 1}, "a": 1})
    assert first.fingerprint() == second.fingerprint()


def test_the_fingerprint_does_not_depend_on_the_idempotency_key() -> None:
    assert (
        a_command(idempotency_key="a").fingerprint()
        == a_command(idempotency_key=None).fingerprint()
    )


def test_the_fingerprint_does_not_depend_on_which_key_of_the_merchant_asked() -> None:
    assert (
        a_command(initiated_by_key_id=uuid4()).fingerprint()
        == a_command(initiated_by_key_id=None).fingerprint()
    )


def test_every_field_but_the_idempotency_and_api_keys_is_given_a_different_value_below() -> None:
    fields = {field.name for field in dataclasses.fields(InitiateRefund)}
    assert set(DIFFERENT) == fields - {"idempotency_key", "initiated_by_key_id"}


@pytest.mark.parametrize(("field", "value"), list(DIFFERENT.items()), ids=list(DIFFERENT))
def test_the_fingerprint_changes_when_any_field_of_the_request_changes(
    field: str, value: object
) -> None:
    assert a_command(**{field: value}).fingerprint() != a_command().fingerprint()


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", None), ("notes", None), ("metadata", None), ("metadata", {})],
)
def test_an_omitted_field_fingerprints_differently_from_a_given_one(
    field: str, value: object
) -> None:
    assert a_command(**{field: value}).fingerprint() != a_command().fingerprint()


def test_metadata_values_of_different_json_types_fingerprint_differently() -> None:
    fingerprints = {
        a_command(metadata={"n": value}).fingerprint() for value in (1, "1", True, 1.5, None)
    }
    assert len(fingerprints) == 5


def test_a_fingerprint_is_a_sha256_hex_digest() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", a_command().fingerprint())


def test_a_well_formed_command_passes_validation() -> None:
    validate(a_command())


def test_a_command_with_every_optional_field_omitted_passes_validation() -> None:
    validate(a_command(amount=None, notes=None, metadata=None, idempotency_key=None))


@pytest.mark.parametrize("amount", [0, -1, 10.5, True, 2**53])
def test_an_amount_that_is_not_a_positive_whole_number_in_range_is_refused(amount: object) -> None:
    with pytest.raises(AmountInvalid):
        validate(a_command(amount=amount))


def test_notes_of_the_longest_allowed_length_pass() -> None:
    validate(a_command(notes="n" * NOTES_MAX))


def test_notes_one_character_too_long_are_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        validate(a_command(notes="n" * (NOTES_MAX + 1)))
    assert refused.value.field == ("input", "notes")


def test_metadata_with_the_most_keys_allowed_passes() -> None:
    validate(a_command(metadata={f"k{n}": n for n in range(METADATA_MAX_KEYS)}))


def test_metadata_with_one_key_too_many_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        validate(a_command(metadata={f"k{n}": n for n in range(METADATA_MAX_KEYS + 1)}))
    assert refused.value.field == ("input", "metadata")


def test_metadata_of_exactly_the_largest_size_passes() -> None:
    # given {"k":"xxx..."}: 8 bytes of JSON around the value
    metadata = {"k": "x" * (METADATA_MAX_BYTES - 8)}
    # when / then
    validate(a_command(metadata=metadata))


def test_metadata_one_byte_too_large_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        validate(a_command(metadata={"k": "x" * (METADATA_MAX_BYTES - 7)}))
    assert refused.value.field == ("input", "metadata")
    assert str(METADATA_MAX_BYTES + 1) in refused.value.message


@pytest.mark.parametrize("metadata", [[1, 2], "text", 3])
def test_metadata_that_is_not_a_json_object_is_refused(metadata: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate(a_command(metadata=metadata))
    assert refused.value.field == ("input", "metadata")


@pytest.mark.parametrize("key", ["k", "k" * IDEMPOTENCY_KEY_MAX])
def test_an_idempotency_key_of_1_to_255_characters_passes(key: str) -> None:
    validate(a_command(idempotency_key=key))


@pytest.mark.parametrize("key", ["", "k" * (IDEMPOTENCY_KEY_MAX + 1)])
def test_an_empty_or_overlong_idempotency_key_is_refused(key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate(a_command(idempotency_key=key))
    assert refused.value.field == ("input", "idempotencyKey")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_metadata_with_nan_or_infinity_is_invalid_input(value: float) -> None:
    cmd = InitiateRefund(UUID(int=1), UUID(int=2), None, RefundReason.OTHER, metadata={"x": value})
    with pytest.raises(InvalidInput) as caught:
        validate(cmd)
    assert caught.value.field == ("input", "metadata")


def test_metadata_size_counts_utf8_bytes_not_escapes() -> None:
    # 1,500 × "é" is 3,000 bytes of UTF-8 (it would be 9,000 as \u00e9 escapes)
    cmd = InitiateRefund(
        UUID(int=1), UUID(int=2), None, RefundReason.OTHER, metadata={"note": "é" * 1500}
    )
    validate(cmd)
