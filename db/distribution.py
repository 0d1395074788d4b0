"""How the tables spread over a Citus cluster (docs/scaling.md), in one place: the tests check
the schema against it (tests/db/test_distributable_schema.py) and every statement sent against
it (tests/db/routing.py).

- `merchants` is distributed by its `id`, and every merchant-owned table by `merchant_id`,
  colocated with it: one merchant's rows live on one node, where their keys and foreign keys
  are checked, and a statement with `merchant_id = …` goes to that node alone.
- `api_key_routes` is platform-wide (a reference table, copied to every node): a request names
  its key only, before the merchant is known.
- `sandbox_settlements` is the sandbox rails' memory, a stand-in for the bank rather than the
  service's data; it is not distributed (real rails replace it)."""

from __future__ import annotations

DISTRIBUTION_COLUMN = {
    "merchants": "id",
    "api_keys": "merchant_id",
    "transactions": "merchant_id",
    "refunds": "merchant_id",
    "refund_events": "merchant_id",
    "ledger_entries": "merchant_id",
    "idempotency_keys": "merchant_id",
    "webhook_endpoints": "merchant_id",
    "webhook_deliveries": "merchant_id",
    "refund_batches": "merchant_id",
    "refund_batch_items": "merchant_id",
}
REFERENCE_TABLES = ("api_key_routes",)
NOT_DISTRIBUTED = ("sandbox_settlements",)

# Marks the few statements that deliberately read or prune every merchant's rows (finding the
# merchants with due refunds, catching up on missed events, pruning old idempotency keys): on
# Citus they go to every node. Any other statement on a distributed table names one merchant.
ACROSS_MERCHANTS = "/* across merchants */"


def citus_statements() -> list[str]:
    """The calls that distribute an empty, migrated database (merchants first: the others'
    foreign keys point at it)."""
    calls = ["SELECT create_distributed_table('merchants', 'id')"]
    calls += [
        f"SELECT create_distributed_table('{table}', '{column}', colocate_with => 'merchants')"
        for table, column in DISTRIBUTION_COLUMN.items()
        if table != "merchants"
    ]
    calls += [f"SELECT create_reference_table('{table}')" for table in REFERENCE_TABLES]
    return calls
