"""Card numbers never stored: a payment's `source` is masked before it is recorded.

A card number (PAN) is 12 to 19 digits whose Luhn checksum holds, often written in groups
separated by spaces or dashes. Every such run in a text keeps its last four digits and its
separators; the rest of the text is kept as it is (the sandbox rails read markers in it)."""

from __future__ import annotations

import re

PAN_MIN_DIGITS = 12
PAN_MAX_DIGITS = 19
SHOWN_DIGITS = 4
MASK = "X"

# Digit groups joined by single spaces or dashes, not touching another digit.
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]+(?:[ -][0-9]+)*(?![0-9])")
_GROUP = re.compile(r"[0-9]+")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits: every second digit from the right doubled."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def mask_card_numbers(text: str) -> str:
    """`text` with every Luhn-valid run of 12 to 19 digits masked but for its last four."""
    return _DIGIT_RUN.sub(lambda run: _mask_run(run.group()), text)


def _mask_run(run: str) -> str:
    """Mask the card numbers in one run of digit groups, each a whole number of groups: the
    longest one starting at the leftmost group that begins one, then on after it."""
    groups = [(g.start(), g.end()) for g in _GROUP.finditer(run)]
    masked = list(run)
    first = 0
    while first < len(groups):
        last = _last_group_of_card_number(run, groups, first)
        if last is None:
            first += 1
            continue
        span_start, span_end = groups[first][0], groups[last][1]
        digit_positions = [i for i in range(span_start, span_end) if run[i].isdigit()]
        for i in digit_positions[:-SHOWN_DIGITS]:
            masked[i] = MASK
        first = last + 1
    return "".join(masked)


def _last_group_of_card_number(run: str, groups: list[tuple[int, int]], first: int) -> int | None:
    """The last group of the longest card number starting at group `first`, if any."""
    digits = ""
    found = None
    for index in range(first, len(groups)):
        start, end = groups[index]
        digits += run[start:end]
        if len(digits) > PAN_MAX_DIGITS:
            break
        if len(digits) >= PAN_MIN_DIGITS and luhn_valid(digits):
            found = index
    return found
