"""The Relay `Node` interface: anything with a global ID that `node(id:)` can fetch."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with a global ID, fetchable with node(id:).")
class Node:
    id: strawberry.ID
