"""GraphiQL at /graphql with no internet: every file it loads comes from this package (the
browser here reaches nothing else; tests/browser/conftest.py), the editor renders, a query is
answered with the key given in its Headers, and a subscription pushes a refund's status."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

import httpx
from playwright.async_api import Locator, Page, expect

from api.web.graphiql import offline_graphiql_html
from tests.api.serve_process import Served
from tests.browser.conftest import Tab, subscribed
from tests.support import Api, Merchant


def test_every_file_the_page_names_is_served_from_the_package(served: Served) -> None:
    html = offline_graphiql_html()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    files = [u for u in urls if not u.startswith("data:")]
    assert len(files) == 7  # react, react-dom, js-cookie, graphiql js+css, explorer js+css
    for url in files:
        assert url.startswith("/static/vendor/"), url
        assert httpx.get(served.base_url + url).status_code == 200, url
    assert "unpkg.com" not in html
    page = httpx.get(served.base_url + "/graphql", headers={"Accept": "text/html"})
    assert page.text == html
    csp = page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp


async def open_graphiql(tab: Tab, merchant: Merchant, query: str) -> Page:
    """GraphiQL with the query in its editor and the key in its Headers tab (its own `q` and
    `headers` URL parameters, as a shared GraphiQL link would carry them)."""
    headers = json.dumps({"Authorization": f"Bearer {merchant.key}"})
    page = tab.page
    await page.goto(
        f"{tab.base_url}/graphql?{urlencode({'q': query, 'headers': headers}, quote_via=quote)}"
    )
    await expect(page.locator(".graphiql-query-editor .CodeMirror")).to_be_visible()
    return page


def result_pane(page: Page) -> Locator:
    return page.locator(".result-window")


async def test_graphiql_renders_offline_and_answers_a_query(tab: Tab, api: Api) -> None:
    merchant = await api.create_merchant("GraphiQL Goods")
    await api.recharge(merchant, 77_00)
    page = await open_graphiql(tab, merchant, "{ viewer { name balance } }")
    await expect(page.get_by_text("Loading...")).to_have_count(0)
    await page.get_by_role("button", name=re.compile("Execute query")).click()
    await expect(result_pane(page)).to_contain_text('"name": "GraphiQL Goods"')
    await expect(result_pane(page)).to_contain_text('"balance": 7700')
    await page.get_by_role("button", name="Show GraphiQL Explorer").click()
    await expect(page.locator(".graphiql-explorer-root")).to_contain_text("viewer")
    await tab.screenshot("graphiql")


async def test_a_subscription_in_graphiql_pushes_a_status_change(tab: Tab, api: Api) -> None:
    merchant = await api.create_merchant("GraphiQL Live")
    await api.recharge(merchant, 1_000_00)
    payment = await api.record_transaction(merchant)
    page = await open_graphiql(tab, merchant, "subscription { refundUpdated { id status } }")
    await page.get_by_role("button", name=re.compile("Execute")).click()
    await subscribed(api)
    made = await api.initiate_refund(merchant, transactionId=payment["id"], amount=5_00)
    assert made["userErrors"] == []
    await expect(result_pane(page)).to_contain_text(made["refund"]["id"])
    await expect(result_pane(page)).to_contain_text('"status": "PROCESSED"')
