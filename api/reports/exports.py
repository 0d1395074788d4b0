"""`GET /exports/refunds.csv` and `GET /exports/ledger.csv`: the merchant's refunds created, or
ledger entries written, in [from, to), newest first, as CSV written by PostgreSQL's COPY and
streamed (db/reports.py): any size at constant memory."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.context import Services
from api.http_auth import merchant_of, refusal
from api.rate_limits import RateLimits
from api.scalars import NotAnInstant, parse_instant
from db.reports import ledger_export_query, refunds_export_query
from domain.model import RefundStatus
from domain.money import minor_unit_digits


class BadQuery(Exception):
    pass


def _window(request: Request) -> tuple[datetime, datetime]:
    try:
        start = parse_instant(request.query_params["from"])
        end = parse_instant(request.query_params["to"])
    except KeyError:
        raise BadQuery("Give from and to, ISO 8601 instants with an offset.") from None
    except NotAnInstant as error:
        raise BadQuery(f"from and to must be instants: {error}.") from None
    if start >= end:
        raise BadQuery("from must be before to.")
    return start, end


def _statuses(request: Request) -> list[str]:
    given = [s for value in request.query_params.getlist("status") for s in value.split(",")]
    try:
        return [RefundStatus(s.strip().upper()).value for s in given if s.strip()]
    except ValueError:
        allowed = ", ".join(s.value for s in RefundStatus)
        raise BadQuery(f"status must be among {allowed}.") from None


class Exports:
    def __init__(self, services: Services, limits: RateLimits) -> None:
        self.services = services
        self.limits = limits

    async def refunds(self, request: Request) -> Response:
        return await self._export(request, "refunds")

    async def ledger(self, request: Request) -> Response:
        return await self._export(request, "ledger")

    async def _export(self, request: Request, what: str) -> Response:
        principal = await merchant_of(request, self.services, self.limits, writes=False)
        if isinstance(principal, Response):
            return principal
        try:
            start, end = _window(request)
            statuses = _statuses(request) if what == "refunds" else []
        except BadQuery as error:
            return refusal(400, "BAD_REQUEST", str(error))
        merchant = await self.services.reads.merchant(principal.merchant_id)
        assert merchant is not None  # the key was just resolved to this merchant
        digits = minor_unit_digits(merchant.currency)
        args: list[object] = [principal.merchant_id, start, end]
        if what == "ledger":
            query = ledger_export_query(digits)
        else:
            query = refunds_export_query(digits, with_statuses=bool(statuses))
            if statuses:
                args.append(statuses)
        return StreamingResponse(
            self.services.reports.export(query, *args),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{what}.csv"'},
        )
