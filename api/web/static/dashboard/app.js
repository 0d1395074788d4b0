// The merchant dashboard (the accessible names here are a contract: tests/browser find things by
// them). Plain DOM, hash routes: #/transactions, #/transactions/<id>, #/refunds, #/ledger,
// #/batches, #/batches/<id>.
import {
  GraphQLError,
  Unauthenticated,
  batchResults,
  request,
  subscribeToRefunds,
  uploadBatch,
} from "./graphql.js";
import { formatMoney, parseRupees } from "./money.js";
import * as Q from "./queries.js";

const KEY_STORAGE = "refunds.apiKey";
const PAGE_SIZE = 20;
const BALANCE_POLL_MS = 30_000;
const BLOB_KEEP_MS = 60_000;
const CANCELLABLE = new Set(["PENDING", "ON_HOLD", "ACTION_REQUIRED"]);
const app = document.getElementById("app");

// ---- small DOM helpers: text goes in as text, never as HTML ----

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const statusBadge = (status) => h("span", { class: `status status-${status}` }, status);
const friendly = (value) => value.charAt(0) + value.slice(1).toLowerCase().replaceAll("_", " ");

function select(label, name, values, { any = null, selected = null } = {}) {
  const id = `select-${name}`;
  return h(
    "div",
    { class: "field", dataset: { field: name } },
    h("label", { for: id }, label),
    h(
      "select",
      { id, name },
      any === null ? null : h("option", { value: "" }, any),
      values.map((v) => h("option", { value: v, selected: v === selected }, friendly(v))),
    ),
  );
}

function textField(label, name, attributes = {}) {
  const id = `input-${name}`;
  return h(
    "div",
    { class: "field", dataset: { field: name } },
    h("label", { for: id }, label),
    h("input", { id, name, type: "text", autocomplete: "off", ...attributes }),
  );
}

// userErrors next to the field each names (its last path element), the rest at the form's top
function showErrors(form, errors) {
  clearErrors(form);
  for (const error of errors) {
    const name = error.field ? error.field[error.field.length - 1] : null;
    const field = name && form.querySelector(`[data-field="${name}"]`);
    const message = h("p", { class: "error", role: "alert" }, error.message);
    if (field) {
      const control = field.querySelector("input, select, textarea");
      message.id = `${control.id}-error`;
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", message.id);
      field.append(message);
    } else {
      form.prepend(message);
    }
  }
  form.querySelector("[aria-invalid=true]")?.focus();
}

function clearErrors(form) {
  form.querySelectorAll(".error").forEach((e) => e.remove());
  form.querySelectorAll("[aria-invalid]").forEach((c) => {
    c.removeAttribute("aria-invalid");
    c.removeAttribute("aria-describedby");
  });
}

function errorMessage(error) {
  if (error instanceof GraphQLError || error instanceof Error) return error.message;
  return String(error);
}

// ---- session ----

const session = {
  key: sessionStorage.getItem(KEY_STORAGE),
  merchant: null,
  stopLive: null,
  live: null, // the socket's subscriptions (graphql.js subscribeToRefunds)
  view: null, // { refresh(), onRefundChange(refund), leave?() }
};

async function api(query, variables) {
  try {
    return await request(session.key, query, variables);
  } catch (error) {
    if (error instanceof Unauthenticated && session.merchant) signOut("Your API key is no longer accepted. Sign in again.");
    throw error;
  }
}

function signInScreen(message = null) {
  const keyInput = h("input", {
    id: "api-key",
    name: "apiKey",
    type: "password",
    autocomplete: "off",
    required: true,
    spellcheck: "false",
  });
  const alert = h("div", { class: "alert-slot" });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    {
      class: "card sign-in",
      onsubmit: async (event) => {
        event.preventDefault();
        alert.replaceChildren();
        button.disabled = true;
        button.textContent = "Signing in…";
        try {
          const key = keyInput.value.trim();
          const data = await request(key, Q.VIEWER);
          sessionStorage.setItem(KEY_STORAGE, key);
          session.key = key;
          startSession(data.viewer);
        } catch (error) {
          const text =
            error instanceof Unauthenticated
              ? "That API key was not accepted. Check it and try again."
              : errorMessage(error);
          alert.replaceChildren(h("p", { class: "error", role: "alert" }, text));
          button.disabled = false;
          button.textContent = "Sign in";
          keyInput.focus();
        }
      },
    },
    h("h1", {}, "Refunds dashboard"),
    h("p", {}, "Sign in with one of your merchant API keys. It is kept in this tab only."),
    message ? h("p", { class: "notice", role: "status" }, message) : null,
    h("div", { class: "field" }, h("label", { for: "api-key" }, "API key"), keyInput),
    alert,
    button,
  );
  app.replaceChildren(form);
  keyInput.focus();
}

function signOut(message = null) {
  sessionStorage.removeItem(KEY_STORAGE);
  session.view?.leave?.();
  session.stopLive?.();
  Object.assign(session, { key: null, merchant: null, stopLive: null, live: null, view: null });
  window.removeEventListener("hashchange", route);
  signInScreen(message);
}

function startSession(viewer) {
  session.merchant = viewer;
  const balance = h("strong", { id: "balance" }, formatMoney(viewer.balance, viewer.currency));
  const liveState = h("span", { id: "live-state", class: "live" }, "Connecting…");
  const notice = h("p", { id: "notice", role: "status", class: "notice" });
  const link = (href, text) => h("a", { href }, text);
  const shell = h(
    "div",
    { class: "shell" },
    h(
      "header",
      {},
      h("p", { class: "merchant" }, viewer.name),
      h("p", { class: "balance" }, "Balance ", balance),
      liveState,
      h("button", { type: "button", class: "secondary", onclick: () => signOut() }, "Sign out"),
    ),
    h(
      "nav",
      { "aria-label": "Main" },
      link("#/transactions", "Transactions"),
      link("#/refunds", "Refunds"),
      link("#/ledger", "Ledger"),
      link("#/batches", "Batches"),
    ),
    notice,
    h("section", { id: "view" }),
  );
  app.replaceChildren(shell);
  session.live = subscribeToRefunds(session.key, {
    onChange: (refund) => {
      refreshBalance();
      session.view?.onRefundChange(refund);
    },
    onState: (state) => {
      liveState.textContent = state === "live" ? "Live" : "Reconnecting…";
      liveState.dataset.state = state;
    },
    onCaughtUp: () => {
      refreshBalance();
      session.view?.refresh();
    },
    onRefused: () => signOut("Your API key is no longer accepted. Sign in again."),
  });
  session.stopLive = session.live.stop;
  // A recharge pushes no refundUpdated: the balance is re-read on every screen change and
  // every BALANCE_POLL_MS while signed in.
  const poll = setInterval(refreshBalance, BALANCE_POLL_MS);
  const stopLive = session.stopLive;
  session.stopLive = () => {
    clearInterval(poll);
    stopLive();
  };
  window.addEventListener("hashchange", route);
  route(false);
}

// Live changes ask for it once each: see oneAtATime.
const refreshBalance = oneAtATime(readBalance);

async function readBalance() {
  try {
    const { viewer } = await api(Q.VIEWER);
    session.merchant = viewer;
    const balance = document.getElementById("balance");
    if (balance) balance.textContent = formatMoney(viewer.balance, viewer.currency);
  } catch {
    // the next change or reconnection tries again; the live state already says when offline
  }
}

function notify(text) {
  const notice = document.getElementById("notice");
  if (notice) notice.textContent = text;
}

// ---- routing ----

function route(rereadBalance = true) {
  const view = document.getElementById("view");
  if (!view) return;
  if (rereadBalance !== false) refreshBalance(); // false: just read at sign-in
  const [, page = "transactions", id] = window.location.hash.split("/");
  session.view?.leave?.();
  document.querySelectorAll("nav a").forEach((a) => {
    if (a.getAttribute("href") === `#/${page}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  if (page === "transactions" && id) session.view = transactionView(view, decodeURIComponent(id));
  else if (page === "refunds") session.view = refundsView(view);
  else if (page === "ledger") session.view = ledgerView(view);
  else if (page === "batches" && id) session.view = batchView(view, decodeURIComponent(id));
  else if (page === "batches") session.view = batchesView(view);
  else session.view = transactionsView(view);
  session.view.refresh();
}

// A list with cursor paging: cursors[i] is the `after` of page i.
function pager(onMove) {
  const state = { cursors: [null], page: 0, next: null };
  const previous = h("button", { type: "button", class: "secondary" }, "Previous page");
  const next = h("button", { type: "button", class: "secondary" }, "Next page");
  const where = h("span", { class: "where" });
  previous.addEventListener("click", () => {
    state.page -= 1;
    onMove();
  });
  next.addEventListener("click", () => {
    state.cursors[state.page + 1] = state.next;
    state.page += 1;
    onMove();
  });
  return {
    element: h("div", { class: "pager" }, previous, where, next),
    after: () => state.cursors[state.page],
    reset: () => Object.assign(state, { cursors: [null], page: 0, next: null }),
    onFirstPage: () => state.page === 0,
    update(connection) {
      state.next = connection.pageInfo.endCursor;
      previous.disabled = state.page === 0;
      next.disabled = !connection.pageInfo.hasNextPage;
      const from = state.page * PAGE_SIZE + 1;
      const to = state.page * PAGE_SIZE + connection.edges.length;
      where.textContent = connection.totalCount
        ? `${from}–${to} of ${connection.totalCount}`
        : "Nothing here yet";
    },
  };
}

// On a phone each row becomes a card of "heading: value" lines (style.css); the explicit roles
// keep it a table for assistive technology when CSS changes how it is laid out.
function table(caption, headings, rows) {
  for (const row of rows) {
    row.setAttribute("role", "row");
    [...row.children].forEach((cell, i) => {
      cell.setAttribute("role", "cell");
      cell.dataset.label = headings[i];
    });
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { role: "table" },
      h("caption", {}, caption),
      h(
        "thead",
        { role: "rowgroup" },
        h("tr", { role: "row" }, headings.map((t) => h("th", { scope: "col", role: "columnheader" }, t))),
      ),
      h("tbody", { role: "rowgroup" }, rows),
    ),
  );
}

// Reads overlap (a live change, a filter, a page): only the newest one's answer is shown.
// `busy()`: a read is on its way. A change patched into the page meanwhile would be painted over
// by that read's older answer, so a view then reads again instead of patching.
function newestOnly() {
  let newest = 0;
  let onTheirWay = 0;
  const newestAnswer = async (read) => {
    const mine = ++newest;
    onTheirWay += 1;
    try {
      const answer = await read();
      return mine === newest ? answer : null;
    } finally {
      onTheirWay -= 1;
    }
  };
  newestAnswer.busy = () => onTheirWay > 0;
  return newestAnswer;
}

// A re-read that live changes ask for: one on its way at a time, and one more after it when
// asked meanwhile. A burst of changes (a batch's thousands) then costs two reads, not one each,
// which the merchant's rate limit would count, and the last read starts after the last change.
function oneAtATime(read) {
  let running = null;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await read();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
}

// Runs `load`, showing progress, then its result or its error (nothing fails silently).
async function loading(target, load) {
  target.setAttribute("aria-busy", "true");
  try {
    await load();
  } catch (error) {
    if (!(error instanceof Unauthenticated)) {
      target.replaceChildren(h("p", { class: "error", role: "alert" }, errorMessage(error)));
    }
  } finally {
    target.removeAttribute("aria-busy");
  }
}

function patchStatus(refund) {
  let found = false;
  document.querySelectorAll(`[data-refund-status="${CSS.escape(refund.id)}"]`).forEach((cell) => {
    cell.replaceChildren(statusBadge(refund.status));
    found = true;
  });
  return found;
}

// ---- transactions ----

function transactionsView(container) {
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter transactions" },
    select("Status", "status", Q.TRANSACTION_STATUSES, { any: "Any status" }),
    select("Payment method", "paymentMethod", Q.PAYMENT_METHODS, { any: "Any method" }),
    textField("Order ID", "orderId"),
    h("button", { type: "submit", class: "secondary" }, "Filter"),
  );
  const results = h("div", { class: "results" });
  const newest = newestOnly();
  const liveRefresh = oneAtATime(refresh); // what live changes call
  const paging = pager(() => refresh());
  filters.addEventListener("change", (event) => {
    if (event.target.tagName === "SELECT") {
      paging.reset();
      refresh();
    }
  });
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    paging.reset();
    refresh();
  });
  container.replaceChildren(h("h1", {}, "Transactions"), filters, results, paging.element);

  function filter() {
    const form = new FormData(filters);
    const value = {};
    for (const name of ["status", "paymentMethod", "orderId"]) {
      const v = String(form.get(name) ?? "").trim();
      if (v) value[name] = v;
    }
    return value;
  }

  async function refresh() {
    await loading(results, async () => {
      const answer = await newest(() =>
        api(Q.TRANSACTIONS, { first: PAGE_SIZE, after: paging.after(), filter: filter() }),
      );
      if (!answer) return;
      const { transactions } = answer;
      paging.update(transactions);
      results.replaceChildren(
        table(
          "Transactions",
          ["Order ID", "Date", "Amount", "Method", "Status", "Refunded", "Refundable"],
          transactions.edges.map(({ node: t }) =>
            h(
              "tr",
              { dataset: { transactionId: t.id } },
              h("td", {}, h("a", { href: `#/transactions/${encodeURIComponent(t.id)}` }, t.orderId)),
              h("td", {}, when(t.createdAt)),
              h("td", { class: "money" }, formatMoney(t.amount, t.currency)),
              h("td", {}, t.paymentMethod),
              h("td", {}, statusBadge(t.status)),
              h("td", { class: "money" }, formatMoney(t.refundedAmount, t.currency)),
              h("td", { class: "money" }, formatMoney(t.refundableAmount, t.currency)),
            ),
          ),
        ),
      );
    });
  }

  return {
    refresh,
    onRefundChange: (refund) => {
      // refunded / refundable amounts move with a refund's status: re-read the rows on show
      const onShow = results.querySelector(`[data-transaction-id="${CSS.escape(refund.transaction.id)}"]`);
      if (onShow || newest.busy()) liveRefresh();
    },
  };
}

// ---- one transaction: its refunds, the refund dialog, destination and cancel ----

function transactionView(container, id) {
  const body = h("div");
  container.replaceChildren(body);
  let transaction = null;
  const newest = newestOnly();
  const liveRefresh = oneAtATime(refresh); // what live changes call
  let editing = false; // a destination form is open: a re-read would throw its input away

  async function refresh() {
    await loading(body, async () => {
      const data = await newest(() => api(Q.TRANSACTION, { id }));
      if (!data) return;
      transaction = data.transaction;
      if (!transaction) {
        body.replaceChildren(h("h1", {}, "Transaction not found"));
        return;
      }
      editing = false;
      body.replaceChildren(...render(transaction));
    });
  }

  function render(t) {
    const reason =
      t.status !== "SUCCESS"
        ? "Only successful payments can be refunded."
        : t.refundableAmount === 0
          ? "Nothing left to refund: the whole amount is refunded or being refunded."
          : null;
    const refundButton = h(
      "button",
      {
        type: "button",
        disabled: reason !== null,
        "aria-describedby": reason ? "refund-disabled-reason" : null,
        onclick: () => openRefundDialog(t, refresh),
      },
      "Refund",
    );
    return [
      h("p", {}, h("a", { href: "#/transactions" }, "← All transactions")),
      h("h1", {}, t.orderId),
      h(
        "dl",
        { class: "facts" },
        fact("Amount", formatMoney(t.amount, t.currency)),
        fact("Status", statusBadge(t.status)),
        fact("Payment method", t.paymentMethod),
        fact("Paid from", t.source),
        fact("Reference", t.reference),
        fact("Date", when(t.createdAt)),
        fact("Refunded", formatMoney(t.refundedAmount, t.currency)),
        fact("Refundable", formatMoney(t.refundableAmount, t.currency)),
      ),
      h("div", { class: "actions" }, refundButton, reason ? h("p", { id: "refund-disabled-reason", class: "hint" }, reason) : null),
      h("h2", {}, "Refunds"),
      t.refunds.length
        ? h("div", { class: "refunds" }, t.refunds.map((r) => refundCard(r, t.currency)))
        : h("p", {}, "No refunds yet."),
    ];
  }

  function refundCard(r, currency) {
    const actions = h("div", { class: "actions" });
    if (r.status === "ACTION_REQUIRED") {
      actions.append(
        h("button", { type: "button", onclick: () => openDestinationForm(r, card) }, "Update destination"),
      );
    }
    if (CANCELLABLE.has(r.status)) {
      actions.append(
        h("button", { type: "button", class: "danger", onclick: (e) => cancel(r, e.currentTarget) }, "Cancel refund"),
      );
    }
    const card = h(
      "article",
      { class: "card refund", "aria-label": `Refund ${r.id}` },
      h(
        "h3",
        {},
        formatMoney(r.amount, currency),
        " ",
        h("span", { dataset: { refundStatus: r.id } }, statusBadge(r.status)),
      ),
      h(
        "dl",
        { class: "facts" },
        fact("Refund ID", r.id),
        fact("Reason", friendly(r.reason)),
        fact("Speed", friendly(r.speedProcessed ?? r.speedRequested)),
        fact("To", `${r.destination.display} (${friendly(r.destination.kind)})`),
        r.notes ? fact("Notes", r.notes) : null,
        r.status === "PROCESSED"
          ? fact("Bank reference", r.bankReference ?? "—")
          : fact("Expected by", when(r.estimatedSettlementAt)),
      ),
      r.failureMessage && r.status === "ACTION_REQUIRED"
        ? h("p", { class: "why" }, `Action required: ${r.failureMessage}`)
        : r.failureMessage
          ? h("p", { class: "why" }, r.failureMessage)
          : null,
      h(
        "ol",
        { class: "timeline", "aria-label": "Status timeline" },
        r.events.map((e) =>
          h("li", {}, h("time", { datetime: e.at }, when(e.at)), " ", e.status, e.message ? ` — ${e.message}` : ""),
        ),
      ),
      actions,
    );
    return card;
  }

  async function cancel(r, button) {
    button.disabled = true;
    button.textContent = "Cancelling…";
    try {
      const { cancelRefund } = await api(Q.CANCEL_REFUND, { input: { refundId: r.id } });
      if (cancelRefund.userErrors.length) notify(cancelRefund.userErrors.map((e) => e.message).join(" "));
      else notify(`Refund ${r.id} cancelled.`);
    } catch (error) {
      notify(errorMessage(error));
    }
    refreshBalance();
    await refresh();
  }

  function openDestinationForm(r, card) {
    editing = true;
    const kind = h(
      "fieldset",
      {},
      h("legend", {}, "Send the refund to"),
      h("label", {}, h("input", { type: "radio", name: "kind", value: "upi", checked: true }), " a UPI ID"),
      h("label", {}, h("input", { type: "radio", name: "kind", value: "bank" }), " a bank account"),
    );
    const upi = h("div", { class: "upi" }, textField("UPI ID", "upiVpa", { placeholder: "name@bank" }));
    const bank = h(
      "div",
      { class: "bank", hidden: true },
      textField("Account number", "accountNumber", { inputmode: "numeric" }),
      textField("IFSC", "ifsc"),
      textField("Account holder", "holderName"),
    );
    const save = h("button", { type: "submit" }, "Save destination");
    const form = h(
      "form",
      { class: "destination" },
      kind,
      upi,
      bank,
      h("div", { class: "actions" }, save, h("button", { type: "button", class: "secondary", onclick: () => refresh() }, "Close")),
    );
    kind.addEventListener("change", () => {
      const toBank = form.elements.kind.value === "bank";
      bank.hidden = !toBank;
      upi.hidden = toBank;
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const input = { refundId: r.id };
      const values = new FormData(form);
      if (values.get("kind") === "bank") {
        input.bankAccount = {
          accountNumber: String(values.get("accountNumber")).trim(),
          ifsc: String(values.get("ifsc")).trim(),
          holderName: String(values.get("holderName")).trim(),
        };
      } else {
        input.upiVpa = String(values.get("upiVpa")).trim();
      }
      save.disabled = true;
      save.textContent = "Saving…";
      try {
        const { updateRefundDestination: payload } = await api(Q.UPDATE_DESTINATION, { input });
        if (payload.userErrors.length) {
          showErrors(form, payload.userErrors);
        } else {
          notify(`Refund ${r.id} will be sent to ${payload.refund.destination.display}.`);
          await refresh();
          return;
        }
      } catch (error) {
        showErrors(form, [{ message: errorMessage(error), field: null }]);
      }
      save.disabled = false;
      save.textContent = "Save destination";
    });
    card.querySelector(".actions").replaceWith(form);
    form.querySelector("input[name=upiVpa]").focus();
  }

  return {
    refresh,
    onRefundChange: (refund) => {
      if (!transaction || refund.transaction.id !== transaction.id) return;
      const keepInput = editing || document.querySelector("dialog[open]");
      if (keepInput && !newest.busy()) patchStatus(refund);
      else liveRefresh();
    },
  };
}

function fact(term, value) {
  return [h("dt", {}, term), h("dd", {}, value)];
}

// ---- the refund dialog ----

function openRefundDialog(t, onDone) {
  const max = formatMoney(t.refundableAmount, t.currency);
  const amount = h("input", {
    id: "refund-amount",
    name: "amount",
    type: "text",
    inputmode: "decimal",
    autocomplete: "off",
    placeholder: max.replace("₹", ""),
    "aria-describedby": "refund-amount-hint",
  });
  const confirm = h("button", { type: "submit" }, "Confirm refund");
  const close = () => dialog.close();
  const form = h(
    "form",
    { method: "dialog", novalidate: true },
    h("h2", { id: "refund-title" }, "Refund"),
    h("p", {}, `Order ${t.orderId}, paid ${formatMoney(t.amount, t.currency)} by ${t.paymentMethod}.`),
    h(
      "div",
      { class: "field", dataset: { field: "amount" } },
      h("label", { for: "refund-amount" }, "Amount (₹)"),
      amount,
      h("p", { id: "refund-amount-hint", class: "hint" }, `Up to ${max}. Leave empty to refund all of it.`),
    ),
    select("Reason", "reason", Q.REFUND_REASONS, { selected: "CUSTOMER_REQUEST" }),
    select("Speed", "speed", Q.REFUND_SPEEDS, { selected: "NORMAL" }),
    h(
      "div",
      { class: "field", dataset: { field: "notes" } },
      h("label", { for: "refund-notes" }, "Notes"),
      h("textarea", { id: "refund-notes", name: "notes", rows: 2, maxlength: 500 }),
    ),
    h(
      "div",
      { class: "field checkbox", dataset: { field: "queueIfInsufficientBalance" } },
      h("input", { id: "refund-queue", name: "queue", type: "checkbox" }),
      h("label", { for: "refund-queue" }, "Queue if balance is short"),
    ),
    h(
      "div",
      { class: "actions" },
      confirm,
      h("button", { type: "button", class: "secondary", onclick: close }, "Close"),
    ),
  );
  const dialog = h("dialog", { "aria-labelledby": "refund-title", class: "card" }, form);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.addEventListener("keydown", (event) => keepFocusInside(dialog, event));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = new FormData(form);
    const input = {
      transactionId: t.id,
      reason: values.get("reason"),
      speed: values.get("speed"),
      queueIfInsufficientBalance: values.get("queue") === "on",
      // one attempt, one key: a retried submit after a lost answer never refunds twice
      idempotencyKey: form.dataset.idempotencyKey ?? (form.dataset.idempotencyKey = crypto.randomUUID()),
    };
    const notes = String(values.get("notes")).trim();
    if (notes) input.notes = notes;
    const typed = String(values.get("amount")).trim();
    if (typed) {
      try {
        input.amount = parseRupees(typed);
      } catch (error) {
        showErrors(form, [{ field: ["input", "amount"], message: error.message }]);
        return;
      }
    }
    confirm.disabled = true;
    confirm.textContent = "Refunding…";
    try {
      const { initiateRefund: payload } = await api(Q.INITIATE_REFUND, { input });
      if (payload.userErrors.length) {
        delete form.dataset.idempotencyKey; // nothing was made: the next attempt is a new one
        const requested = input.amount ?? t.refundableAmount;
        showErrors(form, await inRupees(payload.userErrors, requested, t));
      } else {
        const r = payload.refund;
        dialog.close();
        notify(`Refund of ${formatMoney(r.amount, t.currency)} created: ${r.status}.`);
        refreshBalance();
        await onDone();
        return;
      }
    } catch (error) {
      showErrors(form, [{ field: null, message: errorMessage(error) }]);
    }
    confirm.disabled = false;
    confirm.textContent = "Confirm refund";
  });
  document.body.append(dialog);
  dialog.showModal();
  amount.focus();
}

// A modal dialog makes the page behind it inert, but Tab from its last control would leave for
// the browser's own toolbar: go round to the first instead (and Shift+Tab the other way).
function keepFocusInside(dialog, event) {
  if (event.key !== "Tab") return;
  const controls = [...dialog.querySelectorAll("input, select, textarea, button")].filter(
    (c) => !c.disabled && c.offsetParent !== null,
  );
  const first = controls[0];
  const last = controls[controls.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

// The API's messages count paise; the person typed rupees: say it in rupees first.
async function inRupees(errors, requested, t) {
  const money = (minor) => formatMoney(minor, t.currency);
  let balance = null;
  if (errors.some((e) => e.code === "INSUFFICIENT_BALANCE")) {
    balance = (await api(Q.VIEWER)).viewer.balance;
  }
  return errors.map((e) => {
    if (e.code === "AMOUNT_EXCEEDS_REFUNDABLE") {
      return { ...e, message: `At most ${money(t.refundableAmount)} can be refunded. ${e.message}` };
    }
    if (e.code === "INSUFFICIENT_BALANCE" && requested > balance) {
      const short = money(requested - balance);
      return {
        ...e,
        message: `Short by ${short}: the balance is ${money(balance)}. Recharge, or tick "Queue if balance is short". ${e.message}`,
      };
    }
    return e;
  });
}

// ---- refunds ----

function refundsView(container) {
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter refunds" },
    select("Status", "status", Q.REFUND_STATUSES, { any: "Any status" }),
  );
  const results = h("div", { class: "results" });
  const newest = newestOnly();
  const liveRefresh = oneAtATime(refresh); // what live changes call
  const paging = pager(() => refresh());
  filters.addEventListener("change", () => {
    paging.reset();
    refresh();
  });
  filters.addEventListener("submit", (event) => event.preventDefault());
  container.replaceChildren(h("h1", {}, "Refunds"), filters, results, paging.element);

  async function refresh() {
    const status = new FormData(filters).get("status");
    await loading(results, async () => {
      const answer = await newest(() =>
        api(Q.REFUNDS, {
          first: PAGE_SIZE,
          after: paging.after(),
          filter: status ? { status: [status] } : {},
        }),
      );
      if (!answer) return;
      const { refunds } = answer;
      paging.update(refunds);
      results.replaceChildren(
        table(
          "Refunds",
          ["Order ID", "Refund ID", "Created", "Amount", "Status", "Expected by"],
          refunds.edges.map(({ node: r }) =>
            h(
              "tr",
              {},
              h("td", {}, h("a", { href: `#/transactions/${encodeURIComponent(r.transaction.id)}` }, r.transaction.orderId)),
              h("td", { class: "id" }, r.id),
              h("td", {}, when(r.createdAt)),
              h("td", { class: "money" }, formatMoney(r.amount, r.currency)),
              h("td", { dataset: { refundStatus: r.id } }, statusBadge(r.status)),
              h("td", {}, when(r.estimatedSettlementAt)),
            ),
          ),
        ),
      );
    });
  }

  return {
    refresh,
    onRefundChange: (refund) => {
      const status = new FormData(filters).get("status");
      // a row on show changes in place (unless a read on its way would paint over it); a refund
      // not on show (a new one) needs the list again
      if (!newest.busy() && !status && patchStatus(refund)) return;
      if (newest.busy() || paging.onFirstPage() || status) liveRefresh();
    },
  };
}

// ---- ledger ----

function ledgerView(container) {
  const results = h("div", { class: "results" });
  const newest = newestOnly();
  const liveRefresh = oneAtATime(refresh); // what live changes call
  const paging = pager(() => refresh());
  container.replaceChildren(h("h1", {}, "Ledger"), results, paging.element);

  async function refresh() {
    await loading(results, async () => {
      const answer = await newest(() => api(Q.LEDGER, { first: PAGE_SIZE, after: paging.after() }));
      if (!answer) return;
      const { viewer } = answer;
      const ledger = viewer.ledger;
      paging.update(ledger);
      results.replaceChildren(
        table(
          "Ledger",
          ["Date", "Kind", "Amount", "Balance after", "Reference"],
          ledger.edges.map(({ node: e }) =>
            h(
              "tr",
              {},
              h("td", {}, when(e.createdAt)),
              h("td", {}, friendly(e.kind)),
              h(
                "td",
                { class: "money" },
                formatMoney(e.kind === "REFUND_DEBIT" ? -e.amount : e.amount, viewer.currency),
              ),
              h("td", { class: "money" }, formatMoney(e.balanceAfter, viewer.currency)),
              h("td", { class: "id" }, e.refund ? e.refund.id : (e.reference ?? "")),
            ),
          ),
        ),
      );
    });
  }

  return {
    refresh,
    onRefundChange: () => {
      if (paging.onFirstPage()) liveRefresh();
    },
  };
}

// ---- refund batches: upload a CSV, list them, follow one live, cancel, download results ----

const applied = (b) => b.created + b.refused + b.cancelled;

function batchCounts(b) {
  return `${applied(b)} of ${b.total} items done: ${b.created} refunds created, ${b.refused} refused, ${b.cancelled} cancelled`;
}

function batchesView(container) {
  const fileInput = h("input", { id: "batch-file", name: "file", type: "file", accept: ".csv,text/csv", required: true });
  const problems = h("div", { class: "alert-slot" });
  const button = h("button", { type: "submit" }, "Upload batch");
  // One key per chosen file: a second click (or a retry after a dropped answer) sends the same
  // key, so the service returns the batch it made the first time instead of a second one.
  let idempotencyKey = null;
  fileInput.addEventListener("change", () => {
    idempotencyKey = crypto.randomUUID();
    problems.replaceChildren();
  });
  const form = h(
    "form",
    { class: "card upload", "aria-labelledby": "upload-heading", onsubmit: (event) => submit(event) },
    h("h2", { id: "upload-heading" }, "Upload a batch"),
    h(
      "p",
      { class: "hint", id: "batch-file-hint" },
      "A CSV file with a header row: transaction_id or order_id, amount (in rupees; empty refunds everything refundable), reason, and optionally speed, notes, idempotency_key.",
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "batch-file" }, "CSV file"),
      fileInput,
    ),
    problems,
    button,
  );
  fileInput.setAttribute("aria-describedby", "batch-file-hint");
  const results = h("div", { class: "results" });
  const newest = newestOnly();
  const paging = pager(() => refresh());
  container.replaceChildren(h("h1", {}, "Batches"), form, results, paging.element);

  async function submit(event) {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) return;
    idempotencyKey ??= crypto.randomUUID();
    problems.replaceChildren();
    button.disabled = true;
    button.textContent = "Uploading…";
    try {
      const answer = await uploadBatch(session.key, file, idempotencyKey);
      if (answer.batchId) {
        window.location.hash = `#/batches/${encodeURIComponent(answer.batchId)}`;
        return;
      }
      showProblems(answer.errors ?? []);
    } catch (error) {
      if (error instanceof Unauthenticated) signOut("Your API key is no longer accepted. Sign in again.");
      else problems.replaceChildren(h("p", { class: "error", role: "alert" }, errorMessage(error)));
    } finally {
      button.disabled = false;
      button.textContent = "Upload batch";
    }
  }

  function showProblems(errors) {
    const where = (e) => {
      const place = e.row === 0 ? "Header" : `Row ${e.row}`;
      return e.column ? `${place}, column ${e.column}` : place;
    };
    const count = errors.length === 1 ? "1 problem" : `${errors.length} problems`;
    problems.replaceChildren(
      h(
        "div",
        { class: "problems", role: "alert" },
        h("p", { class: "error" }, `The file has ${count}; no batch was created. Fix them and upload it again.`),
        h(
          "ul",
          { "aria-label": "Problems in the file" },
          errors.map((e) => h("li", {}, h("strong", {}, `${where(e)}: `), e.message)),
        ),
      ),
    );
  }

  async function refresh() {
    await loading(results, async () => {
      const answer = await newest(() => api(Q.REFUND_BATCHES, { first: PAGE_SIZE, after: paging.after() }));
      if (!answer) return;
      const { refundBatches } = answer;
      paging.update(refundBatches);
      results.replaceChildren(
        table(
          "Batches",
          ["Batch", "Uploaded", "Status", "Items", "Refunds created", "Refused", "Cancelled"],
          refundBatches.edges.map(({ node: b }) =>
            h(
              "tr",
              {},
              h("td", { class: "id" }, h("a", { href: `#/batches/${encodeURIComponent(b.id)}` }, b.id)),
              h("td", {}, when(b.createdAt)),
              h("td", {}, statusBadge(b.status)),
              h("td", {}, String(b.total)),
              h("td", {}, String(b.created)),
              h("td", {}, String(b.refused)),
              h("td", {}, String(b.cancelled)),
            ),
          ),
        ),
      );
    });
  }

  return { refresh, onRefundChange: () => {} };
}

function batchView(container, id) {
  const progressText = h("p", { id: "batch-progress", role: "status", "aria-label": "Batch progress", "aria-atomic": "true" }, "Loading…");
  const bar = h("progress", { "aria-label": "Items done", max: "1", value: "0" });
  const facts = h("dl", { class: "facts" });
  const message = h("div", { class: "alert-slot" });
  const cancel = h("button", { type: "button", class: "danger", hidden: true, onclick: () => cancelBatch() }, "Cancel batch");
  const download = h("button", { type: "button", class: "secondary", onclick: () => downloadResults() }, "Download results");
  container.replaceChildren(
    h("p", {}, h("a", { href: "#/batches" }, "All batches")),
    h("h1", {}, `Batch ${id}`),
    progressText,
    bar,
    facts,
    h("div", { class: "actions" }, cancel, download),
    message,
  );
  let batch = null;

  // Answers overlap (a push, a re-read, the cancel's own): a final state stands, and while the
  // batch runs its counts only grow, so the one with more items done is the newer.
  function newer(a, b) {
    if (!a) return b;
    if (a.status !== "RUNNING") return b.status !== "RUNNING" && applied(b) >= applied(a) ? b : a;
    return b.status !== "RUNNING" || applied(b) >= applied(a) ? b : a;
  }

  function show(found) {
    batch = newer(batch, found);
    progressText.textContent = `${batch.status}: ${batchCounts(batch)}.`;
    bar.max = batch.total;
    bar.value = applied(batch);
    facts.replaceChildren(
      ...fact("Status", statusBadge(batch.status)),
      ...fact("Uploaded", when(batch.createdAt)),
      ...fact("Finished", when(batch.completedAt)),
    );
    cancel.hidden = batch.status !== "RUNNING";
  }

  const stop = session.live.watchBatch(Q.REFUND_BATCH_UPDATED, id, (pushed) => {
    if (pushed.id === id) show(pushed);
  });

  async function refresh() {
    try {
      const { refundBatch } = await api(Q.REFUND_BATCH, { id });
      if (refundBatch) show(refundBatch);
      else progressText.textContent = "No batch of yours has that id.";
    } catch (error) {
      message.replaceChildren(h("p", { class: "error", role: "alert" }, errorMessage(error)));
    }
  }

  async function cancelBatch() {
    message.replaceChildren();
    cancel.disabled = true;
    cancel.textContent = "Cancelling…";
    try {
      const { cancelRefundBatch: answer } = await api(Q.CANCEL_REFUND_BATCH, { input: { id } });
      if (answer.userErrors.length) {
        message.replaceChildren(...answer.userErrors.map((e) => h("p", { class: "error", role: "alert" }, e.message)));
      }
      if (answer.batch) show(answer.batch);
      else await refresh();
    } catch (error) {
      message.replaceChildren(h("p", { class: "error", role: "alert" }, errorMessage(error)));
    } finally {
      cancel.disabled = false;
      cancel.textContent = "Cancel batch";
    }
  }

  async function downloadResults() {
    message.replaceChildren();
    download.disabled = true;
    download.textContent = "Preparing results…";
    try {
      const url = URL.createObjectURL(await batchResults(session.key, id));
      const link = h("a", { href: url, download: `${id}-results.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      // the download has its own copy once started; the URL is only kept that long
      setTimeout(() => URL.revokeObjectURL(url), BLOB_KEEP_MS);
    } catch (error) {
      if (error instanceof Unauthenticated) signOut("Your API key is no longer accepted. Sign in again.");
      else message.replaceChildren(h("p", { class: "error", role: "alert" }, errorMessage(error)));
    } finally {
      download.disabled = false;
      download.textContent = "Download results";
    }
  }

  return { refresh, onRefundChange: () => {}, leave: stop };
}

// ---- start ----

async function resume() {
  if (!session.key) {
    signInScreen();
    return;
  }
  try {
    const { viewer } = await request(session.key, Q.VIEWER);
    startSession(viewer);
  } catch (error) {
    if (error instanceof Unauthenticated) signOut("Your API key is no longer accepted. Sign in again.");
    else app.replaceChildren(h("p", { class: "error", role: "alert" }, errorMessage(error)));
  }
}

resume();
