"""The dashboard's reads (api/web/static/dashboard/queries.js) go through the compiled read path
like any client's, and answer there what strawberry answers."""

from __future__ import annotations

import re
from typing import Any

from api.web import STATIC_DIR
from tests.api.both_paths import Both


def dashboard_documents() -> dict[str, str]:
    """queries.js's documents by constant name, with their `${…}` parts filled in."""
    source = (STATIC_DIR / "dashboard" / "queries.js").read_text()
    constants = {
        name: literal[1:-1]
        for name, literal in re.findall(r'const (\w+) =\s*(`[^`]*`|"[^"]*");', source)
    }

    def filled(text: str) -> str:  # a part may itself hold parts
        return re.sub(r"\$\{(\w+)\}", lambda m: filled(constants[m.group(1)]), text)

    constants = {name: filled(text) for name, text in constants.items()}
    return {
        name: text
        for name, text in constants.items()
        if text.lstrip().startswith(("query", "mutation", "subscription"))
    }


def test_the_documents_are_found() -> None:
    assert {"VIEWER", "TRANSACTIONS", "TRANSACTION", "REFUNDS", "LEDGER"} <= set(
        dashboard_documents()
    )
    assert "${" not in "".join(dashboard_documents().values())


async def test_the_dashboards_reads_are_compiled_and_answer_as_strawberry_does(
    both: Both, shop: dict[str, Any]
) -> None:
    documents = dashboard_documents()
    key = shop["merchant"].key
    reads: list[tuple[str, dict[str, Any]]] = [
        ("VIEWER", {}),
        ("TRANSACTIONS", {"first": 20, "after": None, "filter": {}}),
        ("TRANSACTIONS", {"first": 2, "after": None, "filter": {"status": "SUCCESS"}}),
        ("TRANSACTIONS", {"first": 20, "filter": {"paymentMethod": "UPI", "orderId": "x"}}),
        ("TRANSACTION", {"id": shop["txs"][0]["id"]}),
        ("REFUNDS", {"first": 20, "after": None, "filter": {}}),
        ("REFUNDS", {"first": 20, "after": None, "filter": {"status": ["PROCESSED"]}}),
        ("LEDGER", {"first": 20, "after": None}),
    ]
    for name, variables in reads:
        status, _ = await both.compare({"query": documents[name], "variables": variables}, key)
        assert status == 200, name
    assert all(both.answered_fast), both.answered_fast
