"""Refund batches as CSV over real HTTP: `POST /refund-batches` (amounts in rupees, read
exactly; every bad row and column listed, nothing created) and the results as CSV."""

from __future__ import annotations

import csv
import io
import secrets
from typing import Any

import httpx

from tests.api.account_state import merchant_with_balance
from tests.api.batches import applied
from tests.api.test_api_keys import create_key
from tests.support import Api, Merchant


async def post_csv(
    api: Api, token: str | None, body: str | bytes, key: str | None = None, **headers: str
) -> httpx.Response:
    sent = {"Content-Type": "text/csv"}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    sent["Idempotency-Key"] = key or f"csv-{secrets.token_hex(6)}"
    sent.update(headers)
    return await api.http.post("/refund-batches", content=body, headers=sent)


async def results(api: Api, merchant: Merchant, batch_id: str) -> httpx.Response:
    return await api.http.get(
        f"/refund-batches/{batch_id}/results.csv",
        headers={"Authorization": f"Bearer {merchant.key}"},
    )


async def _batch_count(api: Api, merchant: Merchant) -> int:
    found = await api.gql("{ refundBatches { totalCount } }", token=merchant.key)
    return int(found["refundBatches"]["totalCount"])


async def test_a_csv_batch_is_created_applied_and_its_results_read_as_csv(api: Api) -> None:
    # given two payments, one named by its order
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    await api.record_transaction(merchant, amount=50_00, orderId="ORD-9")
    body = (
        "transaction_id,order_id,amount,reason,speed,notes,idempotency_key\r\n"
        f'{paid["id"]},,12.34,CUSTOMER_REQUEST,,"damaged, returned\nin two lines",\r\n'
        ",ORD-9,,order_cancelled,INSTANT,,my-key-2\r\n"
        f"{paid['id']},,100.00,OTHER,,,\r\n"
    )
    # when it is posted
    response = await post_csv(api, merchant.key, body.encode())
    # then the batch is created and applied like any other
    assert response.status_code == 201, response.text
    batch_id = response.json()["batchId"]
    done = await applied(api, merchant, batch_id)
    assert [i["status"] for i in done["items"]] == ["CREATED", "CREATED", "REFUSED"]
    assert [i["amount"] for i in done["items"]] == [12_34, None, 100_00]
    assert done["items"][1]["refund"]["amount"] == 50_00
    # and its results are the input rows with status, refund id and error code
    answer = await results(api, merchant, batch_id)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["row"] for r in rows] == ["1", "2", "3"]
    assert [r["status"] for r in rows] == ["CREATED", "CREATED", "REFUSED"]
    assert rows[0]["amount"] == "12.34"
    assert rows[0]["notes"] == "damaged, returned\nin two lines"
    assert rows[0]["refund_id"] == done["items"][0]["refund"]["id"]
    assert rows[1]["order_id"] == "ORD-9"
    assert rows[1]["idempotency_key"] == "my-key-2"
    assert rows[2]["error_code"] == "AMOUNT_EXCEEDS_REFUNDABLE"
    assert rows[2]["refund_id"] == ""


async def test_bad_rows_are_all_listed_and_nothing_is_created(api: Api) -> None:
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    t = paid["id"]
    body = (
        "transaction_id,order_id,amount,reason\n"
        f"{t},,12.345,OTHER\n"  # 1: three decimals
        f"{t},,1e3,OTHER\n"  # 2: not a plain number
        f"{t},,-5,OTHER\n"  # 3: negative
        f"{t},,5,NOPE\n"  # 4: no such reason
        f"{t},ORD,5,OTHER\n"  # 5: both payments
        ",,5,OTHER\n"  # 6: neither
        f"{t},,5\n"  # 7: a field short
        f"{t},,0.00,OTHER\n"  # 8: zero
        f"{t},,5.00,OTHER\n"  # 9: fine
        f"{t},,abc,\n"  # 10: two faults
    )
    response = await post_csv(api, merchant.key, body)
    assert response.status_code == 400
    faults = [(e["row"], e["column"]) for e in response.json()["errors"]]
    assert faults == [
        (1, "amount"),
        (2, "amount"),
        (3, "amount"),
        (4, "reason"),
        (5, None),
        (6, None),
        (7, None),
        (8, "amount"),
        (10, "amount"),
        (10, "reason"),
    ]
    assert all(e["message"] for e in response.json()["errors"])
    assert await _batch_count(api, merchant) == 0
    # a header without a payment column, or naming an unknown one
    bad_header = await post_csv(api, merchant.key, "amount,reason,colour\n5,OTHER,red\n")
    assert bad_header.status_code == 400
    assert [(e["row"], e["column"]) for e in bad_header.json()["errors"]] == [
        (0, None),
        (0, "colour"),
    ]
    empty = await post_csv(api, merchant.key, "")
    assert empty.status_code == 400
    only_header = await post_csv(api, merchant.key, "transaction_id,reason\n")
    assert only_header.status_code == 400
    with_nul = await post_csv(api, merchant.key, "order_id,reason,notes\nORD,OTHER,a\x00b\n")
    assert [(e["row"], e["column"]) for e in with_nul.json()["errors"]] == [(1, "notes")]
    not_utf8 = await post_csv(api, merchant.key, b"order_id,reason\nORD\xff,OTHER\n")
    assert not_utf8.status_code == 400
    assert not_utf8.json()["errors"][0]["message"] == "The body is not UTF-8 text."
    assert await _batch_count(api, merchant) == 0


async def test_resubmitting_with_the_same_key_returns_the_same_batch(api: Api) -> None:
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    body = f"transaction_id,amount,reason\n{paid['id']},1.00,OTHER\n"
    first = await post_csv(api, merchant.key, body, key="upload-1")
    again = await post_csv(api, merchant.key, body, key="upload-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = await post_csv(api, merchant.key, body.replace("1.00", "2.00"), key="upload-1")
    assert other.status_code == 409
    assert other.json()["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await _batch_count(api, merchant) == 1


async def test_requests_that_are_not_a_merchants_csv_are_refused(api: Api) -> None:
    merchant = await merchant_with_balance(api, 1_000_00)
    body = "order_id,reason\nORD,OTHER\n"
    assert (await post_csv(api, None, body)).status_code == 401
    assert (await post_csv(api, "rk_nonsense", body)).status_code == 401
    assert (await post_csv(api, api.admin_token, body)).status_code == 403
    read_only = (await create_key(api, merchant, scope="READ_ONLY"))["key"]
    assert (await post_csv(api, read_only, body)).status_code == 403
    as_json = await post_csv(api, merchant.key, body, **{"Content-Type": "application/json"})
    assert as_json.status_code == 415
    no_key = await api.http.post(
        "/refund-batches",
        content=body,
        headers={"Authorization": f"Bearer {merchant.key}", "Content-Type": "text/csv"},
    )
    assert no_key.status_code == 400
    assert await _batch_count(api, merchant) == 0


async def test_another_merchants_results_are_not_found(api: Api) -> None:
    owner = await merchant_with_balance(api, 100_00)
    other = await api.create_merchant()
    body = "order_id,reason\nORD,OTHER\n"
    batch_id = (await post_csv(api, owner.key, body)).json()["batchId"]
    assert (await results(api, owner, batch_id)).status_code == 200
    for asked in (batch_id, "rbt_" + "0" * 32, "nonsense"):
        answer: Any = await results(api, other, asked)
        assert answer.status_code == 404
        assert batch_id not in answer.text
