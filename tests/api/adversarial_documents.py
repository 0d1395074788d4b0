"""Documents built to make validation slow, each family at sizes up to the token limit
(api/query_limits.py). Used by tests/api/test_query_limits.py and bench/validation.py."""

from __future__ import annotations

from collections.abc import Callable

SUBTREE = "ledger { edges { node { id amount } } }"


def fragment_chain(n: int, leaf: str = "id name") -> str:
    """Issue 8's bomb: each fragment spreads the previous one twice (2^n fields expanded)."""
    lines = [f"fragment F0 on Merchant {{ {leaf} }}"]
    lines += [f"fragment F{i} on Merchant {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, n)]
    return "\n".join([*lines, f"query {{ viewer {{ ...F{n - 1} }} }}"])


def fragment_fan(n: int) -> str:
    """n fragments with the same fields, all spread in one selection set: pairs to compare."""
    fragments = [f"fragment F{i} on Merchant {{ name {SUBTREE} }}" for i in range(n)]
    spreads = " ".join(f"...F{i}" for i in range(n))
    return "\n".join([f"{{ viewer {{ {spreads} }} }}", *fragments])


def fragment_mesh(n: int) -> str:
    """Each fragment spreads every earlier one: n^2 spreads, exponential when expanded."""
    fragments = [
        f"fragment F{i} on Merchant {{ name {' '.join(f'...F{j}' for j in range(i))} }}"
        for i in range(n)
    ]
    return "\n".join([f"{{ viewer {{ ...F{n - 1} }} }}", *fragments])


def wide_selection(n: int) -> str:
    """One field n times: graphql-core compares every pair with the same response name."""
    return "{ viewer { " + " ".join(["name"] * n) + " } }"


def wide_subtrees(n: int) -> str:
    """A field with selections n times: each pair compared, subtrees included."""
    return "{ viewer { " + " ".join([SUBTREE] * n) + " } }"


def inline_fragments(n: int) -> str:
    return "{ viewer { " + " ".join(["... on Merchant { name }"] * n) + " } }"


def aliases(n: int) -> str:
    return "{ viewer { " + " ".join(f"a{i}: name" for i in range(n)) + " } }"


def directives(n: int) -> str:
    """A field under many (repeated, non-repeatable) directives."""
    return "{ viewer { name " + "@include(if: true) " * n + "} }"


def variables(n: int) -> str:
    """Many variables, each used by a directive."""
    definitions = " ".join(f"$v{i}: Boolean = true" for i in range(n))
    uses = " ".join(f"name @include(if: $v{i})" for i in range(n))
    return f"query Q({definitions}) {{ viewer {{ {uses} }} }}"


def deep_nesting(n: int) -> str:
    inner = "id"
    for _ in range(n):
        inner = f"transaction {{ refunds {{ {inner} }} }}"
    return f'{{ refund(id: "x") {{ {inner} }} }}'


def wide_connections(n: int) -> str:
    """Big pages, aliased: passes depth and selections, refused by cost."""
    return (
        "{ "
        + " ".join(f"t{i}: transactions(first: 100) {{ {SUBTREE_T} }}" for i in range(n))
        + " }"
    )


SUBTREE_T = "edges { node { id refunds { id events { status } } } }"

GENERATORS: dict[str, tuple[Callable[[int], str], list[int]]] = {
    "fragment chain": (fragment_chain, [10, 20, 24, 40, 100, 180]),
    "fragment fan": (fragment_fan, [10, 50, 100, 150]),
    "fragment mesh": (fragment_mesh, [10, 20, 40, 60]),
    "wide selection": (wide_selection, [100, 200, 250, 600, 1_990]),
    "wide subtrees": (wide_subtrees, [10, 40, 60, 150]),
    "inline fragments": (inline_fragments, [50, 100, 125, 300]),
    "aliases": (aliases, [30, 31, 600]),
    "directives": (directives, [10, 100, 300]),
    "variables": (variables, [10, 50, 100, 150]),
    "deep nesting": (deep_nesting, [4, 5, 100]),
    "wide connections": (wide_connections, [1, 3, 30]),
}
FAMILIES: dict[str, dict[int, str]] = {
    family: {n: make(n) for n in sizes} for family, (make, sizes) in GENERATORS.items()
}
