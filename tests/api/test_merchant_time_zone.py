"""A merchant sets its own time zone (updateMerchantSettings): IANA names only, a typed
userError otherwise with nothing changed; refundSummary's days move with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.api.account_state import merchant_with_balance
from tests.support import Api, Merchant

UPDATE = """mutation($tz: String!) { updateMerchantSettings(input: {timeZone: $tz}) {
  timeZone userErrors { code field message } } }"""
SUMMARY = """query($from: DateTime!, $to: DateTime!) {
  refundSummary(from: $from, to: $to) { timeZone total { count } byDay { date count amount } } }"""
# UTC+14 and UTC-11: 25 hours apart, so an instant never falls on the same date in both
EAST, WEST = "Pacific/Kiritimati", "Pacific/Pago_Pago"


async def _set(api: Api, merchant: Merchant, tz: str) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.gql(UPDATE, {"tz": tz}, token=merchant.key))[
        "updateMerchantSettings"
    ]
    return payload


async def _summary(api: Api, merchant: Merchant) -> dict[str, Any]:
    now = datetime.now(UTC)
    window = {
        "from": (now - timedelta(days=2)).isoformat(),
        "to": (now + timedelta(days=2)).isoformat(),
    }
    found: dict[str, Any] = (await api.gql(SUMMARY, window, token=merchant.key))["refundSummary"]
    return found


async def test_refund_summary_counts_days_in_the_time_zone_the_merchant_set(api: Api) -> None:
    # given one refund, counted in the default time zone
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    made = await api.initiate_refund(merchant, transactionId=paid["id"], amount=12_34)
    assert made["userErrors"] == []
    created = datetime.fromisoformat(made["refund"]["createdAt"])

    def day_in(tz: str) -> str:
        return created.astimezone(ZoneInfo(tz)).date().isoformat()

    before = await _summary(api, merchant)
    assert before["timeZone"] == "Asia/Kolkata"
    assert before["byDay"] == [{"date": day_in("Asia/Kolkata"), "count": 1, "amount": 12_34}]
    # when the merchant moves to one side of the date line, then the other
    seen = {}
    for tz in (EAST, WEST):
        payload = await _set(api, merchant, tz)
        assert payload["userErrors"] == []
        assert payload["timeZone"] == tz
        summary = await _summary(api, merchant)
        # then the summary counts the refund on that zone's date
        assert summary["timeZone"] == tz
        assert summary["byDay"] == [{"date": day_in(tz), "count": 1, "amount": 12_34}]
        seen[tz] = summary["byDay"][0]["date"]
    assert seen[EAST] != seen[WEST]


@pytest.mark.parametrize(
    "name", ["Mars/Olympus_Mons", "asia/kolkata", "IST", "", "../../etc/passwd"]
)
async def test_a_name_that_is_not_an_iana_time_zone_is_refused_and_changes_nothing(
    api: Api, name: str
) -> None:
    merchant = await api.create_merchant()
    assert (await _set(api, merchant, "Europe/London"))["userErrors"] == []
    payload = await _set(api, merchant, name)
    assert payload["timeZone"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("UNKNOWN_TIME_ZONE", ["input", "timeZone"])
    ]
    assert "IANA time zone" in payload["userErrors"][0]["message"]
    assert (await _summary(api, merchant))["timeZone"] == "Europe/London"
