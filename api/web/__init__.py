"""The web pages `refunds serve` ships: the merchant dashboard at `/` and its files under
`/static/`, GraphiQL's files among them (api/web/graphiql.py). Everything is inside the package:
no CDN, no Node toolchain at install or run time (api/web/static/vendor/README.md lists what was
copied from npm, with versions and licenses)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static"

# The dashboard runs only its own module files: no inline script, no eval, nothing from elsewhere.
# connect-src 'self' covers the WebSocket to the same host and port (CSP Level 3).
DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def security_headers(csp: str = DASHBOARD_CSP) -> dict[str, str]:
    return {
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
    }


class WithSecurityHeaders:
    """Adds the headers to every HTTP response of the app it wraps."""

    def __init__(self, app: ASGIApp, csp: str = DASHBOARD_CSP) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in security_headers(csp).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def dashboard_page(_request: Request) -> FileResponse:
    # no-cache: a new release's page (and so its module URLs) is seen at the next visit
    return FileResponse(
        STATIC_DIR / "dashboard" / "index.html",
        headers={**security_headers(), "cache-control": "no-cache"},
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/", dashboard_page),
        Mount("/static", WithSecurityHeaders(StaticFiles(directory=STATIC_DIR)), name="static"),
    ]
