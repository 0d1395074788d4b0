"""A merchant's webhook receiver: verifies each delivery with the Standard Webhooks reference
library and handles each event once, however often it is delivered (deliveries are at least
once; a retry carries the same `webhook-id`).

    pip install standardwebhooks starlette uvicorn
    WEBHOOK_SECRET=whsec_… python examples/webhook_receiver.py --port 9000

Answer 2xx quickly; do slow work after answering (a delivery that takes over 10 s is retried).
Here each handled event is printed as one JSON line; a real receiver would store the
webhook-ids it handled in its database, in the same transaction as what it does with the event."""

from __future__ import annotations

import argparse
import json
import os

import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def show(line: dict[str, str]) -> None:
    print(json.dumps(line), flush=True)  # noqa: T201  (an example's output)


def build_app(secret: str) -> Starlette:
    verifier = Webhook(secret)
    handled: set[str] = set()  # webhook-ids already handled (in memory, for the example)

    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            event = verifier.verify(body, dict(request.headers))
        except WebhookVerificationError:
            return Response("bad signature", status_code=400)
        webhook_id = request.headers["webhook-id"]
        if webhook_id in handled:
            show({"duplicate": webhook_id})  # already handled: acknowledge, do nothing
            return Response(status_code=204)
        handled.add(webhook_id)
        refund = event["data"]["refund"]
        show(
            {
                "webhookId": webhook_id,
                "type": event["type"],
                "refund": refund["id"],
                "status": refund["status"],
                "orderId": refund["orderId"],
            }
        )
        return Response(status_code=204)

    return Starlette(routes=[Route("/webhooks", receive, methods=["POST"])])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    uvicorn.run(
        build_app(os.environ["WEBHOOK_SECRET"]), host=args.host, port=args.port, log_level="warning"
    )
