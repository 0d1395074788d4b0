"""Refuses text that PostgreSQL cannot store, before anything runs: a NUL character (its text
types refuse \\x00) or a lone surrogate (not encodable as UTF-8). Such a value is the client's
mistake (BAD_USER_INPUT, naming the argument or variable), never a database error of ours.

String literals in the document are checked by a validation rule (`JunkLiterals`, cached with
the document's validation); variables by the `InputGuard` extension, placed right after
ValidationCache in api/schema.py so that strawberry sees its error as a validation error and
executes nothing. Compiled reads and the live fast path (api/compiled,
api/refunds/live_plans.py) hand such requests to strawberry, which refuses them here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ArgumentNode, ObjectFieldNode, StringValueNode, ValidationRule
from strawberry.extensions import SchemaExtension

from api.errors import BadUserInput

WHY = "contains a NUL character or a lone surrogate, which cannot be stored as text"


def unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def junk_path(value: Any) -> list[str | int] | None:
    """The path to the first unstorable string (a key or a value) inside a JSON value, or None.

    Walks without recursion: a request body may nest 1,024 levels (api/graphql_view.py)."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if unstorable(item):
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and unstorable(key):
                    return path
                stack.append((child, [*path, key]))
        elif isinstance(item, list):
            stack.extend((child, [*path, index]) for index, child in enumerate(item))
    return None


def describe(path: list[str | int]) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)


class JunkLiterals(ValidationRule):
    """A string literal (or block string) PostgreSQL could not store."""

    def enter_string_value(
        self, node: StringValueNode, _key: Any, parent: Any, _path: Any, ancestors: list[Any]
    ) -> None:
        if not unstorable(node.value):
            return
        named = (ArgumentNode, ObjectFieldNode)
        names = [a.name.value for a in [*ancestors, parent] if isinstance(a, named)]
        where = ".".join(names) or "A string literal"
        self.report_error(BadUserInput(f"{where} {WHY}.", nodes=[node]))


class InputGuard(SchemaExtension):
    """Refuses variables holding unstorable text, after validation and before execution."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors and context.variables:
            for name, value in context.variables.items():
                if unstorable(name):
                    where = "A variable's name"
                elif (path := junk_path(value)) is not None:
                    where = f"Variable ${name}{describe(path)}"
                else:
                    continue
                context.pre_execution_errors = [BadUserInput(f"{where} {WHY}.")]
                break
        yield
