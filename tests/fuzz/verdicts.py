"""What every answer to a fuzzed request must be, over HTTP or WebSocket: GraphQL-shaped, each
error with a code, never INTERNAL_SERVER_ERROR; and what the server's log must never show."""

from __future__ import annotations

import re
from typing import Any

import httpx

# A line of the CLI's logging format (api/cli.py) or of uvicorn's own, at ERROR or above.
ERROR_LINE = re.compile(r"^(?:\S+ \S+ )?(?:ERROR|CRITICAL)\b.*$", re.M)


def untyped_errors(errors: Any) -> list[str]:
    """The errors[] entries a client could not act on: no extensions.code, or a fault."""
    if not isinstance(errors, list):
        return [f"errors is not a list: {errors!r}"]
    wrong = []
    for error in errors:
        code = error.get("extensions", {}).get("code") if isinstance(error, dict) else None
        if not isinstance(code, str) or code == "INTERNAL_SERVER_ERROR":
            wrong.append(repr(error)[:500])
    return wrong


def http_problems(response: httpx.Response | Any) -> list[str]:
    """Why this answer to a GraphQL POST is wrong, if it is."""
    if response.status_code >= 500:
        return [f"status {response.status_code}: {response.text[:500]}"]
    try:
        body = response.json()
    except ValueError:
        return [f"status {response.status_code}, not JSON: {response.text[:500]}"]
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        return [f"status {response.status_code}, not a GraphQL response: {body!r}"[:500]]
    return untyped_errors(body.get("errors", []))


def error_lines(log: str) -> list[str]:
    return ERROR_LINE.findall(log)
