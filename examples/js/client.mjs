// A merchant's back end in JavaScript (Node 20+): read a page of transactions with fetch,
// refund one with an idempotency key, and follow it live with graphql-ws until it settles.
//
//   cd examples/js && npm install
//   node client.mjs --url http://127.0.0.1:8000 --key rk_…
//
// It prints one JSON line per step (the tests read them: tests/examples/test_examples.py).
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const { values: args } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8000" },
    key: { type: "string" },
    amount: { type: "string", default: "100" },
  },
});
const auth = { Authorization: `Bearer ${args.key}` };
const SETTLED = new Set(["PROCESSED", "FAILED", "CANCELLED", "REVERSED", "ACTION_REQUIRED"]);
const say = (step, data = {}) => console.log(JSON.stringify({ step, ...data }));

async function graphql(query, variables) {
  const response = await fetch(`${args.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const PAGE = `query Page($first: Int!, $after: String) {
  transactions(first: $first, after: $after, filter: {status: SUCCESS}) {
    edges { node { id amount refundableAmount } }
    pageInfo { hasNextPage endCursor }
  } }`;
const INITIATE = `mutation Refund($input: InitiateRefundInput!) {
  initiateRefund(input: $input) { refund { id status } userErrors { code field message } } }`;
const STATUS = `query Status($id: ID!) { refund(id: $id) { id status } }`;
const FOLLOW = `subscription Follow($refundId: ID!) {
  refundUpdated(refundId: $refundId) { id status failureCode bankReference } }`;

async function firstRefundable() {
  let after = null;
  for (;;) {
    const { transactions } = await graphql(PAGE, { first: 20, after });
    const found = transactions.edges.find((e) => e.node.refundableAmount > 0);
    if (found) return found.node;
    if (!transactions.pageInfo.hasNextPage) return null;
    after = transactions.pageInfo.endCursor;
  }
}

const transaction = await firstRefundable();
if (!transaction) {
  say("nothing to refund");
  process.exit(0);
}
say("transaction", { id: transaction.id, refundable: transaction.refundableAmount });
// The idempotency key makes a retry safe: the same key returns the same refund.
const input = {
  transactionId: transaction.id,
  amount: Math.min(Number(args.amount), transaction.refundableAmount),
  reason: "CUSTOMER_REQUEST",
  idempotencyKey: `example-${randomUUID()}`,
};
const made = (await graphql(INITIATE, { input })).initiateRefund;
if (made.userErrors.length) {
  say("refused", { errors: made.userErrors });
  process.exit(0);
}
const again = (await graphql(INITIATE, { input })).initiateRefund;
const refund = made.refund;
say("refund", { id: refund.id, status: refund.status, retried_same: again.refund.id === refund.id });

if (!SETTLED.has(refund.status)) {
  const client = createClient({
    url: args.url.replace(/^http/, "ws") + "/graphql",
    webSocketImpl: WebSocket,
    connectionParams: auth,
  });
  const changes = client.iterate({ query: FOLLOW, variables: { refundId: refund.id } });
  // The protocol never says when the server has registered a subscription, and changes made
  // before then are not pushed: read the status now, and again whenever a second passes without
  // a change, so a change that slipped in before the registration is still seen.
  let pending = changes.next();
  for (;;) {
    const next = await Promise.race([pending, sleep(1000).then(() => null)]);
    if (next === null) {
      const now = (await graphql(STATUS, { id: refund.id })).refund;
      if (SETTLED.has(now.status)) {
        say("update", { id: now.id, status: now.status });
        break;
      }
      continue;
    }
    if (next.done) break;
    if (next.value.errors) throw new Error(JSON.stringify(next.value.errors));
    const update = next.value.data.refundUpdated;
    say("update", { id: update.id, status: update.status });
    if (SETTLED.has(update.status)) break;
    pending = changes.next();
  }
  await changes.return();
  await client.dispose();
}
