"""Several service processes on one database, as in production: `refunds serve` and
`refunds worker` started as real subprocesses, one of them killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables import ledger_entries, merchants, refund_events, refunds, sandbox_settlements
from tests.conftest import ADMIN_TOKEN
from tests.processing.live import (
    live,
    metrics_subscribers,
    refund_on_rails,
    wait_until,
)
from tests.support import Api, free_port

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from api.cli import main; main()"]


@contextmanager
def service(args: list[str], log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    environment = {**os.environ, "REFUNDS_ADMIN_TOKEN": ADMIN_TOKEN, **env}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*CLI, *args], cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@asynccontextmanager
async def serving(database_url: str, log: Path, **env: str) -> AsyncIterator[str]:
    """`refunds serve` on a free port; yields its base URL once it answers."""
    port = free_port()
    with service(
        ["serve", "--port", str(port), "--no-demo", "--log-level", "warning"],
        log,
        DATABASE_URL=database_url,
        **env,
    ) as proc:
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(timeout=2) as http:

            async def up() -> bool:
                assert proc.poll() is None, f"refunds serve exited; see {log}"
                try:
                    return (await http.get(f"{url}/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(up, f"refunds serve on {port}")
        yield url


async def test_a_subscriber_on_one_process_sees_a_refund_made_on_another(
    database_url: str, tmp_path: Path
) -> None:
    env = {"REFUNDS_GATEWAY_DELAY_SCALE": "0"}
    async with (
        serving(database_url, tmp_path / "one.log", **env) as one,
        serving(database_url, tmp_path / "two.log", **env) as two,
        httpx.AsyncClient(base_url=two, timeout=30) as http,
    ):
        api_two = Api(http, ADMIN_TOKEN)
        merchant = await api_two.create_merchant()
        async with live(one, merchant.key) as client:
            await client.subscribe()

            async def registered() -> bool:
                return await metrics_subscribers(http, one) >= 1

            await wait_until(registered, "subscriber on process one")
            # when the refund is made through process two
            refund = await refund_on_rails(api_two, merchant)
            pushed = await client.refunds_until("PROCESSED")
    # then process one pushes every change, committed by whichever process made it
    assert [r["status"] for r in pushed] == ["PENDING", "PROCESSING", "PROCESSED"]
    assert {r["id"] for r in pushed} == {refund["id"]}


async def _count_where(engine: AsyncEngine, stmt: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def test_refunds_held_by_a_killed_worker_are_each_processed_exactly_once(
    own_database_url: str, own_engine: AsyncEngine, tmp_path: Path
) -> None:
    lease = {"REFUNDS_CLAIM_LEASE_SECONDS": "1.5", "REFUNDS_PROCESSOR_POLL_SECONDS": "0.2"}
    count, amount = 6, 10_00
    # given an API process that does not process, and a worker whose bank is very slow
    async with (
        serving(own_database_url, tmp_path / "api.log", REFUNDS_PROCESSOR="off") as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        api = Api(http, ADMIN_TOKEN)
        merchant = await api.create_merchant()
        await api.recharge(merchant, count * amount)
        with service(
            ["worker"],
            tmp_path / "a.log",
            DATABASE_URL=own_database_url,
            REFUNDS_GATEWAY_DELAY_SCALE="1000",
            **lease,
        ) as worker_a:
            ids = [
                (await refund_on_rails(api, merchant, amount=amount, recharge=False))["id"]
                for _ in range(count)
            ]

            # the bank has paid every one of them, and worker A is waiting to hear so
            async def all_paid_unheard() -> bool:
                assert worker_a.poll() is None, "worker A exited; see a.log"
                return (
                    await _count_where(
                        own_engine, select(func.count()).select_from(sandbox_settlements)
                    )
                    == count
                )

            await wait_until(all_paid_unheard, "worker A holding every refund at the bank")
            assert (
                await _count_where(
                    own_engine,
                    select(func.count()).where(
                        refunds.c.status == "PROCESSING", refunds.c.claimed_by.is_not(None)
                    ),
                )
                == count
            )
            # when worker A is killed outright
            os.kill(worker_a.pid, signal.SIGKILL)
            worker_a.wait()
        # and another worker comes up
        with service(
            ["worker"],
            tmp_path / "b.log",
            DATABASE_URL=own_database_url,
            REFUNDS_GATEWAY_DELAY_SCALE="0",
            **lease,
        ) as worker_b:

            async def all_processed() -> bool:
                assert worker_b.poll() is None, "worker B exited; see b.log"
                return (
                    await _count_where(
                        own_engine, select(func.count()).where(refunds.c.status == "PROCESSED")
                    )
                    == count
                )

            await wait_until(all_processed, "worker B finishing worker A's refunds")
    # then each was paid once, has one PROCESSED event, and the ledger is exact
    async with own_engine.connect() as conn:
        events = (
            await conn.execute(select(refund_events.c.refund_id, refund_events.c.status))
        ).all()
        bank = (await conn.execute(select(sandbox_settlements))).all()
        stored = (await conn.execute(select(refunds.c.id, refunds.c.bank_reference))).all()
        ledger = Counter((await conn.execute(select(ledger_entries.c.kind))).scalars().all())
        balance = (await conn.execute(select(merchants.c.balance))).scalar_one()
    per_refund = Counter((e.refund_id, e.status) for e in events)
    assert len(ids) == count
    assert {k: v for k, v in per_refund.items() if k[1] == "PROCESSED"} == {
        (r.id, "PROCESSED"): 1 for r in stored
    }
    assert all(v == 1 for v in per_refund.values())
    assert sorted(b.calls for b in bank) == [2] * count  # asked again after the crash
    assert {b.refund_id: b.bank_reference for b in bank} == {r.id: r.bank_reference for r in stored}
    assert ledger == Counter({"RECHARGE": 1, "REFUND_DEBIT": count})
    assert balance == 0


async def test_a_worker_with_a_health_port_answers_probes_and_says_when_it_is_stuck(
    own_database_url: str, own_engine: AsyncEngine, tmp_path: Path
) -> None:
    port = free_port()
    probes = f"http://127.0.0.1:{port}"
    knobs = {
        "REFUNDS_PROCESSOR_POLL_SECONDS": "0.1",
        "REFUNDS_PROCESSOR_STALL_SECONDS": "1",
        "REFUNDS_GATEWAY_DELAY_SCALE": "0",
    }
    async with (
        serving(own_database_url, tmp_path / "api.log", REFUNDS_PROCESSOR="off") as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        with service(
            ["worker", "--health-port", str(port)],
            tmp_path / "worker.log",
            DATABASE_URL=own_database_url,
            **knobs,
        ) as worker:

            async def probe(path: str) -> tuple[int, Any]:
                assert worker.poll() is None, "the worker exited; see worker.log"
                try:
                    answer = await http.get(f"{probes}{path}")
                except httpx.TransportError:
                    return 0, None
                return answer.status_code, answer.json() if path != "/metrics" else answer.text

            async def answers(path: str, status: int, body: Any) -> None:
                async def matches() -> bool:
                    return await probe(path) == (status, body)

                await wait_until(matches, f"{path} answering {status} {body}")

            # given a worker that is up: alive, and ready once its LISTEN connection is
            await answers("/healthz", 200, {"status": "ok"})
            ready = {"status": "ok", "database": "reachable", "listener": "connected"}
            await answers("/readyz", 200, ready)
            # when it processes a refund (the API process does not), its metrics count it
            api = Api(http, ADMIN_TOKEN)
            merchant = await api.create_merchant()
            await refund_on_rails(api, merchant)

            async def processed() -> bool:
                text = (await probe("/metrics"))[1] or ""
                return 'refunds_processor_outcomes_total{status="PROCESSED"} 1.0' in text

            await wait_until(processed, "the worker's metrics counting the PROCESSED refund")
            # when its claim query cannot get on (a table lock held past the stall limit)
            async with own_engine.connect() as conn:
                await conn.begin()
                await conn.execute(text("LOCK TABLE refunds IN ACCESS EXCLUSIVE MODE"))
                await wait_until(
                    lambda: _stalled(probe), "/healthz answering 503 for a stuck claim loop"
                )
                await conn.rollback()
            # then it says so, and recovers once the lock is gone
            await answers("/healthz", 200, {"status": "ok"})
            # and SIGTERM stops it cleanly
            worker.terminate()
            assert worker.wait(15) == 0
    assert "worker stopping" in (tmp_path / "worker.log").read_text()


async def _stalled(probe: Any) -> bool:
    status, body = await probe("/healthz")
    return bool(status == 503 and body["status"] == "stalled" and body["stalledSeconds"] > 1)
