// The dashboard's GraphQL client: queries and mutations over HTTP POST, refundUpdated and
// refundBatchUpdated over one graphql-transport-ws socket (the vendored graphql-ws client), the
// batch CSV over POST /refund-batches, all with the merchant's key in the Authorization header /
// connection_init and nowhere else.
import { createClient } from "/static/vendor/graphql-ws@6.4.2/client.js";

export class Unauthenticated extends Error {}

export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join(" "));
    this.errors = errors;
  }
}

export async function request(key, query, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new Error("The service cannot be reached. Check the connection and try again.");
  }
  const body = await response.json().catch(() => null);
  if (response.status === 401) {
    throw new Unauthenticated(body?.errors?.[0]?.message ?? "The API key was not accepted.");
  }
  if (!body || body.errors) {
    throw new GraphQLError(body?.errors ?? [{ message: `The service answered ${response.status}.` }]);
  }
  return body.data;
}

// POST /refund-batches: { batchId } when created (201), { errors: [{row, column, message}] } when
// the file was refused (400: nothing created), else throws with the service's message.
export async function uploadBatch(key, file, idempotencyKey) {
  let response;
  try {
    response = await fetch("/refund-batches", {
      method: "POST",
      headers: {
        "Content-Type": "text/csv",
        Authorization: `Bearer ${key}`,
        "Idempotency-Key": idempotencyKey,
      },
      body: file,
    });
  } catch {
    throw new Error("The service cannot be reached. Check the connection and try again.");
  }
  const body = await response.json().catch(() => null);
  if (response.status === 401) throw new Unauthenticated(body?.errors?.[0]?.message ?? "");
  if (response.status === 201 || response.status === 400) return body;
  throw new Error(body?.errors?.[0]?.message ?? `The service answered ${response.status}.`);
}

// The batch's results CSV as a Blob (the key goes in a header, so a plain link cannot fetch it).
export async function batchResults(key, batchId) {
  let response;
  try {
    response = await fetch(`/refund-batches/${encodeURIComponent(batchId)}/results.csv`, {
      headers: { Authorization: `Bearer ${key}` },
    });
  } catch {
    throw new Error("The service cannot be reached. Check the connection and try again.");
  }
  if (response.status === 401) throw new Unauthenticated("The API key was not accepted.");
  if (!response.ok) throw new Error(`The results could not be read (${response.status}).`);
  return response.blob();
}

// Calls onChange(refund) for every refundUpdated; onState("live" | "reconnecting") as the socket
// goes; onCaughtUp() after each reconnection, for the caller to re-read what it missed.
// Returns { stop(), watchBatch(query, id, onBatch) }: the latter subscribes on the same socket
// to refundBatchUpdated (re-subscribed after a reconnection) and returns its unsubscribe.
export function subscribeToRefunds(key, { onChange, onState, onCaughtUp, onRefused }) {
  const url = new URL("/graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let connectedBefore = false;
  const client = createClient({
    url: url.href,
    connectionParams: () => ({ Authorization: `Bearer ${key}` }),
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Infinity,
    // 4401/4403: the key is unknown or revoked; retrying cannot help
    shouldRetry: (event) => !(event && (event.code === 4401 || event.code === 4403)),
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 5_000))),
    onNonLazyError: () => {},
    on: {
      connected: () => {
        onState("live");
        if (connectedBefore) onCaughtUp();
        connectedBefore = true;
      },
      closed: (event) => {
        if (event && (event.code === 4401 || event.code === 4403)) onRefused();
        else onState("reconnecting");
      },
    },
  });
  client.subscribe(
    { query: "subscription Live { refundUpdated { id status transaction { id } } }" },
    {
      next: (result) => result.data && onChange(result.data.refundUpdated),
      error: () => onState("reconnecting"),
      complete: () => {},
    },
  );
  const watchBatch = (query, batchId, onBatch) =>
    client.subscribe(
      { query, variables: { id: batchId } },
      {
        next: (result) => result.data?.refundBatchUpdated && onBatch(result.data.refundBatchUpdated),
        error: () => onState("reconnecting"),
        complete: () => {},
      },
    );
  return { stop: () => client.dispose(), watchBatch };
}
