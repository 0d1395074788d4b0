"""Junk is the client's mistake (issue 8, findings 2 and 3), over real HTTP and WebSocket.

Text PostgreSQL cannot store (NUL, lone surrogates), instants outside years 1-9999 in UTC,
cursors this API never gave out, metadata nested too deep, and bodies or WebSocket messages that
are not GraphQL requests each get a typed error (BAD_USER_INPUT, a userError, or a 400
BAD_REQUEST) with nothing changed, and leave the server log one INFO line: never an ERROR, never
a traceback. A genuine fault still logs ERROR with its traceback and tells the client nothing."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed

from db.queries import ReadQueries
from tests.api.account_state import Account, account, merchant_with_balance
from tests.api.read_documents import DOCUMENTS
from tests.processing.live import LEGACY_WS, PROTOCOLS, TRANSPORT_WS, live
from tests.support import (
    CREATE_MERCHANT,
    INITIATE_REFUND,
    RECHARGE,
    RECORD_TRANSACTION,
    Api,
    Merchant,
    transaction_input,
)

NUL = "a\x00b"
YEAR_ONE_EAST = "0001-01-01T00:00:00+05:30"  # before year 1 in UTC
YEAR_9999_WEST = "9999-12-31T23:59:59-05:30"  # after year 9999 in UTC
TRANSACTIONS_FROM = """query($from: DateTime) {
  transactions(filter: {createdFrom: $from}) { totalCount } }"""
LEDGER_AFTER = "query($after: String) { viewer { ledger(after: $after) { totalCount } } }"
UPDATE_DESTINATION = """mutation($input: UpdateRefundDestinationInput!) {
  updateRefundDestination(input: $input) { refund { id } userErrors { code } } }"""
CREATE_API_KEY = """mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { key userErrors { code } } }"""
REFUND_UPDATED = "subscription($id: ID) { refundUpdated(refundId: $id) { id status } }"


def cursor(raw: str) -> str:
    """A cursor as the API encodes them (api/pagination.py), around any text."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


# --- the server's log ------------------------------------------------------------------------


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """What the in-process server logs (tests/conftest.py serves the app on this event loop)."""
    caplog.set_level(logging.INFO, logger="refunds")
    caplog.set_level(logging.INFO, logger="strawberry")
    return caplog


def logged_as_client_error(log: pytest.LogCaptureFixture, code: str | None = None) -> None:
    """Exactly one INFO line of ours for the request (naming `code` if given), nothing above
    INFO and no traceback, from any logger. Clears the capture for the next request."""
    records = [r for r in log.records if r.name.startswith(("refunds", "strawberry", "uvicorn"))]
    loud = [
        (r.levelname, r.name, r.getMessage()[:200]) for r in records if r.levelno > logging.INFO
    ]
    assert loud == [], loud
    ours = [r for r in records if r.name.startswith("refunds")]
    assert len(ours) == 1, [r.getMessage() for r in ours]
    assert ours[0].exc_info is None
    if code is not None:
        assert code in ours[0].getMessage()
    log.clear()


# --- helpers ---------------------------------------------------------------------------------


async def post_raw(api: Api, body: bytes, token: str) -> tuple[int, dict[str, Any]]:
    """Bytes exactly as given: httpx's own JSON encoder refuses lone surrogates."""
    response = await api.http.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return response.status_code, response.json()


async def post(
    api: Api, query: str, variables: dict[str, Any] | None, token: str
) -> tuple[int, dict[str, Any]]:
    # json.dumps escapes a lone surrogate as \ud800, as a client's encoder would
    return await post_raw(api, json.dumps({"query": query, "variables": variables}).encode(), token)


def error_code(body: dict[str, Any]) -> str:
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert "Internal" not in error["message"]
    code: str = error["extensions"]["code"]
    return code


@pytest.fixture
async def shop(api: Api) -> tuple[Merchant, dict[str, Any]]:
    """A funded merchant with one refundable payment."""
    merchant = await merchant_with_balance(api, 50_000)
    return merchant, await api.record_transaction(merchant, amount=10_000)


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def everything(api: Api, engine: AsyncEngine, merchant: Merchant) -> tuple[Any, ...]:
    """What a refused request must leave as it was: the merchant's money, refunds and payments,
    and every table a request could write to."""
    snapshot: Account = await account(api, merchant)
    tables = ("merchants", "api_keys", "transactions", "refunds", "idempotency_keys")
    return snapshot, tuple([await count(engine, table) for table in tables])


# --- finding 2: text PostgreSQL cannot store ----------------------------------------------


def _refund_input(transaction_id: str, **fields: Any) -> dict[str, Any]:
    return {"input": {"transactionId": transaction_id, "reason": "CUSTOMER_REQUEST", **fields}}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("notes", NUL),
        ("idempotencyKey", NUL),
        ("transactionId", "txn_\x00"),
        ("metadata", {"order": NUL}),
        ("metadata", {"k\x00": "v"}),
        ("metadata", {"lines": [{"sku": "x"}, {"sku": NUL}]}),
    ],
)
async def test_a_nul_in_a_variable_of_initiate_refund_is_bad_user_input(
    api: Api, engine: AsyncEngine, shop: tuple[Merchant, dict[str, Any]], server_log: Any,
    field: str, value: Any,
) -> None:  # fmt: skip
    merchant, payment = shop
    before = await everything(api, engine, merchant)
    server_log.clear()
    variables = _refund_input(payment["id"], amount=100, **{field: value})
    status, body = await post(api, INITIATE_REFUND, variables, merchant.key)
    assert (status, error_code(body)) == (200, "BAD_USER_INPUT")
    assert f"$input.{field}" in body["errors"][0]["message"]
    logged_as_client_error(server_log, "BAD_USER_INPUT")
    assert await everything(api, engine, merchant) == before


@pytest.mark.parametrize("quote", ['"', '"""'])
async def test_a_nul_in_a_string_literal_is_bad_user_input(
    api: Api, engine: AsyncEngine, shop: tuple[Merchant, dict[str, Any]], server_log: Any,
    quote: str,
) -> None:  # fmt: skip
    merchant, payment = shop
    before = await everything(api, engine, merchant)
    server_log.clear()
    notes = f"{quote}a\\u0000b{quote}" if quote == '"' else f"{quote}a\x00b{quote}"
    query = (
        f'mutation {{ initiateRefund(input: {{transactionId: "{payment["id"]}", amount: 100, '
        f"reason: CUSTOMER_REQUEST, notes: {notes}}}) {{ refund {{ id }} }} }}"
    )
    status, body = await post(api, query, None, merchant.key)
    assert (status, error_code(body)) == (200, "BAD_USER_INPUT")
    assert "input.notes" in body["errors"][0]["message"]
    logged_as_client_error(server_log, "BAD_USER_INPUT")
    assert await everything(api, engine, merchant) == before


async def test_a_lone_surrogate_is_refused_before_anything_runs(
    api: Api, engine: AsyncEngine, shop: tuple[Merchant, dict[str, Any]], server_log: Any
) -> None:
    merchant, payment = shop
    before = await everything(api, engine, merchant)
    server_log.clear()
    for variables, name in [
        (_refund_input(payment["id"], amount=100, notes="\ud800"), None),
        (_refund_input(payment["id"], amount=100, metadata={"\udfff": 1}), None),
        (_refund_input(payment["id"], amount=100), "\ud800"),  # as the operation's name
    ]:
        body = json.dumps({"query": INITIATE_REFUND, "variables": variables, "operationName": name})
        status, answer = await post_raw(api, body.encode(), merchant.key)
        assert (status, error_code(answer)) == (400, "BAD_REQUEST")
        logged_as_client_error(server_log, "400")
    assert await everything(api, engine, merchant) == before


async def test_a_nul_in_the_other_mutations_is_bad_user_input(
    api: Api, engine: AsyncEngine, shop: tuple[Merchant, dict[str, Any]], server_log: Any
) -> None:
    merchant, _ = shop
    before = await everything(api, engine, merchant)
    server_log.clear()
    admin = [
        (CREATE_MERCHANT, {"input": {"name": NUL}}),
        (RECORD_TRANSACTION, {"input": transaction_input(merchant, orderId=NUL)}),
        (RECORD_TRANSACTION, {"input": transaction_input(merchant, source=NUL)}),
        (RECHARGE, {"input": {"merchantId": merchant.id, "amount": 100, "reference": NUL}}),
    ]
    for query, variables in admin:
        status, body = await post(api, query, variables, api.admin_token)
        assert (status, error_code(body)) == (200, "BAD_USER_INPUT"), variables
        logged_as_client_error(server_log, "BAD_USER_INPUT")
    own = [
        (UPDATE_DESTINATION, {"input": {"refundId": "rfd_1", "upiVpa": NUL}}),
        (CREATE_API_KEY, {"input": {"name": NUL}}),
    ]
    for query, variables in own:
        status, body = await post(api, query, variables, merchant.key)
        assert (status, error_code(body)) == (200, "BAD_USER_INPUT"), variables
        logged_as_client_error(server_log, "BAD_USER_INPUT")
    assert await everything(api, engine, merchant) == before


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($o: String) { transactions(filter: {orderId: $o}) { totalCount } }", {"o": NUL}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "txn_\x00"}),
        ("query($id: ID!) { refund(id: $id) { id } }", {"id": NUL}),
    ],
)
async def test_a_nul_in_a_query_variable_is_bad_user_input(
    api: Api, shop: tuple[Merchant, dict[str, Any]], server_log: Any, query: str,
    variables: dict[str, Any],
) -> None:  # fmt: skip
    merchant, _ = shop
    server_log.clear()
    status, body = await post(api, query, variables, merchant.key)
    assert (status, error_code(body)) == (200, "BAD_USER_INPUT")
    logged_as_client_error(server_log, "BAD_USER_INPUT")


async def test_compiled_reads_leave_junk_to_strawberry_which_refuses_it(
    api: Api, shop: tuple[Merchant, dict[str, Any]], server_log: Any
) -> None:
    merchant, _ = shop
    docs = DOCUMENTS
    server_log.clear()
    junk: list[tuple[str, dict[str, Any]]] = [
        ("TransactionWithRefunds", {"id": "txn_\x00"}),
        ("BenchRefund", {"id": NUL}),
        ("BenchTransactions", {"first": 5, "after": cursor(f"{YEAR_ONE_EAST}|{'0' * 32}")}),
    ]
    for name, variables in junk:
        status, body = await post(api, docs[name], variables, merchant.key)
        assert (status, error_code(body)) == (200, "BAD_USER_INPUT"), name
        logged_as_client_error(server_log, "BAD_USER_INPUT")


# --- finding 2: instants and cursors out of range -------------------------------------------


@pytest.mark.parametrize("instant", [YEAR_ONE_EAST, YEAR_9999_WEST])
async def test_a_datetime_outside_utc_years_1_to_9999_is_refused(
    api: Api, shop: tuple[Merchant, dict[str, Any]], server_log: Any, instant: str
) -> None:
    merchant, _ = shop
    server_log.clear()
    status, body = await post(api, TRANSACTIONS_FROM, {"from": instant}, merchant.key)
    assert (status, error_code(body)) == (200, "BAD_USER_INPUT")
    assert "years 1 to 9999" in body["errors"][0]["message"]
    logged_as_client_error(server_log, "BAD_USER_INPUT")
    # as a literal, the same value fails validation
    literal = f'{{ transactions(filter: {{createdTo: "{instant}"}}) {{ totalCount }} }}'
    status, body = await post(api, literal, None, merchant.key)
    assert (status, error_code(body)) == (200, "GRAPHQL_VALIDATION_FAILED")
    logged_as_client_error(server_log, "GRAPHQL_VALIDATION_FAILED")


async def test_a_recorded_transaction_dated_out_of_range_changes_nothing(
    api: Api, engine: AsyncEngine, shop: tuple[Merchant, dict[str, Any]], server_log: Any
) -> None:
    merchant, _ = shop
    before = await everything(api, engine, merchant)
    server_log.clear()
    variables = {"input": transaction_input(merchant, createdAt=YEAR_ONE_EAST)}
    status, body = await post(api, RECORD_TRANSACTION, variables, api.admin_token)
    assert (status, error_code(body)) == (200, "BAD_USER_INPUT")
    logged_as_client_error(server_log, "BAD_USER_INPUT")
    assert await everything(api, engine, merchant) == before


@pytest.mark.parametrize(
    ("query", "after"),
    [
        ("{ transactions(after: $after) { totalCount } }", f"{YEAR_ONE_EAST}|{'0' * 32}"),
        ("{ refunds(after: $after) { totalCount } }", f"{YEAR_9999_WEST}|{'0' * 32}"),
        ("{ transactions(after: $after) { totalCount } }", f"2026-01-01T00:00:00|{'0' * 32}"),
        ("{ viewer { ledger(after: $after) { totalCount } } }", str(2**63)),  # bigint + 1
        ("{ viewer { ledger(after: $after) { totalCount } } }", "9" * 5000),  # int() refuses
        ("{ viewer { ledger(after: $after) { totalCount } } }", "١٢"),  # not ASCII digits
        ("{ viewer { ledger(after: $after) { totalCount } } }", "\x00"),
    ],
)
async def test_a_cursor_this_api_never_gave_out_is_bad_user_input(
    api: Api, shop: tuple[Merchant, dict[str, Any]], server_log: Any, query: str, after: str
) -> None:
    merchant, _ = shop
    server_log.clear()
    document = f"query($after: String) {query}"
    status, body = await post(api, document, {"after": cursor(after)}, merchant.key)
    assert (status, error_code(body)) == (200, "BAD_USER_INPUT")
    assert body["errors"][0]["message"] == "That cursor is not one this API gave out."
    logged_as_client_error(server_log, "BAD_USER_INPUT")


async def test_the_largest_ledger_cursor_is_still_a_cursor(
    api: Api, shop: tuple[Merchant, dict[str, Any]]
) -> None:
    merchant, _ = shop
    data = await api.gql(LEDGER_AFTER, {"after": cursor(str(2**63 - 1))}, token=merchant.key)
    assert data["viewer"]["ledger"]["totalCount"] == 1  # the recharge


# --- finding 2: metadata nested too deep ------------------------------------------------------


async def test_metadata_nested_deeper_than_32_is_an_invalid_input_user_error(
    api: Api, engine: AsyncEngine, shop: tuple[Merchant, dict[str, Any]], server_log: Any
) -> None:
    merchant, payment = shop
    before = await everything(api, engine, merchant)
    for depth in (33, 400):
        server_log.clear()
        variables = _refund_input(payment["id"], amount=100, metadata=nested(depth))
        status, body = await post(api, INITIATE_REFUND, variables, merchant.key)
        assert status == 200
        payload = body["data"]["initiateRefund"]
        assert payload["refund"] is None
        [error] = payload["userErrors"]
        assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "metadata"])
        assert not [r for r in server_log.records if r.levelno > logging.INFO]
    assert await everything(api, engine, merchant) == before
    # 32 levels are kept as given
    made = await api.initiate_refund(
        merchant, transactionId=payment["id"], amount=100, metadata=nested(31)
    )
    assert made["userErrors"] == []
    assert made["refund"]["metadata"] == nested(31)


# --- finding 2: bodies that are not GraphQL requests ----------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"1",
        b'"{ viewer { id } }"',
        b"null",
        b"true",
        b'{"query": "{ viewer { id } }", "operationName": 5}',
        b'{"query": "{ viewer { id } }", "variables": {"a": "\xff\xfe"}}',  # invalid UTF-8
        b"[" * 100_000 + b"]" * 100_000,
        b'{"query": "{ viewer { id } }", "variables": {"a": %s}}' % (b"[" * 99_999 + b"]" * 99_999),
    ],
    ids=["number", "string", "null", "true", "operation-name", "utf-8", "deep", "deep-variables"],
)  # fmt: skip
async def test_a_body_that_is_not_a_graphql_request_is_a_graphql_shaped_400(
    api: Api, shop: tuple[Merchant, dict[str, Any]], server_log: Any, body: bytes
) -> None:
    merchant, _ = shop
    server_log.clear()
    status, answer = await post_raw(api, body, merchant.key)
    assert (status, error_code(answer)) == (400, "BAD_REQUEST")
    logged_as_client_error(server_log, "400")


async def test_get_variables_nested_too_deep_are_a_400(
    api: Api, shop: tuple[Merchant, dict[str, Any]], server_log: Any
) -> None:
    merchant, _ = shop
    server_log.clear()
    response = await api.http.get(
        "/graphql",
        params={"query": "{ viewer { id } }", "variables": "[" * 5000 + "]" * 5000},
        headers={"Authorization": f"Bearer {merchant.key}"},
    )
    assert (response.status_code, error_code(response.json())) == (400, "BAD_REQUEST")
    logged_as_client_error(server_log, "400")


@pytest.mark.parametrize(
    "query", ["{ viewer { ", "{ viewer { id } } \x01", "{ a(x: " + "[" * 3000 + "]" * 3000 + ") }"]
)
async def test_a_document_that_does_not_parse_is_graphql_parse_failed(
    api: Api, shop: tuple[Merchant, dict[str, Any]], server_log: Any, query: str
) -> None:
    merchant, _ = shop
    server_log.clear()
    status, body = await post(api, query, None, merchant.key)
    assert (status, error_code(body)) == (200, "GRAPHQL_PARSE_FAILED")
    assert body["errors"][0]["message"].startswith("Syntax Error")
    logged_as_client_error(server_log, "GRAPHQL_PARSE_FAILED")


# --- finding 3: expected mistakes are one INFO line --------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ('mutation { createMerchant(input: {name: "x"}) { apiKey } }', None, "FORBIDDEN"),
        ("query Page { transactions(first: 1000) { totalCount } }", None, "BAD_USER_INPUT"),
        ("query($n: Int) { transactions(first: $n) { totalCount } }", {"n": "x"}, "BAD_USER_INPUT"),
        ("{ viewer { shoeSize } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_a_clients_mistake_is_one_info_line_with_its_operation_and_code(
    api: Api, shop: tuple[Merchant, dict[str, Any]], server_log: Any, query: str,
    variables: dict[str, Any] | None, code: str,
) -> None:  # fmt: skip
    merchant, _ = shop
    server_log.clear()
    status, body = await post(api, query, variables, merchant.key)
    assert (status, error_code(body)) == (200, code)
    logged_as_client_error(server_log, code)


async def test_the_info_line_names_the_operation(
    api: Api, shop: tuple[Merchant, dict[str, Any]], server_log: Any
) -> None:
    merchant, _ = shop
    server_log.clear()
    await post(
        api, "query PageOfPayments { transactions(first: 1000) { totalCount } }", None, merchant.key
    )
    [line] = [r.getMessage() for r in server_log.records if r.name.startswith("refunds")]
    assert "PageOfPayments" in line
    assert "BAD_USER_INPUT" in line


async def test_a_401_is_one_info_line(api: Api, server_log: Any) -> None:
    server_log.clear()
    status, body = await post(api, "{ viewer { id } }", None, "rk_not_a_key")
    assert (status, body["errors"][0]["extensions"]["code"]) == (401, "UNAUTHENTICATED")
    logged_as_client_error(server_log)


async def test_a_genuine_bug_still_logs_error_with_its_traceback_and_tells_the_client_nothing(
    api: Api, app: Starlette, shop: tuple[Merchant, dict[str, Any]], server_log: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    merchant, _ = shop

    async def broken(*_args: Any) -> int:
        raise RuntimeError("secret internals: row 42 of ledger_entries")

    # on both read paths: compiled reads (api/compiled) hand the request to strawberry
    monkeypatch.setattr(ReadQueries, "ledger_count", broken)
    server_log.clear()
    status, body = await post(
        api, "query Ledger { viewer { ledger { totalCount } } }", None, merchant.key
    )
    assert (status, error_code_of_fault(body)) == (200, "INTERNAL_SERVER_ERROR")
    assert "secret" not in json.dumps(body)
    errors = [r for r in server_log.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is not None
    assert errors[0].exc_info[0] is RuntimeError
    assert "Ledger" in errors[0].getMessage()


def error_code_of_fault(body: dict[str, Any]) -> str:
    [error] = body["errors"]
    assert error["message"] == "Internal server error."
    code: str = error["extensions"]["code"]
    return code


# --- WebSocket ---------------------------------------------------------------------------


async def _answer(client: Any) -> dict[str, Any] | ConnectionClosed:
    """The next message, or how the server closed the socket (never a wait without end)."""
    try:
        return await client.receive()  # type: ignore[no-any-return]  # bounded by WAIT_SECONDS
    except ConnectionClosed as closed:
        return closed


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (REFUND_UPDATED, {"id": "rfd_\x00"}),
        ('subscription { refundUpdated(refundId: "rfd_\\u0000") { id } }', None),
        ("subscription($id: ID) { refundUpdated(transactionId: $id) { id } }", {"id": NUL}),
    ],
    ids=["variable", "literal", "transaction-variable"],
)
async def test_a_subscribe_with_a_nul_gets_an_error_message_at_once(
    server: str, shop: tuple[Merchant, dict[str, Any]], server_log: Any, protocol: str,
    query: str, variables: dict[str, Any] | None,
) -> None:  # fmt: skip
    merchant, _ = shop
    async with live(server, merchant.key, protocol) as client:
        server_log.clear()
        await client.send(
            {
                "type": "subscribe" if protocol == TRANSPORT_WS else "start",
                "id": "junk",
                "payload": {"query": query, "variables": variables},
            }
        )
        message = await _answer(client)
    assert isinstance(message, dict), message
    assert (message["type"], message["id"]) == ("error", "junk")
    errors = message["payload"] if protocol == TRANSPORT_WS else [message["payload"]]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    logged_as_client_error(server_log, "BAD_USER_INPUT")


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "frame",
    [
        "7",
        "[]",
        '{"type": 5}',
        '{"type": "%s", "id": 5, "payload": {"query": "{ viewer { id } }"}}',
        '{"type": "%s", "id": "1", "payload": "{ viewer { id } }"}',
        '{"type": "%s", "id": "1", "payload": {"query": "{ viewer { id } }", "variables": 1}}',
        '{"type": "%s", "id": "1", "payload": {"query": "{ viewer { id } }", "operationName": 1}}',
    ],
    ids=["number", "list", "type", "id", "payload", "variables", "operation-name"],
)  # fmt: skip
async def test_a_message_that_is_not_a_message_closes_the_socket_with_4400(
    server: str, shop: tuple[Merchant, dict[str, Any]], server_log: Any, protocol: str,
    frame: str,
) -> None:  # fmt: skip
    merchant, _ = shop
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    async with live(server, merchant.key, protocol) as client:
        server_log.clear()
        await client.ws.send(frame.replace("%s", kind))
        answer = await _answer(client)
    assert isinstance(answer, ConnectionClosed), answer
    assert answer.rcvd is not None
    assert answer.rcvd.code == 4400
    assert not [r for r in server_log.records if r.levelno > logging.INFO]


NOT_JSON = [
    '{"type": "%s", "id": "1", "payload": {"query": "\\ud800"}}',  # a lone surrogate
    "[" * 100_000 + "]" * 100_000,
]


@pytest.mark.parametrize("frame", NOT_JSON, ids=["surrogate", "deep"])
async def test_a_frame_that_is_not_json_closes_a_graphql_transport_ws_socket_with_4400(
    server: str, shop: tuple[Merchant, dict[str, Any]], server_log: Any, frame: str
) -> None:
    merchant, _ = shop
    async with live(server, merchant.key) as client:
        server_log.clear()
        await client.ws.send(frame.replace("%s", "subscribe"))
        answer = await _answer(client)
    assert isinstance(answer, ConnectionClosed), answer
    assert answer.rcvd is not None
    assert answer.rcvd.code == 4400
    assert not [r for r in server_log.records if r.levelno > logging.INFO]


@pytest.mark.parametrize("frame", NOT_JSON, ids=["surrogate", "deep"])
async def test_a_frame_that_is_not_json_is_ignored_by_graphql_ws_which_goes_on_serving(
    server: str, shop: tuple[Merchant, dict[str, Any]], server_log: Any, frame: str
) -> None:
    merchant, _ = shop
    async with live(server, merchant.key, LEGACY_WS) as client:
        server_log.clear()
        await client.ws.send(frame.replace("%s", "start"))
        await client.subscribe(REFUND_UPDATED, id=NUL)  # answered: the socket still works
        answer = await _answer(client)
    assert isinstance(answer, dict), answer
    assert answer["type"] == "error", answer
    assert not [r for r in server_log.records if r.levelno > logging.INFO]


async def test_a_subscribe_that_does_not_parse_closes_with_4400_and_logs_info(
    server: str, shop: tuple[Merchant, dict[str, Any]], server_log: Any
) -> None:
    merchant, _ = shop
    async with live(server, merchant.key) as client:
        server_log.clear()
        await client.subscribe("subscription { refundUpdated { ")
        answer = await _answer(client)
    assert isinstance(answer, ConnectionClosed), answer
    assert answer.rcvd is not None
    assert answer.rcvd.code == 4400
    assert answer.rcvd.reason.startswith("Syntax Error")
    logged_as_client_error(server_log, "GRAPHQL_PARSE_FAILED")


async def test_a_bad_variable_over_websocket_is_one_info_line(
    server: str, shop: tuple[Merchant, dict[str, Any]], server_log: Any
) -> None:
    merchant, _ = shop
    async with live(server, merchant.key) as client:
        server_log.clear()
        await client.subscribe(REFUND_UPDATED, id={"not": "an id"})
        answer = await _answer(client)
    assert isinstance(answer, dict), answer
    assert answer["type"] == "error", answer
    assert answer["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    logged_as_client_error(server_log, "BAD_USER_INPUT")
