"""A READ_ONLY key may query and subscribe; any mutation is refused before it runs."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from api.auth import MerchantPrincipal
from api.errors import Forbidden

READ_ONLY_MESSAGE = "This API key is READ_ONLY: use a FULL key to make changes."


class ReadOnlyKeys(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        principal = getattr(context.context, "principal", None)
        if (
            isinstance(principal, MerchantPrincipal)
            and principal.read_only
            and context.operation_type is OperationType.MUTATION
        ):
            # A result set before execution makes strawberry skip executing the document.
            context.result = ExecutionResult(data=None, errors=[Forbidden(READ_ONLY_MESSAGE)])
        yield
