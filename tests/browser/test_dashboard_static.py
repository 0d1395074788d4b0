"""What the dashboard is served with, without a browser: the security headers, no inline script,
and the selects' values equal to the schema's enums."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from graphql import GraphQLEnumType, build_schema

from api.web import STATIC_DIR
from tests.api.serve_process import Served

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = STATIC_DIR / "dashboard"


def test_the_page_and_its_files_carry_strict_security_headers(served: Served) -> None:
    for path in ["/", "/static/dashboard/app.js", "/static/vendor/graphql-ws@6.4.2/client.js"]:
        response = httpx.get(served.base_url + path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self';" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert httpx.get(served.base_url + "/").headers["content-type"].startswith("text/html")
    module = httpx.get(served.base_url + "/static/dashboard/app.js")
    assert module.headers["content-type"].startswith("text/javascript")


def test_a_missing_file_is_a_plain_404(served: Served) -> None:
    response = httpx.get(served.base_url + "/static/dashboard/nothing.js")
    assert response.status_code == 404
    assert "Traceback" not in response.text


def test_the_page_has_no_inline_script_and_loads_nothing_from_elsewhere() -> None:
    html = (DASHBOARD / "index.html").read_text()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts, "the page loads its module"
    for attributes, body in scripts:
        assert 'src="/static/' in attributes
        assert body.strip() == ""
    for source in DASHBOARD.glob("*"):
        assert "https://" not in source.read_text(), source.name


def test_the_selects_offer_the_schemas_enum_values() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    queries = (DASHBOARD / "queries.js").read_text()
    for constant, enum in [
        ("TRANSACTION_STATUSES", "TransactionStatus"),
        ("PAYMENT_METHODS", "PaymentMethod"),
        ("REFUND_STATUSES", "RefundStatus"),
        ("REFUND_REASONS", "RefundReason"),
        ("REFUND_SPEEDS", "RefundSpeed"),
    ]:
        match = re.search(rf"export const {constant} = \[(.*?)\];", queries, re.S)
        assert match, constant
        offered = re.findall(r'"([A-Z_]+)"', match.group(1))
        enum_type = schema.type_map[enum]
        assert isinstance(enum_type, GraphQLEnumType)
        assert offered == list(enum_type.values), constant
