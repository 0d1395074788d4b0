"""The bench's read workloads are real clients' documents, and its ceiling is honest: for each
workload the hand-written ceiling answers what the service answers, over real HTTP, on the
bench's seeded data (the peer, PostGraphile, is not needed here: bench/answers.py is checked
against its shape below)."""

from __future__ import annotations

import base64
import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from graphql import build_schema, parse, validate

from bench import ceiling
from bench.answers import same_json, same_rows
from bench.seed import Seeded
from bench.workloads import WORKLOADS
from tests.serving import serving

SCHEMA = build_schema((Path(__file__).resolve().parents[2] / "schema.graphql").read_text())


@pytest.mark.parametrize("key", list(WORKLOADS))
def test_each_workload_is_a_valid_document_of_the_schema(key: str) -> None:
    # given a workload's document, as a client writes it
    document = parse(WORKLOADS[key].document)
    # then the contract's schema accepts it as it is
    assert validate(SCHEMA, document) == []


@pytest.fixture(scope="module")
async def ceiling_url(database_url: str) -> AsyncIterator[str]:
    """bench/ceiling.py's app on a real socket, on the suite's database."""
    async with serving(ceiling.create_app(database_url)) as url:
        yield f"{url}/graphql"


@pytest.mark.parametrize("key", list(WORKLOADS))
async def test_the_ceiling_answers_what_the_service_answers(
    key: str, bench_seeded: Seeded, server: str, ceiling_url: str
) -> None:
    # given requests of one workload, as the bench sends them, on the bench's data
    workload = WORKLOADS[key]
    requests = workload.requests(bench_seeded, 25, random.Random(key))
    ids_seen = 0
    async with httpx.AsyncClient(timeout=30) as http:
        for request in requests:
            body = {"query": workload.document, "variables": request.variables}
            headers = {"Authorization": f"Bearer {request.key}"}
            # when the service and the ceiling answer each
            ours = await http.post(f"{server}/graphql", json=body, headers=headers)
            theirs = await http.post(ceiling_url, json=body, headers=headers)
            # then both answer, without errors, the same JSON (keys in the same order)
            assert ours.status_code == theirs.status_code == 200
            assert "errors" not in ours.json()
            assert same_json(ours.content, theirs.content), (ours.text, theirs.text)
            ids_seen += ours.content.count(b'"id":"')
    # and the answers compared were not empty pages
    assert ids_seen > len(requests)


def _peer_id(kind: str, key: str) -> str:
    """PostGraphile's node id: base64 JSON of the type and the primary key (merchant_id, id)."""
    uuid = f"{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:]}"
    return base64.b64encode(orjson.dumps([kind, "0" * 8 + uuid[8:], uuid])).decode()


def test_the_peer_comparison_maps_its_shape_onto_the_same_rows() -> None:
    # given the service's answer for a transaction with one refund, and the peer's for the same
    txn, rfd = "1" * 32, "2" * 32
    ours = {
        "data": {
            "transactions": {
                "edges": [
                    {
                        "cursor": "ours",
                        "node": {
                            "id": f"txn_{txn}",
                            "amount": 500,
                            "createdAt": "2026-11-26T10:00:00.500000+00:00",
                            "refunds": [{"id": f"rfd_{rfd}", "amount": 200}],
                        },
                    }
                ]
            }
        }
    }
    peers = {
        "data": {
            "transactions": {
                "edges": [
                    {
                        "cursor": "theirs",
                        "node": {
                            "id": _peer_id("Transaction", txn),
                            "amount": "500",
                            "createdAt": "2026-11-26T10:00:00.5+00:00",
                            "refunds": {
                                "__typename": "RefundConnection",
                                "nodes": [{"id": _peer_id("Refund", rfd), "amount": "200"}],
                            },
                        },
                    }
                ]
            }
        }
    }
    # then they stand for the same rows
    assert same_rows(orjson.dumps(ours), orjson.dumps(peers))
    # and a different amount, a different row or an error is told apart
    changed = orjson.loads(orjson.dumps(peers))
    changed["data"]["transactions"]["edges"][0]["node"]["refunds"]["nodes"][0]["amount"] = "201"
    assert not same_rows(orjson.dumps(ours), orjson.dumps(changed))
    other = orjson.loads(orjson.dumps(peers))
    other["data"]["transactions"]["edges"][0]["node"]["id"] = _peer_id("Transaction", "3" * 32)
    assert not same_rows(orjson.dumps(ours), orjson.dumps(other))
    assert not same_rows(orjson.dumps(ours), orjson.dumps({**peers, "errors": [{}]}))
