"""How failures reach clients.

Expected failures (the domain's DomainError) become `userErrors` in a mutation's payload.
Auth, limits and bad requests become top-level `errors` with an `extensions.code`. Anything else
is a fault: logged here with its traceback, and masked for the client. A fault that is the
database being unreachable or busy (db.errors.is_transient) is masked too, but says so with
`SERVICE_UNAVAILABLE`, so that clients know to retry.

Logs are for operators: `log_errors` writes a fault at ERROR with its traceback, an unreachable
database as one WARNING line, and whatever the client got wrong as one INFO line per request
(operation name and codes), never a traceback."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors

from db.errors import is_transient
from domain.errors import DomainError, ErrorCode

log = logging.getLogger("refunds.api")

UNAVAILABLE_MESSAGE = (
    "The service could not reach its database, or waited too long for it; retry shortly. "
    "A retried initiateRefund with the same idempotencyKey never makes a second refund."
)


# The domain's codes are the API's: one list (domain/errors.py).
strawberry.enum(ErrorCode, name="UserErrorCode")


@strawberry.type(description="An expected failure: nothing was changed.")
class UserError:
    code: ErrorCode
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "amount"].'
    )
    message: str

    @classmethod
    def from_domain(cls, error: DomainError) -> UserError:
        return cls(
            code=error.code,
            field=list(error.field) if error.field else None,
            message=error.message,
        )


class ClientError(GraphQLError):
    """A top-level error meant for the client, with a stable `extensions.code`."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, extensions={"code": self.code}, **kwargs)


class Unauthenticated(ClientError):
    code = "UNAUTHENTICATED"


class Forbidden(ClientError):
    code = "FORBIDDEN"


class BadUserInput(ClientError):
    code = "BAD_USER_INPUT"


def fault_in(error: GraphQLError) -> Exception | None:
    """The unexpected exception behind the error (to be masked), or None: the client's doing."""
    original = error.original_error
    return None if isinstance(original, GraphQLError) else original


def is_fault(error: GraphQLError) -> bool:
    return fault_in(error) is not None


def code_of(error: GraphQLError) -> str:
    """The `extensions.code` a client sees for this error."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if (fault := fault_in(error)) is not None:
        return "SERVICE_UNAVAILABLE" if is_transient(fault) else "INTERNAL_SERVER_ERROR"
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable "):  # graphql-core's coercion of a variable
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def log_errors(errors: list[GraphQLError], operation_name: str | None) -> None:
    """The one place where errors are logged (called before they are masked)."""
    operation = (operation_name or "anonymous")[:100]
    client_codes: set[str] = set()
    for error in errors:
        fault = fault_in(error)
        if fault is None:
            client_codes.add(code_of(error))
        elif is_transient(fault):
            # an outage, not a bug: one line per request, not a traceback each
            log.warning("database unavailable in %s at %s: %r", operation, error.path, fault)
        else:
            log.error("unexpected error in %s at %s", operation, error.path, exc_info=fault)
    if client_codes:
        log.info("client error in %s: %s", operation, ", ".join(sorted(client_codes)))


class MaskFaults(MaskErrors):
    """Masks unexpected exceptions only (`log_errors` has logged them), and gives every error a
    code: validation and parse errors keep their message."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_fault, error_message="Internal server error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if code_of(error) == "SERVICE_UNAVAILABLE":
            return GraphQLError(
                UNAVAILABLE_MESSAGE,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={"code": "SERVICE_UNAVAILABLE"},
            )
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked

    def _process_result(self, result: object) -> None:
        # strawberry checks `isinstance(result, _ResultWithErrors)`, a runtime-checkable
        # Protocol, slow, paid by every operation and every pushed change (bench/LEVERS.md,
        # "figures behind code choices"). Reading `errors` directly does the same job.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": code_of(error)}
        return processed
