"""What "the same answer" means across the three servers, checked before anything is measured.

- The ceiling answers the service's documents with the service's JSON: equal after parsing, key
  order included (PostgreSQL's json_build_object puts spaces where orjson puts none).
- The peer answers the same rows in its own shape: its ids are its node ids (base64 JSON of
  the type and the primary key, e.g. ["Refund", merchant_id, id]), its bigints are strings, its
  nested lists are connections with `nodes`, and its cursors are its own. `canonical` maps both
  shapes onto the rows they stand for."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any

import orjson

OUR_ID = re.compile(r"^[a-z]{3}_([0-9a-f]{32})$")
MONEY = {"amount", "refundedAmount", "refundableAmount", "balance"}
STAMPS = {"createdAt"}
NOT_COMPARED = {"__typename", "cursor", "endCursor"}  # each server's own encoding


def same_json(ours: bytes, theirs: bytes) -> bool:
    """Equal JSON values with keys in the same order."""
    return orjson.dumps(orjson.loads(ours)) == orjson.dumps(orjson.loads(theirs))


def _row_id(value: str) -> str:
    """The row's uuid (hex) behind one of our ids or one of the peer's node ids."""
    ours = OUR_ID.match(value)
    if ours:
        return ours.group(1)
    try:
        node = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return value
    if not isinstance(node, list) or len(node) < 2:
        return value
    return str(node[-1]).replace("-", "")  # the primary key ends with the row's own id


def canonical(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        if set(value) - NOT_COMPARED == {"nodes"}:
            return canonical(value["nodes"], key)
        return {k: canonical(v, k) for k, v in value.items() if k not in NOT_COMPARED}
    if isinstance(value, list):
        return [canonical(v, key) for v in value]
    if key == "id" and isinstance(value, str):
        return _row_id(value)
    if key in MONEY and isinstance(value, str):
        return int(value)
    if key in STAMPS and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def same_rows(ours: bytes, peers: bytes) -> bool:
    """The service's answer and the peer's stand for the same rows and values."""
    a, b = orjson.loads(ours), orjson.loads(peers)
    if "errors" in a or "errors" in b:
        return False
    return bool(canonical(a["data"]) == canonical(b["data"]))


def end_cursor(answer: bytes) -> str | None:
    """The first `pageInfo.endCursor` in an answer."""

    def find(value: Any) -> str | None:
        if isinstance(value, dict):
            if "endCursor" in value:
                cursor: str | None = value["endCursor"]
                return cursor
            for v in value.values():
                if (found := find(v)) is not None:
                    return found
        return None

    return find(orjson.loads(answer))
