"""bench/REPORT.md from one run's figures: the machine, the versions, medians over the rounds,
and the ratios. The hand-written history of the levers (bench/LEVERS.md) is appended as-is."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.workloads import WORKLOADS

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


@dataclass(frozen=True)
class Machine:
    """What a benchmark ran on (each report words it its own way)."""

    cpu: str
    cores: int | None
    memory_gib: float
    system: str


def this_machine() -> Machine:
    cpu = platform.processor() or platform.machine() or "unknown CPU"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return Machine(cpu, os.cpu_count(), memory, f"{platform.system()} {platform.release()}")


def machine() -> str:
    m = this_machine()
    return f"{m.cores} cores, {m.cpu}, {m.memory_gib:.0f} GiB RAM, {m.system}"


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


def med(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rows) if rows else 0.0


def _row(name: str, rows: list[dict[str, Any]]) -> str:
    per_round = " / ".join(f"{r['rps']:.0f}" for r in rows)
    errors = sum(r["errors"] for r in rows)
    return (
        f"| {name} | {med(rows, 'rps'):.0f} | {med(rows, 'p50_ms'):.1f} | "
        f"{med(rows, 'p99_ms'):.1f} | {per_round} | {errors} |"
    )


def _ratios(ours: list[dict[str, Any]], base: list[dict[str, Any]]) -> tuple[float, float]:
    """(median of the per-round ratios, ratio of the medians)."""
    per_round = [o["rps"] / b["rps"] for o, b in zip(ours, base, strict=False) if b["rps"]]
    of_medians = med(ours, "rps") / med(base, "rps") if med(base, "rps") else 0.0
    return (statistics.median(per_round) if per_round else 0.0), of_medians


HEADER = (
    "| | median req/s | p50 ms | p99 ms | req/s per round | errors |\n|---|---|---|---|---|---|"
)
PEER = "postgraphile"
CEILING = "ceiling"
LABELS = {PEER: "peer: PostGraphile 5", CEILING: "ceiling (Starlette + asyncpg, JSON built in SQL)"}


def _servers(reads: dict[str, Any], key: str) -> list[str]:
    """The servers measured on one workload: the service's processes, the peer, the ceiling."""
    names = [n.split("-", 1)[1] for n in reads if n.startswith(f"{key}-")]
    services = sorted(n for n in names if n not in LABELS)
    return services + [n for n in (PEER, CEILING) if n in names]


def _label(name: str) -> str:
    return LABELS.get(name, f"service `{name}`")


def summary_section(reads: dict[str, Any]) -> list[str]:
    """One line per workload: each server's median req/s and p99, and the ratios that matter."""
    keys = [k for k in WORKLOADS if any(n.startswith(f"{k}-") for n in reads)]
    if not keys:
        return []
    names = _servers(reads, keys[0])
    services = [n for n in names if n not in LABELS]
    head = " | ".join(f"`{n}` req/s (p99 ms)" for n in names)
    ratio_heads = [f"`{v}` ÷ peer | `{v}` ÷ ceiling" for v in services] + ["peer ÷ ceiling"]
    out = [
        "## Reads at a glance",
        "",
        "Medians over the rounds; ratios are medians of the per-round ratios (same round, "
        "same load).",
        "",
        f"| workload | {head} | {' | '.join(ratio_heads)} |",
        "|---" * (1 + len(names) + 2 * len(services) + 1) + "|",
    ]
    for key in keys:
        cells = []
        for n in names:
            rows = reads.get(f"{key}-{n}", [])
            cells.append(f"{med(rows, 'rps'):.0f} ({med(rows, 'p99_ms'):.1f})" if rows else "–")
        ceiling, peer = reads.get(f"{key}-{CEILING}", []), reads.get(f"{key}-{PEER}", [])
        ratios = []
        for v in services:
            ours = reads.get(f"{key}-{v}", [])
            ratios.append(f"{_ratios(ours, peer)[0]:.2f}" if peer else "–")
            ratios.append(f"{_ratios(ours, ceiling)[0]:.2f}")
        ratios.append(f"{_ratios(peer, ceiling)[0]:.2f}" if peer else "–")
        out.append(f"| ({key}) | {' | '.join(cells)} | {' | '.join(ratios)} |")
    return out + [""]


def reads_section(reads: dict[str, Any]) -> list[str]:
    if not reads:
        return []
    out = ["## Reads: the service, the peer and the hand-written ceiling", ""]
    for key, workload in WORKLOADS.items():
        names = _servers(reads, key)
        if not names:
            continue
        out += [f"### ({key}) {workload.title}", "", HEADER]
        out += [_row(_label(n), reads[f"{key}-{n}"]) for n in names]
        out.append("")
        base = reads.get(f"{key}-{CEILING}", [])
        peer = reads.get(f"{key}-{PEER}", [])
        for n in names:
            if n == CEILING:
                continue
            for other, rows in ((PEER, peer), (CEILING, base)):
                if n == other or not rows:
                    continue
                by_round, of_medians = _ratios(reads[f"{key}-{n}"], rows)
                out.append(
                    f"- **{_label(n)} ÷ {other}: {by_round:.2f}** (median of per-round ratios; "
                    f"ratio of medians {of_medians:.2f})"
                )
        out.append("")
    return out


MUTATION_TITLES = {
    "spread": "refunds of every merchant's payments",
    "hot": "every client refunds payments of merchant 1 (one hot balance row)",
}


def mutation_section(mut: dict[str, Any], connections: str) -> list[str]:
    out: list[str] = []
    for workload, title in MUTATION_TITLES.items():
        base = mut.get(f"{workload}-pgbench", [])
        names = sorted(
            n.split("-", 1)[1]
            for n in mut
            if n.startswith(f"{workload}-") and n != f"{workload}-pgbench"
        )
        if not names:
            continue
        out += [
            f"## initiateRefund at {connections} concurrent clients against pgbench: "
            f"{workload}, {title}",
            "",
            "The same SQL transaction (bench/initiate_refund.sql: idempotency claim, transaction "
            "FOR NO KEY UPDATE, held sum, merchant FOR NO KEY UPDATE, INSERT refund, INSERT "
            "event + pg_notify, UPDATE balance, INSERT ledger entry, UPDATE idempotency key) run "
            "by pgbench -M prepared on the same database, alternating with the mutation over "
            "HTTP.",
            "",
            HEADER.replace("req/s", "tx/s"),
        ]
        out += [_row(f"initiateRefund over GraphQL, `{n}`", mut[f"{workload}-{n}"]) for n in names]
        out += [_row("pgbench, same SQL", base), ""]
        for n in names:
            ours = mut[f"{workload}-{n}"]
            by_round, of_medians = _ratios(ours, base)
            created = sum(r["refunds_created"] for r in ours)
            asked = sum(r["requests"] for r in ours)
            p99 = med(ours, "p99_ms")
            out.append(
                f"- **`{n}` ÷ pgbench: {by_round:.2f}** (ratio of medians {of_medians:.2f}); "
                f"goal ≥ 0.5. p99 {p99:.1f} ms (goal < 50 ms): "
                f"{'met' if p99 < 50 else 'not met'}. Refunds created: {created} of {asked} "
                "requests."
            )
        loads = [r["load1"] for n in mut if n.startswith(f"{workload}-") for r in mut[n]]
        if loads:
            out.append(
                f"- Load average (1 min) after each measurement: {min(loads):.1f}–"
                f"{max(loads):.1f} (2 cores)."
            )
        out.append("")
    return out


def render(run: dict[str, Any]) -> str:
    args = run["args"]
    lines = [
        "# Benchmark report",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `{run['command']}`. "
        f"{args.get('label', '')}",
        "",
        f"- Machine: {machine()}",
        f"- Versions: {versions(run['postgres'])}",
        f"- Peer: {run.get('peer') or 'not run'}",
        f"- Load: wrk, {args['connections']} connections, 1 thread, {args['duration']} s per "
        f"measurement, {args['rounds']} rounds alternating the service, the peer and the "
        "ceiling; medians over the rounds. One server process each (the Python ones on uvloop "
        "+ httptools), on the same machine as the database and the load generator.",
        f"- Data: {run['counts']}",
        "",
    ]
    lines += summary_section(run.get("reads") or {})
    lines += reads_section(run.get("reads") or {})
    lines += mutation_section(run.get("mutation") or {}, args["connections"])
    if LEVERS.exists():
        lines += [LEVERS.read_text().strip(), ""]
    return "\n".join(lines)
