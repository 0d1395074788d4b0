"""The plain lists' share of a query's cost, counted as they are loaded.

api/query_cost.py bounds a query before it runs, but it can only assume a plain list's length
(a transaction's refunds, a refund's events): a payment with hundreds of partial refunds turns
`transaction { refunds { transaction { refunds … } } }` into hundreds to the power of its depth.
So each execution also counts the items its plain lists return, and the list that takes the
count past the same limit is refused with QUERY_TOO_COMPLEX (graphql-core then nulls its
parent and records one error for the nulled branch)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from api.errors import ClientError
from api.query_cost import CODE


class ListsTooLong(ClientError):
    code = CODE


@dataclass
class ListBudget:
    limit: int
    spent: int = 0


# Set by each execution (api/refunds/shared_events.py); the resolvers' tasks inherit it.
_current: ContextVar[ListBudget | None] = ContextVar("list_budget", default=None)


def start_execution(limit: int) -> None:
    _current.set(ListBudget(limit))


def spend(items: int) -> None:
    """Counts a plain list's items against the running execution's budget."""
    budget = _current.get()
    if budget is None:
        return
    budget.spent += items
    if budget.spent > budget.limit:
        raise ListsTooLong(
            f"This query's lists hold more than {budget.limit:,} objects, the limit: ask for "
            "fewer nested lists (a transaction's refunds inside its refunds' transaction, say)."
        )
