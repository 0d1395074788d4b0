"""Refund batches as CSV: the rows of `POST /refund-batches` read into batch items, and a
batch's items written back as its results. Amounts are in major units (`123.45` rupees),
read exactly (domain/money.py), never as a float.

Rows are counted from 1 after the header; every fault is reported with its row and column,
all of them at once, and then nothing is created."""

from __future__ import annotations

import codecs
import csv
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from api import ids
from domain.batches import BatchItemInput, RefundBatchItem
from domain.errors import DomainError
from domain.model import RefundReason, RefundSpeed
from domain.money import major_units, minor_units

PAYMENT_COLUMNS = ("transaction_id", "order_id")
COLUMNS = (*PAYMENT_COLUMNS, "amount", "reason", "speed", "notes", "idempotency_key")
RESULT_COLUMNS = ("row", *COLUMNS, "status", "refund_id", "error_code", "error_message")
# The input's field names in a shape error (domain/use_cases/refund_batches.py) -> columns.
FIELD_COLUMNS = {
    "transactionId": "transaction_id",
    "orderId": "order_id",
    "amount": "amount",
    "notes": "notes",
    "idempotencyKey": "idempotency_key",
}
Choice = TypeVar("Choice", RefundReason, RefundSpeed)


@dataclass(frozen=True, slots=True)
class CsvError:
    row: int  # 0: the header
    column: str | None
    message: str

    def as_json(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


class CsvRefused(Exception):
    """Raised when the CSV has faults; `errors` lists every one."""

    def __init__(self, errors: list[CsvError]) -> None:
        super().__init__(f"{len(errors)} faults")
        self.errors = errors


async def records_of(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[str]]:
    """The body's CSV records as they arrive, a chunk's complete ones at a time: decoded as
    UTF-8 (a byte-order mark dropped), split at line ends that are not inside quotes (a record
    ends where its count of quote characters is even: an escaped quote is two)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    record = ""
    final = False
    chunk_iterator = aiter(chunks)
    while not final:
        try:
            text = decoder.decode(await anext(chunk_iterator))
        except StopAsyncIteration:
            text, final = decoder.decode(b"", final=True), True
        complete = []
        *lines, tail = text.split("\n")
        for line in lines:
            record += line + "\n"
            if record.count('"') % 2 == 0:
                complete.append(record)
                record = ""
        record += tail
        if final and record:
            complete.append(record)
        if complete:
            yield complete


class BatchCsvReader:
    """Reads rows one at a time into items, collecting the faults of all of them."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.errors: list[CsvError] = []
        self.items: list[BatchItemInput] = []
        self._rows: list[int] = []  # the row of each item
        self.header_ok = False

    def header(self, names: list[str]) -> None:
        unknown = [n for n in names if n not in COLUMNS]
        for name in unknown:
            self.errors.append(CsvError(0, name, f"Unknown column; the columns are {COLUMNS}."))
        if not any(n in names for n in PAYMENT_COLUMNS):
            self.errors.append(CsvError(0, None, "The header needs transaction_id or order_id."))
        if "reason" not in names:
            self.errors.append(CsvError(0, "reason", "The header needs a reason column."))
        if len(set(names)) != len(names):
            self.errors.append(CsvError(0, None, "A column is named twice in the header."))
        self.header_ok = not self.errors

    def row(self, number: int, values: dict[str, str]) -> None:
        faults = [
            CsvError(number, column, "A NUL character cannot be stored.")
            for column, value in values.items()
            if "\x00" in value
        ]
        if faults:
            self.errors += faults
            return

        def text(column: str) -> str | None:
            found = (values.get(column) or "").strip()
            return found or None

        amount = None
        if (given := text("amount")) is not None:
            try:
                amount = minor_units(given, self.currency)
            except ValueError as error:
                faults.append(CsvError(number, "amount", str(error)))
        reason = self._choice(number, "reason", text("reason"), RefundReason, None, faults)
        speed = self._choice(
            number, "speed", text("speed"), RefundSpeed, RefundSpeed.NORMAL, faults
        )
        self.errors += faults
        if faults or reason is None or speed is None:
            return
        transaction = text("transaction_id")
        self.items.append(
            BatchItemInput(
                transaction=transaction,
                transaction_id=ids.decode_uuid(ids.TRANSACTION, transaction)
                if transaction
                else None,
                order_id=text("order_id"),
                amount=amount,
                reason=reason,
                speed=speed,
                notes=values.get("notes") or None,
                idempotency_key=text("idempotency_key"),
            )
        )
        self._rows.append(number)

    def _choice(
        self,
        number: int,
        column: str,
        given: str | None,
        kind: type[Choice],
        default: Choice | None,
        faults: list[CsvError],
    ) -> Choice | None:
        if given is None:
            if default is None:
                faults.append(CsvError(number, column, f"{column} is required."))
            return default
        try:
            return kind(given.upper())
        except ValueError:
            allowed = ", ".join(k.value for k in kind)
            faults.append(CsvError(number, column, f"{column} must be one of {allowed}."))
            return None

    def shape_errors(self, errors: Iterable[DomainError], *, items_only: bool) -> None:
        """The batch's shape errors, at the row and column they name. `items_only`: leave out
        those about the batch as a whole (its count of items is off when rows were refused)."""
        for error in errors:
            field = error.field or ()
            if len(field) >= 3 and field[1] == "items":
                row = self._rows[int(field[2])]
                column = FIELD_COLUMNS.get(field[3]) if len(field) > 3 else None
                self.errors.append(CsvError(row, column, error.message))
            elif not items_only:
                self.errors.append(CsvError(0, None, error.message))


def result_rows(items: Iterable[RefundBatchItem], currency: str) -> Iterator[list[str]]:
    for item in items:
        given = item.item
        refund = ids.encode(ids.REFUND, item.refund_id) if item.refund_id else ""
        yield [
            str(item.index + 1),
            given.transaction or "",
            given.order_id or "",
            major_units(given.amount, currency) if given.amount is not None else "",
            given.reason.value,
            given.speed.value,
            given.notes or "",
            item.idempotency_key,
            item.status.value,
            refund,
            item.error.code if item.error else "",
            item.error.message if item.error else "",
        ]


async def read_batch(chunks: AsyncIterable[bytes], currency: str) -> BatchCsvReader:
    """The body's rows as items, and every fault of the header and rows."""
    reader = BatchCsvReader(currency)
    header: list[str] | None = None
    number = 0
    try:
        async for records in records_of(chunks):
            for values in csv.reader(records):
                if header is None:
                    header = [name.strip().lower() for name in values]
                    reader.header(header)
                    continue
                if not reader.header_ok:
                    break  # rows cannot be read against a faulty header
                if not any(v.strip() for v in values):
                    continue  # a blank line
                number += 1
                if len(values) != len(header):
                    fault = f"{len(values)} fields; the header has {len(header)}."
                    reader.errors.append(CsvError(number, None, fault))
                    continue
                reader.row(number, dict(zip(header, values, strict=True)))
    except csv.Error as error:
        reader.errors.append(CsvError(number + 1, None, f"Not CSV: {error}."))
    except UnicodeDecodeError:
        reader.errors.append(CsvError(number + 1, None, "The body is not UTF-8 text."))
    if header is None and not reader.errors:
        reader.errors.append(CsvError(0, None, "The body is empty: send a header and rows."))
    return reader
