"""GraphiQL without the internet: strawberry's own GraphiQL page, its CDN URLs pointed at the
same files (same versions, same bytes: the page's integrity hashes still hold) copied from npm
into api/web/static/vendor/. The explorer plugin and the Headers editor work as before."""

from __future__ import annotations

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
