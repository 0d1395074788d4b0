"""The merchant behind a plain HTTP request (the CSV endpoints), found and refused exactly as
the GraphQL endpoint finds and refuses one (api/graphql_view.py): the same rate limits, the
same 401, 429 and 503 answers."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.auth import MerchantPrincipal
from api.context import Services
from api.rate_limits import RateLimits, client_address

log = logging.getLogger("refunds.api")

UNAUTHENTICATED_MESSAGE = "Send a merchant's API key: Authorization: Bearer <key>."


def refusal(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "code": code}]}, status_code=status)


async def merchant_of(
    request: Request, services: Services, limits: RateLimits, *, writes: bool
) -> MerchantPrincipal | Response:
    """The calling merchant, or the response that refuses the request. `writes`: a READ_ONLY
    key is refused with 403, as it is for a mutation."""
    address = client_address(request.scope)
    if limited := await limits.refuse_address(address):
        return limited
    authorization = request.headers.get("authorization")
    try:
        principal = await services.authenticator.principal(authorization)
    except Exception:  # the key store is unreachable: say so, never how
        log.exception("authentication lookup failed")
        return refusal(503, "SERVICE_UNAVAILABLE", "The service is unavailable; retry shortly.")
    if principal is None:
        await limits.failed_authentication(address)
        return refusal(401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE)
    if limited := await limits.refuse_key(authorization):
        return limited
    if not isinstance(principal, MerchantPrincipal):
        return refusal(403, "FORBIDDEN", "This endpoint is for a merchant's API key.")
    if writes and principal.read_only:
        return refusal(403, "FORBIDDEN", "A READ_ONLY key cannot submit refunds.")
    return principal
