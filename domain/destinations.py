"""Alternate refund destinations supplied by the merchant when the customer's account is frozen
or inactive: validated, and masked for display (only the last four digits of an account)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import InvalidDestination
from domain.model import DestinationKind

_ACCOUNT_NUMBER = re.compile(r"[0-9]{9,18}")
_IFSC = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}")
# Patterns are used with fullmatch (a `$` would accept a trailing newline).
# NPCI handles: a name of 2–256 of [a-zA-Z0-9.-_], "@", a provider of letters.
_UPI_VPA = re.compile(r"[a-zA-Z0-9.\-_]{2,256}@[a-zA-Z][a-zA-Z0-9]{1,63}")
HOLDER_NAME_MAX = 140


@dataclass(frozen=True, slots=True)
class Destination:
    kind: DestinationKind
    display: str
    details: dict[str, str]


def bank_account(account_number: str, ifsc: str, holder_name: str) -> Destination:
    field = ("input", "bankAccount")
    number = account_number.strip()
    code = ifsc.strip().upper()
    name = " ".join(holder_name.split())
    if not _ACCOUNT_NUMBER.fullmatch(number):
        raise InvalidDestination(
            "An account number is 9 to 18 digits.", field=(*field, "accountNumber")
        )
    if not _IFSC.fullmatch(code):
        raise InvalidDestination(
            "An IFSC is 4 letters, a 0, then 6 letters or digits (e.g. HDFC0001234).",
            field=(*field, "ifsc"),
        )
    if not name or len(name) > HOLDER_NAME_MAX:
        raise InvalidDestination(
            f"The holder's name is 1 to {HOLDER_NAME_MAX} characters.",
            field=(*field, "holderName"),
        )
    display = f"{code} ••••{number[-4:]}"
    details = {"accountNumber": number, "ifsc": code, "holderName": name}
    return Destination(DestinationKind.BANK_ACCOUNT, display, details)


def upi_vpa(vpa: str) -> Destination:
    value = vpa.strip()
    if not _UPI_VPA.fullmatch(value):
        raise InvalidDestination("A UPI VPA looks like name@bank.", field=("input", "upiVpa"))
    handle, provider = value.split("@", 1)
    # A fixed mask: the number of bullets must not give away the handle's length.
    shown = handle[: 2 if len(handle) > 4 else 1] + "••••"
    return Destination(DestinationKind.UPI, f"{shown}@{provider}", {"vpa": value})


def original_source(source: str) -> Destination:
    """The transaction's own source; the platform records it already masked."""
    return Destination(DestinationKind.ORIGINAL_SOURCE, source, {})
