"""Read documents shared by the tests of compiled reads (api/compiled), as clients send them.
Nothing in the service names them: any read compiles."""

TRANSACTIONS = """query BenchTransactions($first: Int!, $after: String) {
  transactions(first: $first, after: $after) {
    edges {
      cursor
      node {
        id amount status createdAt refundedAmount refundableAmount
        refunds { id amount status }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

REFUND = """query BenchRefund($id: ID!) {
  refund(id: $id) {
    id amount currency status reason createdAt
    transaction { id amount status paymentMethod }
  }
}
"""

TRANSACTION = """query TransactionWithRefunds($id: ID!) {
  transaction(id: $id) {
    id reference orderId amount currency status paymentMethod source createdAt
    refundedAmount refundableAmount
    refunds {
      id amount currency status reason notes metadata speedRequested speedProcessed
      destination { kind display }
      failureCode failureMessage bankReference estimatedSettlementAt
      createdAt updatedAt processedAt
      events { status at message failureCode }
    }
  }
}
"""

DOCUMENTS = {
    "BenchTransactions": TRANSACTIONS,
    "BenchRefund": REFUND,
    "TransactionWithRefunds": TRANSACTION,
}
