"""Limits on a document's shape (depth, aliases, selections), in time linear in the document.

strawberry's QueryDepthLimiter and MaxAliasesLimiter walk a fragment again each time it is
spread: fragments that each spread the previous one twice cost 2^n, and 40 of them never
returned (tests/api/test_query_bomb.py). Here every definition is walked once, fragments in
dependency order, and a spread adds the memoised measure of its fragment. graphql-core's
OverlappingFieldsCanBeMerged compares selections pairwise, so the selections written in a
document are capped too; api/bounded_validation.py runs these limits before graphql-core's
rules, which a document over any of them never reaches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

MAX_DEPTH = 10  # nested fields with selections, as strawberry's QueryDepthLimiter counted them
MAX_ALIASES = 30  # in all operations, a fragment's counting once per spread
MAX_TOKENS = 2_000  # refused while parsing (graphql-core's max_lexical_tokens)
MAX_COMMENTS = 200  # ignored by the parser, but kept in memory until then
# Fields, fragment spreads and inline fragments written in the document (GraphiQL's
# introspection has 75). graphql-core compares selections pairwise: at this cap its rules took
# at most ~20 ms on the worst documents bench/validation.py generates; 600 took 87 ms.
MAX_SELECTIONS = 200
# Counts stop growing here: a chain of fragments doubling at each step would otherwise carry
# numbers with as many digits as the document has tokens.
CEILING = 10**15

Definition = OperationDefinitionNode | FragmentDefinitionNode
M = TypeVar("M")


def saturated(n: int) -> int:
    return min(n, CEILING)


def shown(n: int) -> str:
    return f"more than {CEILING:,}" if n >= CEILING else f"{n:,}"


def spreads_in(selection_set: SelectionSetNode | None) -> Iterator[str]:
    """The names of the fragments spread in a selection set, at any depth."""
    stack = [selection_set] if selection_set else []
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif selection.selection_set:  # type: ignore[attr-defined]
                stack.append(selection.selection_set)  # type: ignore[attr-defined]


def in_dependency_order(document: DocumentNode) -> list[FragmentDefinitionNode]:
    """The document's fragments, each after every fragment it spreads. A spread that closes a
    cycle is left out: NoFragmentCyclesRule reports the cycle."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    spreads = {name: list(spreads_in(f.selection_set)) for name, f in fragments.items()}
    ordered: list[FragmentDefinitionNode] = []
    done: set[str] = set()
    for root in fragments:
        if root in done:
            continue
        path, on_path = [(root, iter(spreads[root]))], {root}
        while path:
            name, pending = path[-1]
            for spread in pending:
                if spread in fragments and spread not in done and spread not in on_path:
                    path.append((spread, iter(spreads[spread])))
                    on_path.add(spread)
                    break
            else:
                path.pop()
                on_path.remove(name)
                done.add(name)
                ordered.append(fragments[name])
    return ordered


def memoised(
    document: DocumentNode, measure: Callable[[Definition, dict[str, M]], M]
) -> tuple[dict[str, M], list[tuple[OperationDefinitionNode, M]]]:
    """`measure` of every fragment (once each, knowing those it spreads) and every operation."""
    fragments: dict[str, M] = {}
    for fragment in in_dependency_order(document):
        fragments[fragment.name.value] = measure(fragment, fragments)
    operations = [
        (d, measure(d, fragments))
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]
    return fragments, operations


@dataclass(frozen=True, slots=True)
class Shape:
    depth: int
    aliases: int


@dataclass(slots=True)
class ShapeWalk:
    """Measures one definition; `visits` counts the selections walked (the work done)."""

    fragments: dict[str, Shape]
    visits: int = 0

    def walk(self, selection_set: SelectionSetNode | None) -> Shape:
        depth = aliases = 0
        for selection in selection_set.selections if selection_set else ():
            self.visits += 1
            if isinstance(selection, FragmentSpreadNode):
                inner = self.fragments.get(selection.name.value, Shape(0, 0))
            elif isinstance(selection, InlineFragmentNode):
                inner = self.walk(selection.selection_set)
            else:
                inner = self.field(selection)  # type: ignore[arg-type]
            depth = max(depth, inner.depth)
            aliases = saturated(aliases + inner.aliases)
        return Shape(depth, aliases)

    def field(self, field: FieldNode) -> Shape:
        inner = self.walk(field.selection_set)
        aliases = inner.aliases + (1 if field.alias else 0)
        # Introspection is not counted (GraphiQL's own query is deep); its cost is.
        if not field.selection_set or field.name.value.startswith("__"):
            return Shape(0, aliases)
        return Shape(1 + inner.depth, aliases)


@dataclass(frozen=True, slots=True)
class DocumentShape:
    selections: int  # fields, spreads and inline fragments written in the document
    operations: list[tuple[OperationDefinitionNode, Shape]]
    visits: int  # selections walked to measure it: linear in the document

    @property
    def aliases(self) -> int:
        return saturated(sum(shape.aliases for _, shape in self.operations))


def measure(document: DocumentNode) -> DocumentShape:
    selections = sum(1 for _ in _all_selections(document))
    walks: list[ShapeWalk] = []

    def shape_of(definition: Definition, fragments: dict[str, Shape]) -> Shape:
        walks.append(walk := ShapeWalk(fragments))
        return walk.walk(definition.selection_set)

    _, operations = memoised(document, shape_of)
    return DocumentShape(selections, operations, selections + sum(w.visits for w in walks))


def _all_selections(document: DocumentNode) -> Iterator[object]:
    stack = [d.selection_set for d in document.definitions if hasattr(d, "selection_set")]
    while stack:
        for selection in stack.pop().selections:
            yield selection
            if getattr(selection, "selection_set", None):
                stack.append(selection.selection_set)


def limit_errors(document: DocumentNode) -> list[GraphQLError]:
    """What is over the limits, in the messages strawberry's limiters gave (clients may match
    them); an empty list when the document is within them."""
    shape = measure(document)
    if shape.selections > MAX_SELECTIONS:
        return [
            GraphQLError(
                f"The document has {shape.selections} selections (fields, fragment spreads and "
                f"inline fragments); at most {MAX_SELECTIONS} are allowed."
            )
        ]
    errors = [
        GraphQLError(
            f"'{operation.name.value if operation.name else 'anonymous'}' exceeds maximum "
            f"operation depth of {MAX_DEPTH}",
            operation,
        )
        for operation, op_shape in shape.operations
        if op_shape.depth > MAX_DEPTH
    ]
    if shape.aliases > MAX_ALIASES:
        errors.append(GraphQLError(f"{shown(shape.aliases)} aliases found. Allowed: {MAX_ALIASES}"))
    return errors
