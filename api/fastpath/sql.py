"""Kept only for bench/capacity.py, which names these statements: the SQL lives in
db/pooled_reads.py. Delete this module once the bench imports from there."""

from db.pooled_reads import COUNT, EVENTS_OF, PAGE, REFUNDS_OF

__all__ = ["COUNT", "EVENTS_OF", "PAGE", "REFUNDS_OF"]
