from pathlib import Path

import pytest
from graphql import GraphQLEnumType, build_schema

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

# The UserErrorCode enum of the API contract, as clients read it
SCHEMA = Path(__file__).resolve().parents[2] / "schema.graphql"


def _contract_codes() -> list[str]:
    codes = build_schema(SCHEMA.read_text()).type_map["UserErrorCode"]
    assert isinstance(codes, GraphQLEnumType)
    return list(codes.values)


CONTRACT_CODES = set(_contract_codes())


@pytest.mark.parametrize("error", DOMAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_every_domain_error_sends_a_code_the_contract_lists(error: type[DomainError]) -> None:
    assert error.code in CONTRACT_CODES


@pytest.mark.parametrize("error", DOMAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_every_domain_error_says_when_it_is_raised(error: type[DomainError]) -> None:
    assert (error.__doc__ or "").startswith("Raised when ")


def test_every_code_but_invalid_input_belongs_to_exactly_one_error() -> None:
    codes = [cls.code for cls in DOMAIN_ERRORS if cls not in (DomainError, InvalidInput)]
    assert len(codes) == len(set(codes))
    assert set(codes) | {"INVALID_INPUT"} == CONTRACT_CODES


def test_an_error_points_at_its_usual_field_when_none_is_given() -> None:
    error = RefundNotFound("No refund of yours has that id.")
    assert error.field == ("input", "refundId")
    assert error.message == str(error) == "No refund of yours has that id."


def test_an_error_points_at_the_field_it_is_given_instead_of_its_usual_one() -> None:
    error = AmountInvalid("too much", field=["input", "lines", "0", "amount"])
    assert error.field == ("input", "lines", "0", "amount")


@pytest.mark.parametrize("error", [DomainError, InvalidInput, InvalidDestination])
def test_a_general_error_points_at_no_field_unless_told(error: type[DomainError]) -> None:
    assert error("bad").field is None


def test_an_illegal_transition_is_a_fault_not_a_domain_error() -> None:
    assert not issubclass(IllegalTransition, DomainError)


def test_the_domain_codes_are_the_contract_codes_in_its_order() -> None:
    assert [code.value for code in errors.ErrorCode] == _contract_codes()
