"""The garbage collector's thresholds for a serving process.

With thousands of WebSocket subscribers the heap holds millions of objects, and a full
collection walks all of them while every subscriber waits: it was the tail of subscription
fan-out (bench/SUBSCRIPTIONS.md). Python's default (700, 10, 10) also runs several young
collections per read request, each paying for the survivors. Higher thresholds shorten the
fan-out's tail and speed up reads (bench/LEVERS.md, "garbage-collector thresholds"); full
collections still run, every few minutes under load.

REFUNDS_GC_THRESHOLD sets `gc.set_threshold(g0, g1, g2)`; `python` keeps Python's own."""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("refunds.api")

DEFAULT_GC_THRESHOLD = "100000,50,1000"


def parse_threshold(value: str) -> tuple[int, int, int] | None:
    """`g0,g1,g2` as three positive integers, or None for `python` (leave Python's)."""
    if value.strip().lower() == "python":
        return None
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ValueError(
            f"REFUNDS_GC_THRESHOLD must be three positive integers like 100000,50,1000 "
            f"or 'python', not {value!r}"
        )
    g0, g1, g2 = (int(p) for p in parts)
    return g0, g1, g2


def tune_garbage_collector(setting: str) -> None:
    threshold = parse_threshold(setting)
    if threshold is not None:
        gc.set_threshold(*threshold)
        log.info("garbage collector thresholds set to %s", threshold)
