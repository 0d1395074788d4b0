"""schema.graphql is the contract clients read: it must be exactly what the code serves."""

from pathlib import Path

from strawberry.printer import print_schema

from api.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_the_checked_in_schema_is_what_the_code_serves() -> None:
    exported = print_schema(schema) + "\n"
    assert SCHEMA_FILE.read_text() == exported, (
        "schema.graphql is stale: run `refunds export-schema > schema.graphql` and review the diff"
    )


def test_the_contract_names_clients_rely_on_are_present() -> None:
    sdl = SCHEMA_FILE.read_text()
    for name in [
        "scalar MinorUnits",
        "interface Node",
        "type Merchant implements Node",
        "type Transaction implements Node",
        "type Refund implements Node",
        "input CancelRefundInput",
        "input UpdateRefundDestinationInput",
        "input CreateMerchantInput",
        "input RecordTransactionInput",
        "input RechargeBalanceInput",
        "type CreateMerchantPayload",
        "type TransactionPayload",
        "type MerchantPayload",
        "type RefundPayload",
        "enum UserErrorCode",
        "type TransactionConnection",
        "type RefundConnection",
        "type LedgerEntryConnection",
    ]:
        assert name in sdl, name
