"""bench/REPORT.md from one run's figures: the machine, the versions, medians over the rounds,
and the ratios. The hand-written history of the levers (bench/LEVERS.md) is appended as-is."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from importlib import metadata
from pathlib import Path

LEVERS = Path(__file__).parent / "LEVERS.md"
PACKAGES = [
    "strawberry-graphql",
    "graphql-core",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "sqlalchemy",
    "asyncpg",
    "orjson",
]
TITLES = {
    "a": "(a) transactions(first: 20) with refundedAmount, refundableAmount, refunds",
    "b": "(b) refund(id:) with its transaction",
}


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except OSError:
        memory = "?"
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores, {model}, {memory} RAM, {system}"


def versions(postgres: str) -> str:
    parts = [f"Python {platform.python_version()}"]
    for name in PACKAGES:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} (absent)")
    try:
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
        parts.append(wrk.split(" Copyright")[0].strip())
    except OSError:
        pass
    parts.append(f"PostgreSQL {postgres} (embedded)")
    return ", ".join(parts)


def med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows) if rows else 0.0


def _row(name: str, rows: list[dict]) -> str:
    per_round = " / ".join(f"{r['rps']:.0f}" for r in rows)
    errors = sum(r["errors"] for r in rows)
    return (
        f"| {name} | {med(rows, 'rps'):.0f} | {med(rows, 'p50_ms'):.1f} | "
        f"{med(rows, 'p99_ms'):.1f} | {per_round} | {errors} |"
    )


def _ratios(ours: list[dict], base: list[dict]) -> tuple[float, float]:
    """(median of the per-round ratios, ratio of the medians)."""
    per_round = [o["rps"] / b["rps"] for o, b in zip(ours, base, strict=False) if b["rps"]]
    of_medians = med(ours, "rps") / med(base, "rps") if med(base, "rps") else 0.0
    return (statistics.median(per_round) if per_round else 0.0), of_medians


HEADER = (
    "| | median req/s | p50 ms | p99 ms | req/s per round | errors |\n|---|---|---|---|---|---|"
)


def reads_section(reads: dict) -> list[str]:
    out = ["## Reads: GraphQL service against the hand-written ceiling", ""]
    for key, title in TITLES.items():
        base = reads.get(f"{key}-ceiling", [])
        variants = sorted(
            n.split("-", 1)[1] for n in reads if n.startswith(f"{key}-") and n != f"{key}-ceiling"
        )
        if not variants:
            continue
        out += [f"### {title}", "", HEADER]
        out += [_row(f"service `{v}`", reads[f"{key}-{v}"]) for v in variants]
        out += [_row("ceiling (Starlette + asyncpg + orjson)", base), ""]
        for v in variants:
            by_round, of_medians = _ratios(reads[f"{key}-{v}"], base)
            out.append(
                f"- **`{v}` ÷ ceiling: {by_round:.2f}** (median of per-round ratios; "
                f"ratio of medians {of_medians:.2f})"
            )
        out.append("")
    return out


def mutation_section(mut: dict, connections: str) -> list[str]:
    ours, base = mut.get("graphql", []), mut.get("pgbench", [])
    if not ours:
        return []
    by_round, of_medians = _ratios(ours, base)
    created = sum(r["refunds_created"] for r in ours)
    asked = sum(r["requests"] for r in ours)
    p99 = med(ours, "p99_ms")
    return [
        f"## initiateRefund at {connections} concurrent clients against pgbench",
        "",
        "The same SQL transaction (bench/initiate_refund.sql: idempotency claim, transaction "
        "FOR NO KEY UPDATE, held sum, merchant FOR NO KEY UPDATE, INSERT refund, INSERT event + "
        "pg_notify, UPDATE balance, INSERT ledger entry, UPDATE idempotency key) run by pgbench "
        "-M prepared "
        "on the same database, alternating with the mutation over HTTP.",
        "",
        HEADER.replace("req/s", "tx/s"),
        _row("initiateRefund over GraphQL", ours),
        _row("pgbench, same SQL", base),
        "",
        f"**Ratio GraphQL ÷ pgbench: {by_round:.2f}** (ratio of medians {of_medians:.2f}); "
        f"goal ≥ 0.5. p99 {p99:.1f} ms (goal < 50 ms): "
        f"{'met' if p99 < 50 else 'not met'}. Refunds created by the GraphQL runs: {created} of "
        f"{asked} requests.",
        "",
    ]


def render(run: dict) -> str:
    args = run["args"]
    lines = [
        "# Benchmark report",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `{run['command']}`. "
        f"{args.get('label', '')}",
        "",
        f"- Machine: {machine()}",
        f"- Versions: {versions(run['postgres'])}",
        f"- Load: wrk, {args['connections']} connections, 1 thread, {args['duration']} s per "
        f"measurement, {args['rounds']} rounds alternating service and ceiling; medians over "
        "the rounds. One server process each (uvloop + httptools), on the same machine as the "
        "database and the load generator.",
        f"- Data: {run['counts']}",
        "",
    ]
    lines += reads_section(run.get("reads") or {})
    lines += mutation_section(run.get("mutation") or {}, args["connections"])
    if LEVERS.exists():
        lines += [LEVERS.read_text().strip(), ""]
    return "\n".join(lines)
