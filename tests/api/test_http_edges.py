"""The edges of HTTP: bad requests, limits, masking, health, readiness, metrics, GraphiQL."""

import httpx
import pytest

from api.app import create_app
from api.config import Settings
from api.errors import UNAVAILABLE_MESSAGE
from tests.serving import serving
from tests.support import Api


async def test_malformed_json_is_a_400_with_a_json_error(api: Api) -> None:
    merchant = await api.create_merchant()
    response = await api.http.post(
        "/graphql",
        content=b'{"query": "{ viewer { id } ',
        headers={"Authorization": f"Bearer {merchant.key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_body_over_one_mebibyte_is_refused_with_413(api: Api) -> None:
    merchant = await api.create_merchant()
    big = '{"query": "{ viewer { id } }", "variables": {"pad": "' + "x" * 1_100_000 + '"}}'
    response = await api.http.post(
        "/graphql",
        content=big.encode(),
        headers={"Authorization": f"Bearer {merchant.key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_query_deeper_than_the_limit_is_refused(api: Api) -> None:
    merchant = await api.create_merchant()
    nested = "id"
    for _ in range(6):
        nested = f"transaction {{ refunds {{ {nested} }} }}"
    deep = f"{{ refunds {{ edges {{ node {{ {nested} }} }} }} }}"  # depth 15
    response = await api.post(deep, token=merchant.key)
    error = response.json()["errors"][0]
    assert "exceeds maximum operation depth" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_too_many_aliases_are_refused(api: Api) -> None:
    merchant = await api.create_merchant()
    query = "{ " + " ".join(f"a{n}: viewer {{ id }}" for n in range(40)) + " }"
    response = await api.post(query, token=merchant.key)
    assert "aliases" in response.json()["errors"][0]["message"]


async def test_too_many_tokens_are_refused(api: Api) -> None:
    merchant = await api.create_merchant()
    query = "{ viewer { " + " ".join(["id"] * 2500) + " } }"
    response = await api.post(query, token=merchant.key)
    assert "tokens" in response.json()["errors"][0]["message"]


async def test_too_many_selections_are_refused(api: Api) -> None:
    merchant = await api.create_merchant()
    query = "{ viewer { " + " ".join(["id"] * 600) + " } }"
    response = await api.post(query, token=merchant.key)
    error = response.json()["errors"][0]
    assert "601 selections" in error["message"]  # viewer too
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_query_over_the_cost_limit_is_too_complex_with_its_variables(api: Api) -> None:
    merchant = await api.create_merchant()
    page = "transactions(first: $n) { edges { node { id refunds { id events { status } } } } }"
    query = f"query($n: Int) {{ a: {page} b: {page} c: {page} }}"  # 1 + n × (3 + 10 × 22) each
    small = await api.post(query, {"n": 10}, token=merchant.key)
    assert "errors" not in small.json()
    response = await api.post(query, {"n": 100}, token=merchant.key)
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 3 * 22_301, "limit": 50_000}


async def test_an_unknown_field_keeps_its_validation_message(api: Api) -> None:
    merchant = await api.create_merchant()
    response = await api.post("{ viewer { shoeSize } }", token=merchant.key)
    error = response.json()["errors"][0]
    assert "shoeSize" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize("amount", [100.5, 100.0, "100", -1, 2**53, True])
async def test_minor_units_refuse_anything_but_an_integer_in_range(
    api: Api, amount: object
) -> None:
    data = await api.post(
        "mutation($i: RechargeBalanceInput!) { rechargeBalance(input: $i) { merchant { id } } }",
        {"i": {"merchantId": "mer_" + "0" * 32, "amount": amount, "reference": "r"}},
        token=api.admin_token,
    )
    error = data.json()["errors"][0]
    assert "MinorUnits" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_health_metrics_and_graphiql(api: Api) -> None:
    assert (await api.http.get("/healthz")).text == "ok"
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "reachable"
    merchant = await api.create_merchant()
    await api.gql("query ViewerBalance { viewer { balance } }", token=merchant.key)
    metrics = (await api.http.get("/metrics")).text
    assert (
        'refunds_graphql_operations_total{operation="ViewerBalance",outcome="ok",type="query"}'
        in metrics
    )
    assert "refunds_graphql_operation_seconds_bucket" in metrics
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


@pytest.fixture
async def broken_server(tmp_path) -> object:  # type: ignore[no-untyped-def]
    """The app pointed at a database that is not there."""
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        data_dir=tmp_path,
        admin_token="adm_broken_" + "x" * 32,
        gateway_delay_scale=0,
        refund_window_days=180,
    )
    app = create_app(settings)
    async with serving(app, log_level="critical") as url:
        yield url


async def test_without_a_database_readiness_fails_and_clients_are_told_to_retry(
    broken_server: str,
) -> None:
    async with httpx.AsyncClient(base_url=broken_server, timeout=30) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        # a merchant key cannot even be looked up: 503, not a stack trace
        lookup = await http.post(
            "/graphql",
            json={"query": "{ viewer { id } }"},
            headers={"Authorization": "Bearer rk_whatever"},
        )
        assert lookup.status_code == 503
        assert lookup.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        # the admin token needs no lookup; the resolver's database error is masked, and
        # named for what it is: the database is away, retry later
        response = await http.post(
            "/graphql",
            json={"query": 'mutation { createMerchant(input: {name: "x"}) { apiKey } }'},
            headers={"Authorization": "Bearer adm_broken_" + "x" * 32},
        )
    body = response.json()
    assert body["errors"] == [
        {
            "message": UNAVAILABLE_MESSAGE,
            "locations": [{"line": 1, "column": 12}],
            "path": ["createMerchant"],
            "extensions": {"code": "SERVICE_UNAVAILABLE"},
        }
    ]
    text = response.text.lower()
    for leak in ["traceback", "asyncpg", "connect", "errno", "127.0.0.1:1"]:
        assert leak not in text
