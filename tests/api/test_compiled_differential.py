"""Differential test: read documents generated from schema.graphql's Query type
(hypothesis-graphql) are answered twice by the same server, by compiled reads (api/compiled) and
by plain strawberry execution, on a shop with refunds in several statuses, a ledger and two
merchants. Every answer must be the same status and the same bytes, errors included; where the
compiler declines there is nothing to compare, and the share it compiled is checked too."""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any

import graphql
from graphql import ArgumentNode, DocumentNode, IntValueNode, StringValueNode, Visitor, visit
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries

from api.compiled.roots import ROOTS
from tests.api.both_paths import Both, api_key_ids

SCHEMA = Path(__file__).resolve().parents[2] / "schema.graphql"
DOCUMENTS = int(os.environ.get("REFUNDS_DIFFERENTIAL_DOCUMENTS", "500"))  # more by hand
INSTANTS = ["2026-01-01T00:00:00Z", "2030-01-01T00:00:00+05:30", "2000-01-01T00:00:00Z"]


def generated(count: int) -> list[DocumentNode]:
    """`count` distinct documents, the same ones on every run (derandomized)."""
    sdl = SCHEMA.read_text()
    strategy = queries(
        sdl,
        custom_scalars={
            "DateTime": st.sampled_from([StringValueNode(value=i) for i in INSTANTS]),
            "MinorUnits": st.just(IntValueNode(value="100")),
            "JSON": st.just(graphql.NullValueNode()),
        },
        print_ast=lambda document: document,  # kept as a tree: ids are filled in below
        allow_x00=False,
    )
    found: dict[str, DocumentNode] = {}

    @settings(
        max_examples=count * 2,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(document: Any) -> None:
        if len(found) < count:
            found.setdefault(graphql.print_ast(document), document)

    collect()
    return list(found.values())


class _RealArguments(Visitor):
    """Ids drawn from the shop (each generated string picks one, the same one every run), and
    page sizes mostly within 0..100, so that documents read data rather than fail."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__()
        self.ids = ids

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> ArgumentNode | None:
        name, value = node.name.value, node.value
        if name in ("id", "transactionId") and isinstance(value, StringValueNode):
            chosen = self.ids[zlib.crc32(value.value.encode()) % len(self.ids)]
            return ArgumentNode(name=node.name, value=StringValueNode(value=chosen))
        if name == "first" and isinstance(value, IntValueNode):
            return ArgumentNode(
                name=node.name, value=IntValueNode(value=str(int(value.value) % 103))
            )
        return None


def _roots_of(document: str) -> set[str]:
    """The Query fields the document's operation selects."""
    operation = graphql.parse(document).definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    return {
        field.name.value
        for field in operation.selection_set.selections
        if isinstance(field, graphql.FieldNode)
    }


def shop_ids(shop: dict[str, Any]) -> list[str]:
    return [
        *(t["id"] for t in shop["txs"]),
        *shop["refunds"],
        shop["other_tx"]["id"],
        shop["other_refund"],
        shop["other_held"],
        shop["merchant"].id,
        shop["other"].id,
        "rfd_" + "0" * 32,
        "nope",
    ]


async def test_generated_reads_get_the_same_bytes_on_both_paths(
    both: Both, shop: dict[str, Any]
) -> None:
    # given documents generated from the schema, with the shop's ids in them
    keys = [shop["merchant"].key, shop["other"].key]
    ids = shop_ids(shop) + [i for key in keys for i in await api_key_ids(both.api, key)]
    documents = [graphql.print_ast(visit(d, _RealArguments(ids))) for d in generated(DOCUMENTS)]
    assert len(documents) >= DOCUMENTS
    # when each is read by both paths, as either merchant; then both give the same bytes
    for i, document in enumerate(documents):
        await both.compare({"query": document}, keys[i % 2])
    compiled = sum(both.answered_fast)
    covered = sum(1 for d in documents if _roots_of(d) <= set(ROOTS))
    one_statement = both.planned.one_statement
    print(  # noqa: T201
        f"compiled {compiled} of {len(documents)} ({one_statement} in one statement); "
        f"{covered} read covered roots only"
    )
    # and most of what reads only root fields the compiler covers compiles (introspection,
    # webhook reads through node(id:) and what strawberry reports as an error do not); root
    # fields it does not cover (webhookEndpoints, refund batches, refundSummary) go to
    # strawberry: 240 compiled of the 260 such documents among the 500 (of all 500: 359 before
    # the batch and summary fields joined the schema, 431 before the webhook fields)
    assert compiled >= covered * 4 // 5, (compiled, covered)
