"""GraphiQL without the internet: strawberry's own GraphiQL page, its CDN URLs pointed at the
same files (same versions, same bytes: the page's integrity hashes still hold) copied from npm
into api/web/static/vendor/. The explorer plugin and the Headers editor work as before."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache

from strawberry.http.ides import get_graphql_ide_html

CDN = "https://unpkg.com/"
LOCAL = "/static/vendor/"


@cache
def offline_graphiql_html() -> str:
    html = get_graphql_ide_html(graphql_ide="graphiql").replace(CDN, LOCAL)
    # same-origin files need no CORS mode; `crossorigin` would still work, it is just noise
    return re.sub(r"\n\s*crossorigin\n", "\n", html)


def _hashes(html: str, tag: str) -> str:
    """CSP hash sources of the page's inline <script> or <style> blocks."""
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.S)
    digests = (base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() for b in blocks)
    return " ".join(f"'sha256-{d}'" for d in digests)


@cache
def graphiql_csp() -> str:
    """Only this page's own inline script and style (by hash) and the package's files."""
    html = offline_graphiql_html()
    return (
        f"default-src 'none'; script-src 'self' {_hashes(html, 'script')}; "
        f"style-src 'self' {_hashes(html, 'style')}; img-src 'self' data:; font-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
