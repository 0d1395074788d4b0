"""Differential test of the subscription fan-out (api/refunds/shared_events.py, live_plans.py):
`refundUpdated` documents generated from schema.graphql (the fuzzer's hypothesis-graphql
strategy) are subscribed over real WebSockets by several subscribers at once on two servers of
the same database: one sharing each change's execution among the subscribers asking the same,
one with sharing off, where strawberry executes every change for every subscriber alone. Refunds
then move through every status the sandbox rails reach, one change at a time; every frame a
subscriber receives must be byte for byte the frame the same subscriber receives from the
reference server, and each receives exactly the changes of its own merchant its variables select.

The database is the test's own, with no refund processor: the test moves each refund itself with
the processor's own pieces and the sandbox rails, and waits for every frame of a change before
making the next, so that both servers execute each change against the same state."""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import graphql
import httpx
import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, nodes
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from websockets.asyncio.client import ClientConnection, connect

from api import ids
from api.app import create_app
from api.config import EdgeSettings, LiveSettings, Settings
from api.refunds import live_plans
from api.refunds.shared_events import memo_for
from api.refunds.types import RefundType
from db.claims import RefundClaims
from db.sandbox_bank import SandboxBank
from db.uow import SqlUnitOfWork
from domain.model import RefundStatus
from domain.use_cases.processing import RailOutcome, record_outcome, start_processing
from processor.config import ProcessorSettings
from processor.sandbox import SandboxGateway
from processor.worker import BANK_RETURNED, outcome_of, payout_request
from tests.api.test_api_keys import create_key
from tests.conftest import ADMIN_TOKEN
from tests.fuzz.test_subscription_documents import subscription_documents
from tests.processing.live import LEGACY_WS, TRANSPORT_WS, WAIT_SECONDS, wait_until, ws_url
from tests.serving import serving
from tests.support import Api, Merchant

# Generated documents in CI; more by hand: REFUNDS_FANOUT_DOCUMENTS=500 (with --timeout 0)
DOCUMENTS = int(os.environ.get("REFUNDS_FANOUT_DOCUMENTS", "50"))
# Documents subscribed together, each by every subscriber below (a connection holds at most
# 100 subscriptions: the busiest socket holds four per document).
GROUP = 25
FIELD = "refundUpdated"

REFUND_STATUS = "query($id: ID!) { refund(id: $id) { status } }"
UPDATE_DESTINATION = """mutation($input: UpdateRefundDestinationInput!) {
  updateRefundDestination(input: $input) { refund { status } userErrors { code } } }"""


class _Enough(Exception):
    """Ends the generation once enough distinct documents are in hand (generating is slow)."""


def generated(count: int) -> list[str]:
    """`count` distinct `refundUpdated` documents (the same ones every run), their filters
    replaced by the variables `$refundId` and `$transactionId` so that each subscriber picks
    its own."""
    strategy = subscription_documents({"ID": st.just(nodes.String("x"))}, Mode.POSITIVE)
    found: dict[str, None] = {}

    @settings(
        max_examples=count * 20,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(document: str) -> None:
        rewritten = _with_variables(document)
        if rewritten is not None:
            found.setdefault(rewritten, None)
        if len(found) == count:
            raise _Enough

    with suppress(_Enough):
        collect()
    return list(found)


def _name(value: str) -> graphql.NameNode:
    return graphql.NameNode(value=value)


# `$brief` skips the document's first field: subscribers with different variables get different
# payloads of the same change, which no sharing may mix up.
BRIEF = graphql.DirectiveNode(
    name=_name("skip"),
    arguments=(
        graphql.ArgumentNode(name=_name("if"), value=graphql.VariableNode(name=_name("brief"))),
    ),
)


def _with_variables(document: str) -> str | None:
    """The document with `refundUpdated(refundId: $refundId, transactionId: $transactionId)`
    as its one root field and `@skip(if: $brief)` on its first field, or None when it selects
    another root field too."""
    operation = graphql.parse(document).definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    (root, *others) = operation.selection_set.selections
    if others or not isinstance(root, graphql.FieldNode) or root.name.value != FIELD:
        return None
    assert root.selection_set is not None
    first, *rest = root.selection_set.selections
    skipped = replace(first, directives=(*(first.directives or ()), BRIEF))
    selection = graphql.print_ast(graphql.SelectionSetNode(selections=(skipped, *rest)))
    alias = f"{root.alias.value}: " if root.alias else ""
    rewritten = graphql.parse(
        "subscription($refundId: ID, $transactionId: ID, $brief: Boolean = false) {"
        f" {alias}{FIELD}(refundId: $refundId, transactionId: $transactionId) {selection} }}"
    )
    return graphql.print_ast(rewritten)


# -- two servers on one database ---------------------------------------------------------------


def _settings(database_url: str, data_dir: Path, *, share: bool) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        admin_token=ADMIN_TOKEN,
        gateway_delay_scale=0.0,
        refund_window_days=180,
        processor=ProcessorSettings(enabled=False),  # the test moves every refund itself
        live=LiveSettings(share_executions=share),
        edge=EdgeSettings(failed_auth_limit="10000/minute"),
        key_use_record_seconds=86_400.0,  # lastUsedAt stays put while both servers execute
    )


@dataclass
class Server:
    app: Starlette
    url: str

    def subscribers(self, merchant: Merchant) -> int:
        broker = self.app.state.services.broker
        return int(broker.subscriber_count(_uuid(ids.MERCHANT, merchant.id)))


@asynccontextmanager
async def _served(database_url: str, data_dir: Path, *, share: bool) -> AsyncIterator[Server]:
    app = create_app(_settings(database_url, data_dir, share=share))
    async with serving(app, lifespan="on", ws="websockets-sansio") as url:
        yield Server(app, url)


# -- subscribers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    merchant: str
    transaction_id: str
    refund_id: str


@dataclass(frozen=True)
class Subscriber:
    """One subscription per document: on which socket, for which merchant, with which filter."""

    name: str
    socket: str
    merchant: str  # "a" or "b"
    refund: str | None = None  # names in `Shop.ids`
    transaction: str | None = None
    brief: bool = False
    refused: bool = False  # variables of the wrong type: one `error`, then nothing

    def variables(self, shop: Shop) -> dict[str, Any]:
        if self.refused:
            return {"refundId": ["not", "an id"]}
        chosen = {"refundId": self.refund, "transactionId": self.transaction}
        given: dict[str, Any] = {k: shop.ids[v] for k, v in chosen.items() if v is not None}
        return given | ({"brief": True} if self.brief else {})

    def hears(self, change: Change, shop: Shop) -> bool:
        wanted = self.variables(shop)
        return (
            not self.refused
            and change.merchant == self.merchant
            and wanted.get("refundId", change.refund_id) == change.refund_id
            and wanted.get("transactionId", change.transaction_id) == change.transaction_id
        )


# Sockets: (merchant, key, sub-protocol). "a2" is a second, READ_ONLY key of merchant a: another
# caller, whose results are never another's.
SOCKETS = {
    "x": ("a", "a1", TRANSPORT_WS),
    "y": ("a", "a1", TRANSPORT_WS),
    "z": ("a", "a2", TRANSPORT_WS),
    "legacy": ("a", "a1", LEGACY_WS),
    "w": ("b", "b1", TRANSPORT_WS),
}
# Each asks what another subscriber of the same path asks: served from that one's result.
TWINS = {"everything, another socket", "graphql-ws, again"}
SUBSCRIBERS = [
    Subscriber("everything", "x", "a"),
    Subscriber("everything, another socket", "y", "a"),
    Subscriber("brief", "x", "a", brief=True),  # the same caller as the first, but not the same
    Subscriber("another key", "z", "a"),
    Subscriber("graphql-ws", "legacy", "a"),
    Subscriber("graphql-ws, again", "legacy", "a"),
    Subscriber("the frozen payment", "x", "a", transaction="t_frozen"),
    Subscriber("a quiet payment", "y", "a", transaction="t_quiet"),
    Subscriber("the held refund", "x", "a", refund="r_held"),
    Subscriber("merchant b", "w", "b"),
    Subscriber("merchant b, a's payment", "w", "b", transaction="t_frozen"),
    Subscriber("bad variables", "z", "a", refused=True),
]


class Socket:
    """One WebSocket; keeps every frame each subscription receives, as the text it came in."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws, self.protocol = ws, protocol
        self.frames: dict[str, list[str]] = defaultdict(list)
        self.reader: asyncio.Task[None] | None = None

    async def init(self, token: str) -> None:
        payload = {"Authorization": f"Bearer {token}"}
        await self.send({"type": "connection_init", "payload": payload})
        async with asyncio.timeout(WAIT_SECONDS):
            ack = orjson.loads(await self.ws.recv())
        assert ack["type"] == "connection_ack", ack
        self.reader = asyncio.create_task(self._read())

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    async def subscribe(self, op_id: str, query: str, variables: dict[str, Any]) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables}
        await self.send({"type": kind, "id": op_id, "payload": payload})

    async def _read(self) -> None:
        async for raw in self.ws:
            assert isinstance(raw, str), "GraphQL over WebSocket is text frames"
            message = orjson.loads(raw)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
            elif "id" in message:
                self.frames[message["id"]].append(raw)


@asynccontextmanager
async def _sockets(server: Server, shop: Shop) -> AsyncIterator[dict[str, Socket]]:
    async with AsyncExitStack() as stack:
        sockets = {}
        for name, (_merchant, key, protocol) in SOCKETS.items():
            ws = await stack.enter_async_context(
                connect(ws_url(server.url), subprotocols=[protocol])  # type: ignore[list-item]
            )
            sockets[name] = Socket(ws, protocol)
            await sockets[name].init(shop.keys[key])
        try:
            yield sockets
        finally:
            for socket in sockets.values():
                if socket.reader is not None:
                    socket.reader.cancel()


# -- the shop and the rails ----------------------------------------------------------------------


@dataclass
class Shop:
    """Two merchants of the test's group; `ids` holds public ids by name."""

    a: Merchant
    b: Merchant
    keys: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)

    def merchant(self, name: str) -> Merchant:
        return self.a if name == "a" else self.b


def _uuid(prefix: str, public_id: str) -> UUID:
    found = ids.decode_uuid(prefix, public_id)
    assert found is not None, public_id
    return found


async def open_shop(api: Api) -> Shop:
    # given merchant a with payments the sandbox rails answer differently, a refund waiting
    # ON_HOLD for a recharge; merchant b with a payment and a balance of its own
    a, b = await api.create_merchant("Fan-out A"), await api.create_merchant("Fan-out B")
    reader = await create_key(api, a, "reader", "READ_ONLY")
    shop = Shop(a, b, {"a1": a.key, "a2": reader["key"], "b1": b.key})
    for name, source, amount in [
        ("t_held", "customer@okaxis", 100_00),
        ("t_reject", "reject-customer@okaxis", 100_00),
        ("t_frozen", "frozen-customer@okaxis", 100_00),
        ("t_bounce", "bounce-customer@okaxis", 100_00),
        ("t_big", "customer9@okaxis", 2_000_00),
        ("t_quiet", "customer8@okaxis", 100_00),
    ]:
        shop.ids[name] = (await api.record_transaction(a, source=source, amount=amount))["id"]
    shop.ids["t_b"] = (await api.record_transaction(b))["id"]
    await api.recharge(b, 100_00)
    held = await api.initiate_refund(
        a, transactionId=shop.ids["t_held"], amount=50_00, queueIfInsufficientBalance=True
    )
    assert held["refund"]["status"] == "ON_HOLD", held
    shop.ids["r_held"] = held["refund"]["id"]
    return shop


class Rails:
    """Moves a refund one status at a time, as the processor does with the sandbox rails
    (processor/worker.py), each step committing one change."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.claims = RefundClaims(engine, "fan-out-test")
        self.gateway = SandboxGateway(SandboxBank(engine), delay_scale=0.0)

    async def start(self, merchant: Merchant, refund_id: str) -> None:
        m, r = _uuid(ids.MERCHANT, merchant.id), _uuid(ids.REFUND, refund_id)
        assert await start_processing(SqlUnitOfWork(self.engine), m, r, datetime.now(UTC))

    async def answer(self, merchant: Merchant, refund_id: str) -> None:
        """The bank's answer to the payout, whatever the destination makes it."""
        m, r = _uuid(ids.MERCHANT, merchant.id), _uuid(ids.REFUND, refund_id)
        order = await self.claims.work_order(m, r)
        assert order is not None, "not PROCESSING"
        outcome = outcome_of(await self.gateway.pay(payout_request(order)))
        await self._record(m, r, outcome)

    async def bank_return(self, merchant: Merchant) -> None:
        """The return the bank makes of a `bounce` payout."""
        (returned,) = await self.gateway.claim_returns(10, 30.0)
        assert returned.merchant_id == _uuid(ids.MERCHANT, merchant.id)
        outcome = RailOutcome(
            RefundStatus.REVERSED, failure_code=BANK_RETURNED, message=returned.reason
        )
        await self._record(returned.merchant_id, returned.refund_id, outcome)
        await self.gateway.acknowledge_return(returned.refund_id)

    async def _record(self, merchant_id: UUID, refund_id: UUID, outcome: RailOutcome) -> None:
        uow = SqlUnitOfWork(self.engine)
        assert await record_outcome(uow, merchant_id, refund_id, outcome, datetime.now(UTC))


Step = Callable[[], Awaitable[Change]]


def scenario(api: Api, rails: Rails, shop: Shop) -> list[tuple[str, Step]]:
    """What happens, one committed change per step: (the status it leaves, the step)."""
    a = shop.a

    def change(merchant: str, transaction: str, refund: str) -> Change:
        return Change(merchant, shop.ids[transaction], shop.ids[refund])

    def initiate(name: str, transaction: str, amount: int, **more: Any) -> Step:
        async def step() -> Change:
            merchant = "b" if transaction == "t_b" else "a"
            payload = await api.initiate_refund(
                shop.merchant(merchant), transactionId=shop.ids[transaction], amount=amount, **more
            )
            assert payload["userErrors"] == [], payload
            shop.ids[name] = payload["refund"]["id"]
            return change(merchant, transaction, name)

        return step

    def rail(move: Callable[[Merchant, str], Awaitable[None]], tx: str, name: str) -> Step:
        async def step() -> Change:
            await move(a, shop.ids[name])
            return change("a", tx, name)

        return step

    async def recharge() -> Change:  # releases the held refund
        await api.recharge(a, 1_000_00)
        return change("a", "t_held", "r_held")

    async def new_destination() -> Change:
        data = await api.gql(
            UPDATE_DESTINATION,
            {"input": {"refundId": shop.ids["r_frozen"], "upiVpa": "customer7@okaxis"}},
            token=a.key,
        )
        assert data["updateRefundDestination"]["userErrors"] == [], data
        return change("a", "t_frozen", "r_frozen")

    def cancel(tx: str, name: str) -> Step:
        async def step() -> Change:
            assert (await api.cancel_refund(a, shop.ids[name]))["userErrors"] == []
            return change("a", tx, name)

        return step

    async def bounce_back() -> Change:
        await rails.bank_return(a)
        return change("a", "t_bounce", "r_bounce")

    return [
        ("PENDING", recharge),
        ("PROCESSING", rail(rails.start, "t_held", "r_held")),
        ("PROCESSED", rail(rails.answer, "t_held", "r_held")),
        ("PENDING", initiate("r_reject", "t_reject", 10_00)),
        ("PROCESSING", rail(rails.start, "t_reject", "r_reject")),
        ("FAILED", rail(rails.answer, "t_reject", "r_reject")),
        ("PENDING", initiate("r_frozen", "t_frozen", 10_00)),
        ("PROCESSING", rail(rails.start, "t_frozen", "r_frozen")),
        ("ACTION_REQUIRED", rail(rails.answer, "t_frozen", "r_frozen")),
        ("PENDING", new_destination),
        ("PROCESSING", rail(rails.start, "t_frozen", "r_frozen")),
        ("PROCESSED", rail(rails.answer, "t_frozen", "r_frozen")),
        ("PENDING", initiate("r_bounce", "t_bounce", 10_00)),
        ("PROCESSING", rail(rails.start, "t_bounce", "r_bounce")),
        ("PROCESSED", rail(rails.answer, "t_bounce", "r_bounce")),
        ("REVERSED", bounce_back),
        ("PENDING", initiate("r_second", "t_held", 10_00)),
        ("CANCELLED", cancel("t_held", "r_second")),
        ("ON_HOLD", initiate("r_big", "t_big", 1_900_00, queueIfInsufficientBalance=True)),
        ("CANCELLED", cancel("t_big", "r_big")),
        ("PENDING", initiate("r_b", "t_b", 10_00)),
        ("PENDING", initiate("r_quiet", "t_quiet", 10_00)),
    ]


# -- the test ----------------------------------------------------------------------------------


@dataclass
class Tally:
    frames: int = 0  # of changes, on each server
    transport_ws: int = 0  # of them, to graphql-transport-ws subscribers
    twins: int = 0  # of them, to the subscribers that ask what another asks
    fast: int = 0  # frames rendered by the fast path (api/refunds/live_plans.py)
    executions: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})  # by sharing
    statuses: set[str] = field(default_factory=set)


async def test_every_subscriber_gets_what_plain_strawberry_gives_it(
    own_database_url: str, own_engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents = generated(DOCUMENTS)
    assert len(documents) == DOCUMENTS
    tally = Tally()
    _count_executions(monkeypatch, tally)
    async with (
        _served(own_database_url, tmp_path / "shared", share=True) as shared,
        _served(own_database_url, tmp_path / "plain", share=False) as plain,
        httpx.AsyncClient(base_url=shared.url, timeout=30) as http,
    ):
        api = Api(http, ADMIN_TOKEN)
        for start in range(0, len(documents), GROUP):
            group = documents[start : start + GROUP]
            await _one_group(api, Rails(own_engine), group, shared, plain, tally)
    print(  # noqa: T201
        f"{len(documents)} documents, {len(SUBSCRIBERS)} subscribers each on each server: "
        f"{tally.frames} frames each; {tally.fast} by the fast path; executions: "
        f"{tally.executions[True]} shared, {tally.executions[False]} plain"
    )
    # and the rails reached every status; the shared server's fast path answered its
    # graphql-transport-ws subscribers, and the reference's never; the reference executed every
    # change for every subscriber, the shared server never for a subscriber asking what another
    # already asked
    assert tally.statuses == {s.value for s in RefundStatus}
    assert tally.fast == tally.transport_ws
    assert tally.executions[False] == tally.frames
    assert tally.executions[True] <= tally.frames - tally.twins


def _count_executions(monkeypatch: pytest.MonkeyPatch, tally: Tally) -> None:
    """Counts the fast path's frames, and the executions of pushed changes on each server (a
    change the shared server pushes is registered for sharing: `memo_for` finds it)."""
    render = live_plans.render
    execute = StrawberryGraphQLCoreExecutionContext.execute_operation

    async def rendered(live: live_plans.LiveOperation, pushed: Any) -> bytes:
        tally.fast += 1
        return await render(live, pushed)

    def executed(self: StrawberryGraphQLCoreExecutionContext, *args: Any) -> Any:
        if isinstance(self.root_value, RefundType):
            tally.executions[memo_for(self.root_value) is not None] += 1
        return execute(self, *args)

    monkeypatch.setattr("api.ws_handlers.render", rendered)
    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_operation", executed)


async def _one_group(
    api: Api,
    rails: Rails,
    documents: list[str],
    shared: Server,
    plain: Server,
    tally: Tally,
) -> None:
    shop = await open_shop(api)
    async with _sockets(shared, shop) as ours, _sockets(plain, shop) as theirs:
        # given each document subscribed by every subscriber on both servers
        for server, sockets in ((shared, ours), (plain, theirs)):
            for d, document in enumerate(documents):
                for s in SUBSCRIBERS:
                    await sockets[s.socket].subscribe(f"{d}:{s.name}", document, s.variables(shop))
            for name in ("a", "b"):
                listening = [s for s in SUBSCRIBERS if s.merchant == name and not s.refused]
                await _registered(server, shop.merchant(name), len(documents) * len(listening))
        # when refunds move through every status, one change at a time
        expected = {  # frames by (socket, op id)
            (s.socket, f"{d}:{s.name}"): int(s.refused)
            for d in range(len(documents))
            for s in SUBSCRIBERS
        }
        for status, step in scenario(api, rails, shop):
            change = await step()
            assert await _status(api, shop, change) == status
            tally.statuses.add(status)
            for d in range(len(documents)):
                for s in SUBSCRIBERS:
                    expected[(s.socket, f"{d}:{s.name}")] += s.hears(change, shop)
            await _wait(lambda: _all_arrived(expected, ours) and _all_arrived(expected, theirs))
        # then every subscriber got exactly the changes it selects, each frame the same bytes
        # as plain strawberry's for the same subscriber
        for d, document in enumerate(documents):
            for s in SUBSCRIBERS:
                op_id = f"{d}:{s.name}"
                got, want = ours[s.socket].frames[op_id], theirs[s.socket].frames[op_id]
                count = expected[(s.socket, op_id)]
                assert len(got) == len(want) == count, (s.name, document, got, want)
                for mine, reference in zip(got, want, strict=True):
                    assert mine == reference, f"{s.name} of\n{document}\n{mine}\n{reference}"
                if s.refused:
                    assert '"type":"error"' in got[0], got
                    continue
                tally.frames += count
                tally.transport_ws += count if SOCKETS[s.socket][2] == TRANSPORT_WS else 0
                tally.twins += count if s.name in TWINS else 0


async def _status(api: Api, shop: Shop, change: Change) -> str:
    data = await api.gql(
        REFUND_STATUS, {"id": change.refund_id}, token=shop.merchant(change.merchant).key
    )
    return str(data["refund"]["status"])


async def _registered(server: Server, merchant: Merchant, count: int) -> None:
    await _wait(lambda: server.subscribers(merchant) == count)


def _all_arrived(expected: dict[tuple[str, str], int], sockets: dict[str, Socket]) -> bool:
    return all(len(sockets[socket].frames[op]) >= n for (socket, op), n in expected.items())


async def _wait(done: Callable[[], bool]) -> None:
    async def check() -> bool:
        return done()

    await wait_until(check, "every subscriber's frames")
