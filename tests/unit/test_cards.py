import pytest

from domain.cards import luhn_valid, mask_card_numbers


@pytest.mark.parametrize(
    "number",
    ["4242424242424242", "4111111111111111", "5555555555554444", "378282246310005", "79927398713"],
)
def test_known_numbers_pass_the_luhn_check(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4242424242424241", "1234567812345678", "79927398710"])
def test_a_wrong_check_digit_fails_it(number: str) -> None:
    assert not luhn_valid(number)


@pytest.mark.parametrize(
    ("source", "stored"),
    [
        ("4242424242424242", "XXXXXXXXXXXX4242"),
        ("4242 4242 4242 4242", "XXXX XXXX XXXX 4242"),
        ("4242-4242-4242-4242", "XXXX-XXXX-XXXX-4242"),
        ("card 4242424242424242 exp 12/28", "card XXXXXXXXXXXX4242 exp 12/28"),
        ("frozen-4111111111111111", "frozen-XXXXXXXXXXXX1111"),
        ("Amex 3782 822463 10005", "Amex XXXX XXXXXX X0005"),
        # 12 and 19 digits, the shortest and longest card numbers
        ("card 123456789015", "card XXXXXXXX9015"),
        ("card 4000000000000000006", "card XXXXXXXXXXXXXXX0006"),
        # a card number followed by another digit group: the card number alone is masked
        ("4242 4242 4242 4242 12", "XXXX XXXX XXXX 4242 12"),
        # two card numbers in one text
        ("4242424242424242 or 5555555555554444", "XXXXXXXXXXXX4242 or XXXXXXXXXXXX4444"),
    ],
)
def test_every_luhn_valid_run_of_12_to_19_digits_keeps_only_its_last_four(
    source: str, stored: str
) -> None:
    assert mask_card_numbers(source) == stored


@pytest.mark.parametrize(
    "source",
    [
        "customer42@okaxis",
        "card •••• 4242",
        "HDFC a/c ••••1001",
        "4242424242424241",  # not Luhn-valid
        "42424242424",  # 11 digits
        "42424242424242424242",  # 20 digits: not a card number
        "UTR 424242424242424242424",  # a longer reference
        "XXXXXXXXXXXX4242",  # already masked
    ],
)
def test_text_without_a_card_number_is_kept_as_it_is(source: str) -> None:
    assert mask_card_numbers(source) == source


def test_masking_twice_changes_nothing_more() -> None:
    once = mask_card_numbers("bounce 4242 4242 4242 4242")
    assert mask_card_numbers(once) == once == "bounce XXXX XXXX XXXX 4242"
