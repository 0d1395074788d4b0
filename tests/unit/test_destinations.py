import re

import pytest

from domain.destinations import bank_account, original_source, upi_vpa
from domain.errors import InvalidDestination
from domain.model import DestinationKind

ACCOUNT = ("input", "bankAccount")
HOLDER_NAME_MAX = 140


def test_a_valid_bank_account_is_kept_in_full_for_the_rails_and_shown_masked() -> None:
    # when
    destination = bank_account("123456789012", "HDFC0001234", "Asha Rao")
    # then
    assert destination.kind is DestinationKind.BANK_ACCOUNT
    assert destination.display == "HDFC0001234 ••••9012"
    assert destination.details == {
        "accountNumber": "123456789012",
        "ifsc": "HDFC0001234",
        "holderName": "Asha Rao",
    }


@pytest.mark.parametrize("number", ["123456789", "123456789012345678"])
def test_an_account_number_of_9_to_18_digits_is_accepted(number: str) -> None:
    assert bank_account(number, "HDFC0001234", "Asha Rao").details["accountNumber"] == number


@pytest.mark.parametrize(
    "number",
    ["12345678", "1234567890123456789", "12345678A", "1234 5678 9012", "", "١٢٣٤٥٦٧٨٩"],
)
def test_an_account_number_that_is_not_9_to_18_digits_is_refused(number: str) -> None:
    with pytest.raises(InvalidDestination) as refused:
        bank_account(number, "HDFC0001234", "Asha Rao")
    assert refused.value.field == (*ACCOUNT, "accountNumber")
    assert refused.value.code == "INVALID_DESTINATION"


def test_spaces_around_an_account_number_are_ignored() -> None:
    destination = bank_account("  123456789012\n", "HDFC0001234", "Asha Rao")
    assert destination.details["accountNumber"] == "123456789012"


@pytest.mark.parametrize("number", ["123456789", "987654321098765432"])
def test_a_masked_account_shows_only_its_last_four_digits(number: str) -> None:
    display = bank_account(number, "HDFC0001234", "Asha Rao").display
    ifsc, masked = display.split(" ")
    assert ifsc == "HDFC0001234"
    assert re.sub(r"\D", "", masked) == number[-4:]
    assert number[:-4] not in display


@pytest.mark.parametrize("ifsc", ["HDFC0001234", "SBIN0ABC12Z", "ICIC0000001"])
def test_an_ifsc_of_four_letters_a_zero_and_six_letters_or_digits_is_accepted(ifsc: str) -> None:
    assert bank_account("123456789012", ifsc, "Asha Rao").details["ifsc"] == ifsc


def test_a_lower_case_ifsc_is_upper_cased() -> None:
    destination = bank_account("123456789012", " hdfc0001234 ", "Asha Rao")
    assert destination.details["ifsc"] == "HDFC0001234"
    assert destination.display.startswith("HDFC0001234 ")


@pytest.mark.parametrize(
    "ifsc",
    [
        "HDFC1001234",  # fifth character is not a zero
        "HDFCO001234",  # a letter O, not a zero
        "HDF10001234",  # a digit among the first four
        "HDFC000123",  # too short
        "HDFC00012345",  # too long
        "HDFC0-01234",
        "",
    ],
)
def test_an_ifsc_of_any_other_shape_is_refused(ifsc: str) -> None:
    with pytest.raises(InvalidDestination) as refused:
        bank_account("123456789012", ifsc, "Asha Rao")
    assert refused.value.field == (*ACCOUNT, "ifsc")


def test_a_holders_name_has_its_spacing_tidied() -> None:
    destination = bank_account("123456789012", "HDFC0001234", "  Asha \t  Rao ")
    assert destination.details["holderName"] == "Asha Rao"


def test_a_holders_name_of_the_longest_allowed_length_is_accepted() -> None:
    name = "A" * HOLDER_NAME_MAX
    assert bank_account("123456789012", "HDFC0001234", name).details["holderName"] == name


@pytest.mark.parametrize("name", ["", "   \t ", "A" * (HOLDER_NAME_MAX + 1)])
def test_an_empty_or_overlong_holders_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidDestination) as refused:
        bank_account("123456789012", "HDFC0001234", name)
    assert refused.value.field == (*ACCOUNT, "holderName")


def test_the_holders_name_is_not_shown() -> None:
    assert "Asha" not in bank_account("123456789012", "HDFC0001234", "Asha Rao").display


def test_a_valid_vpa_is_kept_in_full_and_shown_with_two_characters_and_a_fixed_mask() -> None:
    # when
    destination = upi_vpa("asha.rao-99_x@okaxis")
    # then
    assert destination.kind is DestinationKind.UPI
    assert destination.details == {"vpa": "asha.rao-99_x@okaxis"}
    assert destination.display == "as••••@okaxis"


def test_a_short_vpa_handle_shows_one_character_and_a_fixed_mask() -> None:
    assert upi_vpa("abc@ybl").display == "a••••@ybl"
    assert upi_vpa("ab@ybl").display == "a••••@ybl"


def test_spaces_around_a_vpa_are_ignored() -> None:
    assert upi_vpa("  asha@okaxis \n").details == {"vpa": "asha@okaxis"}


@pytest.mark.parametrize(
    "vpa",
    [
        "asha",  # no provider
        "asha@",  # empty provider
        "a@okaxis",  # handle too short
        "asha@9bank",  # provider starts with a digit
        "asha@b",  # provider too short
        "as ha@okaxis",
        "asha@ok@axis",
        "asha@ok.axis",
        "@okaxis",
        "",
    ],
)
def test_a_vpa_that_is_not_name_at_provider_is_refused(vpa: str) -> None:
    with pytest.raises(InvalidDestination) as refused:
        upi_vpa(vpa)
    assert refused.value.field == ("input", "upiVpa")


def test_the_original_source_is_shown_as_the_platform_recorded_it() -> None:
    destination = original_source("ab••@okaxis")
    assert destination.kind is DestinationKind.ORIGINAL_SOURCE
    assert destination.display == "ab••@okaxis"
    assert destination.details == {}


def test_a_line_break_inside_a_vpa_is_refused_while_surrounding_space_is_trimmed() -> None:
    with pytest.raises(InvalidDestination):
        upi_vpa("name@bank\nx")
    assert bank_account("123456789", "HDFC0001234\n", "A B").details["ifsc"] == "HDFC0001234"
