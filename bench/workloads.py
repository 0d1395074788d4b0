"""The read workloads: what real clients send, and the requests each run rotates over.

Each workload is one page a client shows, written as that client would write it (formatted
normally), with the equivalent document for the peer (PostGraphile, see bench/peer.py). The
ceiling (bench/ceiling.py) answers the service's documents byte for byte after JSON
normalisation; the peer answers the same rows in its own shape (bench/answers.py checks both
before anything is measured)."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.seed import WINDOW, Seeded, merchant_uuid

PAGE_SIZE = 20
MAX_UUID = "ffffffff-ffff-ffff-ffff-ffffffffffff"  # after every row at that instant

# (a) A transactions page as Apollo Client sends it: `__typename` in every selection set and the
# row as a named fragment.
TRANSACTIONS_PAGE = """query TransactionsPage($first: Int!, $after: String) {
  transactions(first: $first, after: $after) {
    __typename
    edges {
      __typename
      cursor
      node {
        __typename
        ...TransactionRow
      }
    }
    pageInfo {
      __typename
      hasNextPage
      endCursor
    }
  }
}

fragment TransactionRow on Transaction {
  __typename
  id
  amount
  status
  createdAt
  refundedAmount
  refundableAmount
  refunds {
    __typename
    id
    amount
    status
  }
}
"""

PEER_TRANSACTIONS_PAGE = """query TransactionsPage($merchant: UUID!, $first: Int!, $after: Cursor) {
  transactions: allTransactions(
    condition: { merchantId: $merchant }
    orderBy: [CREATED_AT_DESC, ROW_ID_DESC]
    first: $first
    after: $after
  ) {
    __typename
    edges {
      __typename
      cursor
      node {
        __typename
        ...TransactionRow
      }
    }
    pageInfo {
      __typename
      hasNextPage
      endCursor
    }
  }
}

fragment TransactionRow on Transaction {
  __typename
  id
  amount
  status
  createdAt
  refundedAmount
  refundableAmount
  refunds: refundsByMerchantIdAndTransactionId(orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) {
    __typename
    nodes {
      __typename
      id
      amount
      status
    }
  }
}
"""

# (b) One refund through node(id:), as a Relay client asks for a detail view.
REFUND_NODE = """query RefundDetail($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Refund {
      amount
      currency
      status
      reason
      createdAt
      transaction {
        id
        amount
        status
        paymentMethod
      }
    }
  }
}
"""

PEER_REFUND_NODE = """query RefundDetail($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Refund {
      amount
      currency
      status
      reason
      createdAt
      transaction: transactionByMerchantIdAndTransactionId {
        id
        amount
        status
        paymentMethod
      }
    }
  }
}
"""

# (c) A merchant dashboard's transactions screen: the merchant and its balance, a filtered page
# with the total count.
DASHBOARD = """query Dashboard($first: Int!, $filter: TransactionFilter) {
  viewer {
    id
    name
    currency
    balance
  }
  transactions(first: $first, filter: $filter) {
    totalCount
    edges {
      node {
        id
        orderId
        amount
        paymentMethod
        status
        refundedAmount
        refundableAmount
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
"""

PEER_DASHBOARD = """query Dashboard(
  $merchant: UUID!
  $first: Int!
  $condition: TransactionCondition!
) {
  viewer: merchantByRowId(rowId: $merchant) {
    id
    name
    currency
    balance
  }
  transactions: allTransactions(
    condition: $condition
    orderBy: [CREATED_AT_DESC, ROW_ID_DESC]
    first: $first
  ) {
    totalCount
    edges {
      node {
        id
        orderId
        amount
        paymentMethod
        status
        refundedAmount
        refundableAmount
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
"""

# (d) The refunds screen: a page of refunds, each with its transaction.
REFUNDS_PAGE = """query RefundsPage($first: Int!, $after: String) {
  refunds(first: $first, after: $after) {
    edges {
      cursor
      node {
        id
        amount
        status
        reason
        createdAt
        transaction {
          id
          orderId
          amount
          paymentMethod
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
"""

PEER_REFUNDS_PAGE = """query RefundsPage($merchant: UUID!, $first: Int!, $after: Cursor) {
  refunds: allRefunds(
    condition: { merchantId: $merchant }
    orderBy: [CREATED_AT_DESC, ROW_ID_DESC]
    first: $first
    after: $after
  ) {
    edges {
      cursor
      node {
        id
        amount
        status
        reason
        createdAt
        transaction: transactionByMerchantIdAndTransactionId {
          id
          orderId
          amount
          paymentMethod
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
"""

# (x) The earlier bench document, byte for byte what the service's old fast path answered (it
# matched exact texts; every read now compiles): kept to compare with the figures before
# (--workloads x).
BENCH_TRANSACTIONS = (
    Path(__file__).resolve().parent / "documents" / "BenchTransactions.graphql"
).read_text()

INITIATE_REFUND = """mutation BenchInitiateRefund($input: InitiateRefundInput!) {
  initiateRefund(input: $input) {
    refund { id amount status }
    userErrors { code field message }
  }
}"""


@dataclass(frozen=True)
class PeerCursor:
    """A page position for the peer, the same instant as ours. Its cursors are base64 JSON of [its
    digest of the order, createdAt, id, then the primary key (merchant_id, id) that it appends to
    make the order unique]; `sample` is one of its own cursors for the same order, decoded when
    the run starts (for the digest, and how many values its order has)."""

    stamp: str
    merchant: str

    def encode(self, sample: list[Any]) -> str:
        values = [sample[0], self.stamp, MAX_UUID, self.merchant, MAX_UUID][: len(sample)]
        return base64.b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


@dataclass
class Request:
    key: str  # the merchant's API key
    variables: dict[str, Any]  # for the service and the ceiling
    peer_variables: dict[str, Any]  # for the peer; a PeerCursor stands for its `after`

    def for_peer(self, sample: list[Any] | None) -> dict[str, Any]:
        after = self.peer_variables.get("after")
        if isinstance(after, PeerCursor):
            assert sample is not None, "a paged peer workload needs one of the peer's cursors"
            return {**self.peer_variables, "after": after.encode(sample)}
        return self.peer_variables


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    document: str
    peer_document: str | None
    requests: Callable[[Seeded, int, random.Random], list[Request]] = field(repr=False)


def _later_page(now: datetime, rng: random.Random, merchant: str) -> tuple[str, PeerCursor] | None:
    """Half the time the first page, otherwise a page after a position a client could hold: a
    point in time, with the largest id at it."""
    if rng.random() < 0.5:
        return None
    stamp = (now - WINDOW * rng.uniform(0.0, 0.95)).astimezone(UTC).isoformat()
    raw = f"{stamp}|{'f' * 32}"
    ours = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return ours, PeerCursor(stamp, merchant)


def _merchant(seeded: Seeded, rng: random.Random) -> tuple[str, str]:
    m = rng.randrange(seeded.merchants) + 1
    return seeded.keys[m - 1], str(merchant_uuid(m))


def paged_requests(seeded: Seeded, count: int, rng: random.Random) -> list[Request]:
    now = datetime.now(UTC)
    out = []
    for _ in range(count):
        key, merchant = _merchant(seeded, rng)
        later = _later_page(now, rng, merchant)
        out.append(
            Request(
                key,
                {"first": PAGE_SIZE, "after": later[0] if later else None},
                {"merchant": merchant, "first": PAGE_SIZE, "after": later[1] if later else None},
            )
        )
    return out


def refund_requests(seeded: Seeded, count: int, rng: random.Random) -> list[Request]:
    out = []
    for _ in range(count):
        m, refund_id = seeded.refund_ids[rng.randrange(len(seeded.refund_ids))]
        node = f'["Refund","{merchant_uuid(m)}","{refund_id}"]'  # its key: (merchant_id, id)
        peer_id = base64.b64encode(node.encode()).decode()
        out.append(Request(seeded.keys[m - 1], {"id": f"rfd_{refund_id.hex}"}, {"id": peer_id}))
    return out


STATUSES = [None, "SUCCESS", "FAILED", "PENDING"]
METHODS = [None, "UPI", "CARD", "NET_BANKING", "WALLET"]


def dashboard_requests(seeded: Seeded, count: int, rng: random.Random) -> list[Request]:
    """The first page under a filter a person picks: a status, a payment method, both or none."""
    out = []
    for _ in range(count):
        key, merchant = _merchant(seeded, rng)
        chosen = {"status": rng.choice(STATUSES), "paymentMethod": rng.choice(METHODS)}
        given = {k: v for k, v in chosen.items() if v is not None}
        out.append(
            Request(
                key,
                {"first": PAGE_SIZE, "filter": given or None},
                {
                    "merchant": merchant,
                    "first": PAGE_SIZE,
                    "condition": {"merchantId": merchant, **given},
                },
            )
        )
    return out


WORKLOADS = {
    w.key: w
    for w in (
        Workload(
            "a",
            "transactions page as Apollo Client sends it (`__typename`, a named fragment)",
            TRANSACTIONS_PAGE,
            PEER_TRANSACTIONS_PAGE,
            paged_requests,
        ),
        Workload(
            "b",
            "one refund through `node(id:)` with `... on Refund`",
            REFUND_NODE,
            PEER_REFUND_NODE,
            refund_requests,
        ),
        Workload(
            "c",
            "dashboard page: `viewer { balance }`, a filter, `totalCount`",
            DASHBOARD,
            PEER_DASHBOARD,
            dashboard_requests,
        ),
        Workload(
            "d",
            "refunds page, each refund with its transaction",
            REFUNDS_PAGE,
            PEER_REFUNDS_PAGE,
            paged_requests,
        ),
        Workload(
            "x",
            "the earlier exact `BenchTransactions` document (a trusted operation)",
            BENCH_TRANSACTIONS,
            None,
            paged_requests,
        ),
    )
}
DEFAULT_WORKLOADS = "abcd"
