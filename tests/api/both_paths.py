"""Sending one request on both read paths of the same server: compiled (api/compiled), then
plain strawberry execution."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from api.compiled import CompiledReads
from api.graphql_view import GraphQLEndpoint
from tests.support import Api


def endpoint_of(app: Starlette) -> GraphQLEndpoint:
    for route in app.routes:
        found = getattr(route, "endpoint", None)
        if isinstance(found, GraphQLEndpoint):
            return found
    raise AssertionError("no GraphQL endpoint")


async def api_key_ids(api: Api, token: str) -> list[str]:
    """The ids of the API keys of the merchant whose key `token` is."""
    response = await api.gql("{ viewer { apiKeys { id } } }", token=token)
    return [k["id"] for k in response["viewer"]["apiKeys"]]


class Both:
    """Sends each request with compiled reads on, then off, and records which path answered."""

    def __init__(self, api: Api, endpoint: GraphQLEndpoint) -> None:
        self.api, self.endpoint = api, endpoint
        planned = endpoint.compiled_reads
        assert planned is not None, "compiled reads are on by default"
        self.planned: CompiledReads = planned
        self.answered_fast: list[bool] = []

    async def _send(self, body: dict[str, Any], token: str | None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.api.http.post("/graphql", json=body, headers=headers)
        return response.status_code, response.content

    async def compare(self, body: dict[str, Any], token: str | None) -> tuple[int, bytes]:
        planned = self.planned
        original = planned.respond
        answers: list[bool] = []

        async def spy(*args: Any) -> bytes | None:
            result = await original(*args)
            answers.append(result is not None)
            return result

        planned.respond = spy  # type: ignore[method-assign, assignment]
        try:
            fast = await self._send(body, token)
        finally:
            planned.respond = original  # type: ignore[method-assign]
        self.endpoint.compiled_reads = None
        try:
            plain = await self._send(body, token)
        finally:
            self.endpoint.compiled_reads = planned
        assert fast == plain, f"compiled read differs for {body}:\n{fast}\n{plain}"
        self.answered_fast.append(any(answers))
        return fast
