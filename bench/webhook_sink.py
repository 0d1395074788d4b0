"""A webhook receiver for bench/webhooks.py, in a process of its own: answers 204 at once and
appends `webhook-id event-time receive-time` (Unix seconds) to a file, one line per request."""

from __future__ import annotations

import sys
import time
from datetime import datetime

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def main(port: int, out_path: str) -> None:
    out = open(out_path, "a", buffering=1)  # noqa: SIM115  (open for the process's life)

    async def hook(request: Request) -> Response:
        received = time.time()
        body = orjson.loads(await request.body())
        at = datetime.fromisoformat(body["timestamp"]).timestamp()
        out.write(f"{request.headers['webhook-id']} {at:.6f} {received:.6f}\n")
        return Response(status_code=204)

    app = Starlette(routes=[Route("/hooks", hook, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
