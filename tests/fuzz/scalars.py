"""Hypothesis strategies for the schema's scalars, as GraphQL literals (value nodes), shared by
schemathesis and the subscription fuzzer.

Each mixes what a well-behaved client sends (real IDs and cursors of the seeded data, money a
refund can take, dates with offsets) with what a hostile one sends (other tenants' IDs, NUL
bytes, lone surrogates, year 1 and year 9999, naive dates, floats as money, deep JSON)."""

from __future__ import annotations

from datetime import timedelta, timezone

import graphql
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from domain.money import MAX_MINOR_UNITS
from tests.fuzz.seed import Seeded

# Any code point, lone surrogates included (hypothesis leaves those out by default).
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
# What finding 2 of issue 8 showed to reach the database unchecked, made likely rather than rare.
HOSTILE_TEXT = st.sampled_from(["\x00", "a\x00b", "\ud800", "x" * 10_000, " ", "'; --"])
HOSTILE_DATETIMES = st.sampled_from(
    ["0001-01-01T00:00:00+05:30", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00Z"]
)
TEXT = st.one_of(ANY_TEXT, HOSTILE_TEXT)
OFFSETS = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23))
JSON_KEYS = st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,8}\Z")


def scalar_strategies(seeded: Seeded) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """By scalar name; `ID` and `String` replace the generators' own."""
    return {
        "ID": _ids(seeded).map(nodes.String),
        "String": st.one_of(st.sampled_from(seeded.strings), TEXT).map(nodes.String),
        "DateTime": _datetimes(),
        "MinorUnits": _minor_units(),
        "JSON": _json(),
    }


def _ids(seeded: Seeded) -> st.SearchStrategy[str]:
    real = st.sampled_from(seeded.ids)
    return st.one_of(
        real,
        real,  # twice as likely: most IDs a client sends name something
        st.tuples(real, TEXT).map("".join),  # a real ID with something after it
        st.tuples(real.map(lambda id_: id_.partition("_")[0]), TEXT).map("_".join),
        TEXT,
    )


def _datetimes() -> st.SearchStrategy[graphql.ValueNode]:
    aware = st.datetimes(timezones=OFFSETS.map(timezone)).map(lambda d: d.isoformat())
    naive = st.datetimes().map(lambda d: d.isoformat())
    return st.one_of(aware, aware, HOSTILE_DATETIMES, naive, TEXT).map(nodes.String)


def _minor_units() -> st.SearchStrategy[graphql.ValueNode]:
    return st.one_of(
        st.integers(1, 10_000).map(nodes.Int),  # what a refund of the seeded data can take
        st.integers(0, MAX_MINOR_UNITS).map(nodes.Int),
        st.integers().map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        TEXT.map(nodes.String),
    )


def _json() -> st.SearchStrategy[graphql.ValueNode]:
    leaves = st.one_of(
        st.just(nodes.Null),
        st.booleans().map(nodes.Boolean),
        st.integers().map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        TEXT.map(nodes.String),
    )
    values = st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=4).map(nodes.List)
            | st.dictionaries(JSON_KEYS, inner, max_size=4).map(_object)
        ),
        max_leaves=20,
    )
    deep = st.integers(1, 500).map(_nested_lists)
    return st.one_of(values, values, values, deep)


def _object(fields: dict[str, graphql.ValueNode]) -> graphql.ObjectValueNode:
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=value)
            for name, value in fields.items()
        ]
    )


def _nested_lists(depth: int) -> graphql.ValueNode:
    value: graphql.ValueNode = nodes.Int(1)
    for _ in range(depth):
        value = nodes.List([value])
    return value
