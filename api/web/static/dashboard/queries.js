// The dashboard's GraphQL documents and the enum values its selects offer (schema.graphql's;
// tests/browser/test_dashboard_static.py checks these lists against the schema).

export const TRANSACTION_STATUSES = ["SUCCESS", "FAILED", "PENDING"];
export const PAYMENT_METHODS = ["UPI", "CARD", "NET_BANKING", "WALLET"];
export const REFUND_STATUSES = [
  "PENDING",
  "ON_HOLD",
  "PROCESSING",
  "PROCESSED",
  "FAILED",
  "ACTION_REQUIRED",
  "CANCELLED",
  "REVERSED",
];
export const REFUND_REASONS = [
  "CUSTOMER_REQUEST",
  "ORDER_CANCELLED",
  "FAILED_TRANSACTION",
  "DUPLICATE_PAYMENT",
  "PRODUCT_ISSUE",
  "FRAUD",
  "OTHER",
];
export const REFUND_SPEEDS = ["NORMAL", "INSTANT"];

export const VIEWER = "query Viewer { viewer { name currency balance } }";

export const TRANSACTIONS = `
query Transactions($first: Int!, $after: String, $filter: TransactionFilter) {
  transactions(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id orderId amount currency status paymentMethod createdAt refundedAmount refundableAmount
    } }
  }
}`;

const REFUND_DETAIL = `
  id amount status reason notes speedRequested speedProcessed destination { kind display }
  failureCode failureMessage bankReference estimatedSettlementAt createdAt processedAt
  events { status at message failureCode }`;

export const TRANSACTION = `
query Transaction($id: ID!) {
  transaction(id: $id) {
    id reference orderId amount currency status paymentMethod source createdAt
    refundedAmount refundableAmount
    refunds { ${REFUND_DETAIL} }
  }
}`;

export const REFUNDS = `
query Refunds($first: Int!, $after: String, $filter: RefundFilter) {
  refunds(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id amount currency status createdAt estimatedSettlementAt transaction { id orderId }
    } }
  }
}`;

export const LEDGER = `
query Ledger($first: Int!, $after: String) {
  viewer {
    currency
    ledger(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id kind amount balanceAfter reference createdAt refund { id } } }
    }
  }
}`;

const PAYLOAD = `refund { ${REFUND_DETAIL} } userErrors { code field message }`;

export const INITIATE_REFUND = `
mutation InitiateRefund($input: InitiateRefundInput!) { initiateRefund(input: $input) { ${PAYLOAD} } }`;

export const CANCEL_REFUND = `
mutation CancelRefund($input: CancelRefundInput!) { cancelRefund(input: $input) { ${PAYLOAD} } }`;

export const UPDATE_DESTINATION = `
mutation UpdateRefundDestination($input: UpdateRefundDestinationInput!) {
  updateRefundDestination(input: $input) { ${PAYLOAD} }
}`;

const BATCH_FIELDS = "id status total created refused cancelled createdAt completedAt";

export const REFUND_BATCHES = `
query RefundBatches($first: Int!, $after: String) {
  refundBatches(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ${BATCH_FIELDS} } }
  }
}`;

export const REFUND_BATCH = `
query RefundBatch($id: ID!) { refundBatch(id: $id) { ${BATCH_FIELDS} } }`;

export const REFUND_BATCH_UPDATED = `
subscription RefundBatchUpdated($id: ID!) { refundBatchUpdated(batchId: $id) { ${BATCH_FIELDS} } }`;

export const CANCEL_REFUND_BATCH = `
mutation CancelRefundBatch($input: CancelRefundBatchInput!) {
  cancelRefundBatch(input: $input) { batch { ${BATCH_FIELDS} } userErrors { code field message } }
}`;
