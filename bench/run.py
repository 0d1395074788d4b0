"""One command for the whole benchmark: `python -m bench` (see bench/README.md).

A fresh embedded PostgreSQL in a temporary directory, a seeded data set, the service, the peer
(PostGraphile 5) and the ceiling as one process each, wrk against 127.0.0.1 in alternating
rounds, pgbench beside the initiateRefund mutation, then bench/REPORT.md. Everything it starts,
it stops. `python -m bench peer-install` only installs the peer (bench/peer.py)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import database, mutation, peer, report, servers
from bench.answers import end_cursor, same_json, same_rows
from bench.load import Result, require_wrk, run_wrk, write_targets
from bench.seed import Seeded, seed
from bench.workloads import DEFAULT_WORKLOADS, WORKLOADS, Request, Workload

HERE = Path(__file__).parent


def stop_on_sigterm() -> None:
    """SIGTERM (and SIGINT, ignored in background jobs) unwind through `finally`, so that the
    servers and the database this run started are stopped."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def options(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--duration", type=int, default=10, help="seconds per measurement (10)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    p.add_argument("--connections", type=int, default=32, help="concurrent clients (32)")
    p.add_argument(
        "--warmup",
        type=int,
        default=5,
        help="seconds of unrecorded load per server and workload first (5): fills "
        "the pools, prepares statements, warms PostgreSQL's cache",
    )
    p.add_argument("--merchants", type=int, default=50)
    p.add_argument("--per-merchant", type=int, default=10_000, help="transactions per merchant")
    p.add_argument(
        "--quick",
        action="store_true",
        help="10 merchants x 2,000 transactions, 5 s per measurement",
    )
    p.add_argument(
        "--workloads",
        default=DEFAULT_WORKLOADS,
        help=f"read workloads to run, by letter ({DEFAULT_WORKLOADS}; add x for the earlier "
        "exact BenchTransactions document)",
    )
    p.add_argument("--no-peer", action="store_true", help="leave PostGraphile out")
    p.add_argument("--skip-reads", action="store_true")
    p.add_argument("--skip-mutation", action="store_true")
    p.add_argument(
        "--mutation-workloads",
        default=",".join(mutation.WORKLOADS),
        help="initiateRefund workloads, comma-separated (spread: every merchant's payments; "
        "hot: merchant 1's only, one balance row)",
    )
    p.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the service (to measure a lever on or off)",
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:ENV=VALUE,...",
        help="also run the service with this environment, as another process, in "
        "the same alternating rounds (e.g. nofast:REFUNDS_FAST_PATH=0; "
        "ROOT=<dir> runs other code)",
    )
    p.add_argument(
        "--service-root",
        type=Path,
        default=servers.ROOT,
        help="the service's code to run (default: this checkout; e.g. a `git archive` "
        "snapshot to measure a commit)",
    )
    p.add_argument("--report", type=Path, default=HERE / "REPORT.md")
    p.add_argument("--label", default="", help="a note for the report's header")
    args = p.parse_args(argv)
    if args.quick:
        args.merchants, args.per_merchant, args.duration = 10, 2_000, 5
    return args


def post(url: str, key: str, body: bytes) -> bytes:
    request = urllib.request.Request(
        url, body, {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: bytes = response.read()
        return answer


def _body(document: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": document, "variables": variables}).encode()


def peer_cursor_sample(workload: Workload, url: str, requests: list[Request]) -> list[Any] | None:
    """One of the peer's own cursors for the workload's order, decoded (see PeerCursor)."""
    first = next((r for r in requests if r.peer_variables.get("after", 0) is None), None)
    if first is None:
        return None
    answer = post(url, first.key, _body(workload.peer_document or "", first.peer_variables))
    cursor = end_cursor(answer)
    if cursor is None:
        raise SystemExit(f"the peer gave no cursor for ({workload.key}): {answer[:600]!r}")
    return list(json.loads(base64.b64decode(cursor)))


def verify_answers(
    workload: Workload,
    requests: list[Request],
    service: servers.Server,
    ceiling: servers.Server,
    postgraphile: servers.Server | None,
    cursor_sample: list[Any] | None,
) -> None:
    """Before anything is measured: the ceiling gives the service's JSON, the peer the same rows
    (bench/answers.py), and nobody an error."""
    for request in requests:
        body = _body(workload.document, request.variables)
        ours, ceilings = post(service.url, request.key, body), post(ceiling.url, request.key, body)
        if b'"errors"' in ours or not same_json(ours, ceilings):
            raise SystemExit(
                f"({workload.key}) {service.name} and ceiling differ for {body!r}:\n"
                f"{ours[:600]!r}\n{ceilings[:600]!r}"
            )
        if postgraphile is not None:
            peer_body = _body(workload.peer_document or "", request.for_peer(cursor_sample))
            peers = post(postgraphile.url, request.key, peer_body)
            if not same_rows(ours, peers):
                raise SystemExit(
                    f"({workload.key}) {service.name} and the peer differ for {peer_body!r}:\n"
                    f"{ours[:600]!r}\n{peers[:600]!r}"
                )


def measure_reads(
    args: argparse.Namespace,
    services: list[servers.Server],
    postgraphile: servers.Server | None,
    ceiling: servers.Server,
    work: Path,
    rng: random.Random,
    seeded: Seeded,
) -> dict[str, list[dict[str, Any]]]:
    chosen = [WORKLOADS[k] for k in args.workloads]
    files: dict[tuple[str, str], Path] = {}  # (workload, server) -> wrk targets
    runs: dict[str, list[servers.Server]] = {}  # workload -> the servers it runs against
    for workload in chosen:
        requests = workload.requests(seeded, 5_000, rng)
        ours = write_targets(
            work / f"{workload.key}.tsv",
            [(r.key, r.variables) for r in requests],
            workload.document,
        )
        runs[workload.key] = [*services, ceiling]
        for server in (*services, ceiling):
            files[workload.key, server.name] = ours
        with_peer = postgraphile if workload.peer_document else None
        sample = None
        if with_peer is not None:
            sample = peer_cursor_sample(workload, with_peer.url, requests)
            files[workload.key, with_peer.name] = write_targets(
                work / f"{workload.key}-peer.tsv",
                [(r.key, r.for_peer(sample)) for r in requests],
                workload.peer_document or "",
            )
            runs[workload.key].insert(len(services), with_peer)
        for service in services:
            verify_answers(workload, requests[:40], service, ceiling, with_peer, sample)
        checked = "the ceiling the same JSON" + (", the peer the same rows" if with_peer else "")
        progress(f"({workload.key}) 40 requests: {checked}")
        for server in runs[workload.key]:  # warm-up, not recorded
            run_wrk(
                "warm",
                server.url,
                files[workload.key, server.name],
                seconds=args.warmup,
                connections=args.connections,
                tag="warm",
            )
    results: dict[str, list[dict[str, Any]]] = {
        f"{k}-{s.name}": [] for k, on in runs.items() for s in on
    }
    for r in range(1, args.rounds + 1):
        order = [(k, s) for k, on in runs.items() for s in on]
        if r % 2 == 0:
            order.reverse()
        for key, server in order:
            res = run_wrk(
                f"{key}-{server.name}",
                server.url,
                files[key, server.name],
                seconds=args.duration,
                connections=args.connections,
                tag=f"r{r}",
            )
            results[res.name].append(res.as_dict())
            progress(
                f"round {r}/{args.rounds} ({key}) {server.name:14s} {res.rps:8.0f} req/s  "
                f"p50 {res.p50_ms:6.1f} ms  p99 {res.p99_ms:6.1f} ms  errors {res.errors}"
            )
    return results


def measure_mutation(
    args: argparse.Namespace,
    db: database.Database,
    services: list[servers.Server],
    work: Path,
    rng: random.Random,
    seeded: Seeded,
) -> dict[str, list[dict[str, Any]]]:
    """Each workload of bench/mutation.py in rounds alternating every service process and
    pgbench (the order reversed every other round); results under "<workload>-<name>"."""
    pgbench = db.pg_bin("pgbench")
    results: dict[str, list[dict[str, Any]]] = {}
    for workload in args.mutation_workloads.split(","):
        targets = mutation.prepare(seeded, work, rng, workload)
        for service in services:
            # each run its own idempotency keys: a key another run used would only replay
            tag = f"warm-{workload}-{service.name}"
            run_wrk("warm", service.url, targets, seconds=2, connections=args.connections, tag=tag)
        for r in range(1, args.rounds + 1):
            steps = [*services, None]  # None: pgbench
            if r % 2 == 0:
                steps.reverse()
            for step in steps:
                before = asyncio.run(mutation.refund_count(db.url))
                if step is not None:
                    res: Result = mutation.run_http(
                        step.url,
                        targets,
                        seconds=args.duration,
                        connections=args.connections,
                        tag=f"m{r}-{workload}-{step.name}",
                    )
                else:
                    res = mutation.run_sql(
                        pgbench,
                        seeded,
                        workload,
                        socket_dir=db.socket_dir,
                        database=database.DATABASE,
                        seconds=args.duration,
                        clients=args.connections,
                        work_dir=work,
                    )
                created = asyncio.run(mutation.refund_count(db.url)) - before
                name = step.name if step is not None else "pgbench"
                load = os.getloadavg()[0]  # the machine is shared: noted beside each figure
                row = {**res.as_dict(), "refunds_created": created, "load1": load}
                results.setdefault(f"{workload}-{name}", []).append(row)
                progress(
                    f"round {r}/{args.rounds} initiateRefund {workload} {name:16s} "
                    f"{res.rps:7.0f}/s  p50 {res.p50_ms:6.1f} ms  p99 {res.p99_ms:6.1f} ms  "
                    f"created {created} of {res.requests}  load {load:.1f}"
                )
    return results


def start_peer(
    args: argparse.Namespace, db: database.Database, work: Path
) -> servers.Server | None:
    """PostGraphile on the same database, or None with the reason printed."""
    if args.no_peer or args.skip_reads:
        return None
    missing = peer.install(progress)
    if missing is not None:
        progress(f"SKIPPING THE PEER: {missing}")
        return None
    peer.prepare_database(db.psql)
    return peer.start(db.url, work)


def main(argv: list[str] | None = None) -> None:
    given = list(argv if argv is not None else sys.argv[1:])
    if given[:1] == ["peer-install"]:
        missing = peer.install(progress)
        raise SystemExit(missing or f"the peer is installed in {peer.peer_dir()}")
    args = options(given)
    require_wrk()
    stop_on_sigterm()
    rng = random.Random(5)
    work = Path(tempfile.mkdtemp(prefix="refunds-bench-"))
    db = ceiling = postgraphile = None
    services: list[servers.Server] = []
    try:
        progress(f"starting a fresh embedded PostgreSQL in {work}")
        db = database.start(work)
        servers.migrate(db.url, args.service_root)
        progress(f"seeding {args.merchants} merchants x {args.per_merchant} transactions")
        started = time.monotonic()
        seeded = asyncio.run(seed(db.url, args.merchants, args.per_merchant))
        progress(f"seeded in {time.monotonic() - started:.0f} s: {seeded.counts}")
        extra = dict(item.split("=", 1) for item in args.service_env)
        token = "adm_" + secrets.token_urlsafe(24)
        services.append(servers.start_service(db.url, token, work, args.service_root, extra))
        for variant in args.variant:
            name, _, env = variant.partition(":")
            more = dict(item.split("=", 1) for item in env.split(",") if item)
            root = Path(more.pop("ROOT", args.service_root))  # ROOT=<dir>: other code
            services.append(
                servers.start_service(
                    db.url, token, work, root, {**extra, **more}, name=f"graphql-{name}"
                )
            )
        ceiling = servers.start_ceiling(db.url, work)
        postgraphile = start_peer(args, db, work)
        for server in (*services, ceiling, postgraphile):
            if server is not None:
                server.wait_ready()
        if "--label" in given:  # the label is printed on its own
            del given[given.index("--label") : given.index("--label") + 2]
        command = " ".join(["python -m bench", *given])
        run = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "counts": seeded.counts,
            "command": command,
            "postgres": db.version(),
            "peer": peer.versions() if postgraphile is not None else None,
            "reads": {},
            "mutation": {},
        }
        if not args.skip_reads:
            run["reads"] = measure_reads(args, services, postgraphile, ceiling, work, rng, seeded)
        # Not measured on the mutation: their idle pools would hold connections pgbench needs.
        for server in (ceiling, postgraphile):
            if server is not None:
                server.stop()
        if not args.skip_mutation:
            run["mutation"] = measure_mutation(args, db, services, work, rng, seeded)
        results = HERE / "results"
        results.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        (results / f"{stamp}.json").write_text(json.dumps(run, indent=1))
        args.report.write_text(report.render(run))
        progress(f"wrote {args.report} (raw figures in bench/results/{stamp}.json)")
    finally:
        for server in (*services, ceiling, postgraphile):
            if server is not None:
                server.stop()
        if db is not None:
            db.stop()
        shutil.rmtree(work, ignore_errors=True)
