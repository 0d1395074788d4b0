"""Refund batches over plain HTTP: `POST /refund-batches` (a CSV body, rows read as they
arrive) and `GET /refund-batches/{id}/results.csv` (streamed a chunk of items at a time)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from api import ids
from api.batches.csv_rows import RESULT_COLUMNS, CsvError, read_batch, result_rows
from api.context import Services
from api.http_auth import merchant_of, refusal
from api.rate_limits import RateLimits
from domain.batches import SubmitRefundBatch
from domain.errors import DomainError
from domain.use_cases.refund_batches import shape_errors, submit_refund_batch


def _faults(errors: list[CsvError]) -> JSONResponse:
    ordered = sorted(errors, key=lambda e: (e.row, e.column or ""))
    return JSONResponse({"errors": [e.as_json() for e in ordered]}, status_code=400)


class RefundBatchCsv:
    def __init__(self, services: Services, limits: RateLimits) -> None:
        self.services = services
        self.limits = limits

    async def submit(self, request: Request) -> Response:
        principal = await merchant_of(request, self.services, self.limits, writes=True)
        if isinstance(principal, Response):
            return principal
        content_type = request.headers.get("content-type", "").partition(";")[0].strip()
        if content_type != "text/csv":
            return refusal(
                415, "UNSUPPORTED_MEDIA_TYPE", "Send the batch as Content-Type: text/csv."
            )
        key = request.headers.get("idempotency-key")
        if not key:
            return _faults([CsvError(0, None, "Send an Idempotency-Key header.")])
        merchant = await self.services.reads.merchant(principal.merchant_id)
        assert merchant is not None  # the key was just resolved to this merchant
        reader = await read_batch(request.stream(), merchant.currency)
        cmd = SubmitRefundBatch(
            merchant_id=principal.merchant_id,
            items=tuple(reader.items),
            idempotency_key=key,
            initiated_by_key_id=principal.key_id,
        )
        # every fault at once: the items' shape too, though some rows were unreadable
        if reader.header_ok:
            reader.shape_errors(shape_errors(cmd), items_only=bool(reader.errors))
        if reader.errors:
            return _faults(reader.errors)
        try:
            batch = await submit_refund_batch(self.services.unit_of_work(), cmd)
        except DomainError as error:  # the key names another batch
            return refusal(409, error.code.value, error.message)
        return JSONResponse({"batchId": ids.encode(ids.REFUND_BATCH, batch.id)}, status_code=201)

    async def results(self, request: Request) -> Response:
        principal = await merchant_of(request, self.services, self.limits, writes=False)
        if isinstance(principal, Response):
            return principal
        batch_id = ids.decode_uuid(ids.REFUND_BATCH, request.path_params["batch_id"])
        reads = self.services.batches
        batch = await reads.batch(principal.merchant_id, batch_id) if batch_id else None
        merchant = await self.services.reads.merchant(principal.merchant_id)
        if batch is None or merchant is None:
            return refusal(404, "NOT_FOUND", "No refund batch of yours has that id.")
        currency = merchant.currency

        async def lines() -> AsyncIterator[str]:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(RESULT_COLUMNS)
            async for chunk in reads.all_items(batch.merchant_id, batch.id):
                writer.writerows(result_rows(chunk, currency))
                yield out.getvalue()
                out.seek(0)
                out.truncate()
            if out.tell():
                yield out.getvalue()

        filename = f"{ids.encode(ids.REFUND_BATCH, batch.id)}-results.csv"
        return StreamingResponse(
            lines(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
