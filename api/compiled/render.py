"""A selection compiled into one Python function that builds its JSON object: a dict display
with one entry per field, plain attribute reads for plain fields, enum names from a table built
off the schema's own enum type, and the schema's serializers for other leaves. This is what
removes graphql-core's per-field machinery from compiled reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLEnumType, GraphQLID, GraphQLString

Render = Callable[[Any, Any], dict[str, Any]]


def enum_names(named: GraphQLEnumType) -> dict[Any, str]:
    """value -> name, as GraphQLEnumType.serialize maps them (checked for every value)."""
    table = {value.value: name for name, value in named.values.items()}
    for value, name in table.items():
        assert named.serialize(value) == name
    return table


def _leaf(i: int, value: str, named: Any, env: dict[str, Any]) -> str:
    if isinstance(named, GraphQLEnumType):
        env[f"E{i}"] = enum_names(named)
        return f"E{i}[{value}]"
    env[f"S{i}"] = named.serialize
    if named is GraphQLString or named is GraphQLID:  # serialize is the identity on str
        return f"({value} if {value}.__class__ is str else S{i}({value}))"
    return f"S{i}({value})"


def _entry(i: int, field: Any, env: dict[str, Any]) -> str:
    spec = field.spec
    if spec.attr is not None:
        read = f"o.{spec.attr}"
    else:
        env[f"G{i}"] = spec.get
        read = f"G{i}(o, s)"
    v = f"v{i}"
    if field.child is None and field.is_list:  # of non-null leaves (api/compiled/plan.py)
        expr = f"[{_leaf(i, 'x', field.named, env)} for x in {v}]"
    elif field.child is None:
        expr = _leaf(i, v, field.named, env)
    else:
        env[f"R{i}"] = field.child.render
        expr = f"[R{i}(x, s) for x in {v}]" if field.is_list else f"R{i}({v}, s)"
    if field.nullable:
        return f"(None if ({v} := {read}) is None else {expr})"
    return f"(({v} := {read}), {expr})[1]" if expr.count(v) > 1 else expr.replace(v, read)


def compile_render(fields: tuple[Any, ...]) -> Render:
    env: dict[str, Any] = {}
    entries = [f"{field.key!r}: {_entry(i, field, env)}" for i, field in enumerate(fields)]
    source = "def render(o, s):\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(source, "<compiled render>", "exec"), env)  # noqa: S102 - built from the schema
    return env["render"]  # type: ignore[no-any-return]
