"""bench/SUBSCRIPTIONS.md from the live-status benchmark's runs (bench/subscriptions.py): medians
over the repeats, the goals they meet, and the raw runs."""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson

from bench.report import this_machine

NOTES = """
## Against the goals, and why

{goals}

- **Memory.** A bare ASGI app that only accepts WebSockets costs ~21 KB per connection under
  uvicorn's websockets-sansio (measured the same way, RSS delta / count): the connection, not the
  subscription, is most of it. On top come strawberry's per-connection handler and the
  per-operation task. tracemalloc in the server (2026-11-26) put an idle subscription's own
  Python allocations at 12.2 KB, a third of it a 4 KiB output buffer that orjson's bytes keep
  alive; with the variables key kept as str, the executor built only when a change needs one and
  the queue made on the first change, 3.9 KB. One connection per subscriber cannot meet 10 KB
  with this stack (about 30 KB of allocations, most of them uvicorn's, websockets' and
  strawberry's per connection); subscriptions multiplexed over a connection do. This client
  offers no permessage-deflate; a browser does, and `refunds serve` now refuses it: its zlib
  state was another ~50 KB per connection (86 KB per subscriber with it, 31 KB without).
- **Fan-out.** Work per change is shared: one query loads the change for every subscriber, one
  GraphQL execution and one JSON serialisation serve every subscriber with the same document and
  variables (api/refunds/shared_events.py, api/refunds/live_plans.py). Before that, a change
  cost ~0.5 ms per subscriber (graphql-core execution and strawberry's per-result pipeline);
  now what remains per subscriber is waking its task and one WebSocket frame, on a machine where
  PostgreSQL, the two client processes (which read every frame too) and the server share the
  same 2 cores. Past ~5,000 connections the tail grows with the size of the heap: full
  garbage-collector passes over millions of live objects. `refunds serve` now raises the
  collector's thresholds (REFUNDS_GC_THRESHOLD, default 100000,50,1000; api/gc_tuning.py): in
  alternating runs the 10,000-subscriber p99 went from 1.6–1.9 s to 0.5–0.7 s with the p50 at
  ~220 ms. The rest of the way to 250 ms needs fewer frames (subscribers multiplexed per
  connection: 10,000 over 100 connections stay well under it), more cores (`refunds serve
  --workers N` splits subscribers across processes, each fed by its own LISTEN connection), or
  a WebSocket server in C.
- **Latency at a steady rate.** Low single-digit milliseconds at p99 once the machine is not
  shared with other work (the first session's run, on a loaded machine, had 283 ms at 500/s).
"""


def _median_of(rows: list[dict[str, Any]], key: str, name: str) -> list[dict[str, Any]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    out = []
    for k, group in sorted(groups.items()):
        merged: dict[str, Any] = {
            key: k,
            "runs": len(group),
            "complete": all(g["complete"] for g in group),
        }
        for field_name, value in group[0].items():
            if isinstance(value, float | int) and not isinstance(value, bool) and field_name != key:
                merged[field_name] = statistics.median(g[field_name] for g in group)
        out.append(merged)
    return out


def goals(fan: list[dict[str, Any]], mux: list[dict[str, Any]], rates: list[dict[str, Any]]) -> str:
    """The goals table, from the medians."""
    big = max(fan, key=lambda r: r["size"]) if fan else None
    fast = max(rates, key=lambda r: r["rate"]) if rates else None
    rows = ["| goal | measured (medians) | met? |", "| --- | --- | --- |"]
    if big:
        kb = big["bytes_per_subscription"] / 1024
        muxed = f"; {mux[0]['bytes_per_subscription'] / 1024:.1f} KB multiplexed" if mux else ""
        rows += [
            f"| 10,000 subscribers per process | {big['size']:,} served, every change "
            f"delivered: {'yes' if big['complete'] else 'NO'} | "
            f"{'yes' if big['complete'] and big['size'] >= 10_000 else 'no'} |",
            f"| ≤ 10 KB per idle subscription | {kb:.1f} KB, one connection each{muxed} | "
            f"{'yes' if kb <= 10 else 'no'} |",
            f"| p99 fan-out < 250 ms at 10,000 | p50 {big['fanout_ms_p50']:.0f} ms, p99 "
            f"{big['fanout_ms_p99']:.0f} ms | {'yes' if big['fanout_ms_p99'] < 250 else 'no'} |",
        ]
    if fast:
        rows.append(
            f"| p99 < 20 ms at 500 changes/s | {fast['rate']}/s: p50 "
            f"{fast['latency_ms_p50']:.1f} ms, p99 {fast['latency_ms_p99']:.1f} ms | "
            f"{'yes' if fast['latency_ms_p99'] < 20 else 'no'} |"
        )
    return "\n".join(rows)


def report(results: dict[str, Any], args: argparse.Namespace, when: datetime) -> str:
    m = this_machine()
    fan = _median_of(results["fanout"], "size", "fan-out")
    rates = _median_of(results["rates"], "rate", "rate")
    lines = [
        "# Live status: subscription benchmark",
        "",
        f"Run {when:%Y-%m-%d %H:%M} UTC on {m.cpu}, {m.cores} cores (shared with other work "
        f"while this ran), {m.memory_gib:.1f} GiB, {m.system}, Python {platform.python_version()}, "
        f"PostgreSQL "
        f"{results['pg']} (embedded, Unix socket). One `refunds serve` process (uvloop, "
        "httptools, uvicorn's websockets-sansio), processor off; subscribers in "
        f"{args.client_processes} separate client processes, each a minimal asyncio "
        "graphql-transport-ws client (no permessage-deflate) that only timestamps frames "
        "while measuring; PostgreSQL, server, clients and the committer all share the same "
        "2 cores.",
        "",
        f"Command: `python -m bench.subscriptions {' '.join(sys.argv[1:])}`".rstrip(),
        "",
        f"Figures are medians over {args.repeat} run(s) of each configuration.",
        "",
        "## Fan-out to idle subscribers (one merchant, one subscription per connection)",
        "",
        "A status change is committed by the benchmark; fan-out is the time from its commit",
        "returning until the last subscriber has read the frame. p50 / p99 / max over "
        f"{args.rounds} changes. Memory is the server's RSS with the subscribers connected and "
        "idle, minus its RSS warmed up with none, divided by the count.",
        "",
        "| subscribers | fan-out p50 | fan-out p99 | fan-out max | per-subscriber delivery p50 "
        "| RSS per idle subscription | connect time | all delivered |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in fan:
        lines.append(
            f"| {r['size']:,} | {r['fanout_ms_p50']:.0f} ms | {r['fanout_ms_p99']:.0f} ms | "
            f"{r['fanout_ms_max']:.0f} ms | {r['delivery_ms_p50']:.0f} ms | "
            f"{r['bytes_per_subscription'] / 1024:.1f} KB | {r['connect_seconds']:.1f} s | "
            f"{'yes' if r['complete'] else 'NO'} |"
        )
    mux = _median_of(results["mux"], "size", "mux")
    if mux:
        lines += [
            "",
            f"### The same, {args.mux} subscriptions per connection",
            "",
            "What a subscription costs apart from its connection (a dashboard watching many "
            "refunds, or a merchant back end multiplexing).",
            "",
            "| subscriptions | connections | fan-out p50 | fan-out p99 | RSS per idle "
            "subscription | all delivered |",
            "| ---: | ---: | ---: | ---: | ---: | :---: |",
        ]
        for r in mux:
            lines.append(
                f"| {r['size']:,} | {-(-r['size'] // args.mux):,} | {r['fanout_ms_p50']:.0f} ms"
                f" | {r['fanout_ms_p99']:.0f} ms | {r['bytes_per_subscription'] / 1024:.1f} KB |"
                f" {'yes' if r['complete'] else 'NO'} |"
            )
    lines += [
        "",
        "## Commit-to-subscriber latency at a steady rate of changes",
        "",
        f"{args.subscribers} subscribers of the merchant whose refunds change (each sees every "
        f"change); changes offered open-loop for {args.duration:.0f} s (PENDING→PROCESSING→"
        "PROCESSED, each its own commit writing what the repositories write: the row, the "
        "event and the NOTIFY, in one statement, so that the committer's own Python does not "
        "cap the offered rate).",
        "",
        "| offered | achieved | deliveries | latency p50 | latency p99 | max | all delivered |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in rates:
        lines.append(
            f"| {r['rate']}/s | {r['achieved_rate']:.0f}/s | {r['deliveries']:,.0f} | "
            f"{r['latency_ms_p50']:.1f} ms | {r['latency_ms_p99']:.1f} ms | "
            f"{r['latency_ms_max']:.1f} ms | {'yes' if r['complete'] else 'NO'} |"
        )
    lines += [
        "",
        NOTES.strip().replace("{goals}", goals(fan, mux, rates)),
        "",
        "## Raw runs",
        "",
        "```",
    ]
    lines += [
        orjson.dumps(r).decode() for r in results["fanout"] + results["mux"] + results["rates"]
    ]
    lines += ["```", ""]
    return "\n".join(lines)
