// The Worker against the gateway emulator on its bad days: webhooks dropped, duplicated,
// reordered or wrongly signed; the API answering 429/5xx; batches failing, expiring or being
// cancelled. Real workerd, real HTTP, everything on 127.0.0.1.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { waitFor } from "../support/worker.mjs";
import { createBatch } from "../support/emulator.mjs";
import { ALL_EVENTS, fullEvent, send, startStack, TERMINAL } from "./helpers.mjs";

const RANK = { pending: 0, in_progress: 1, paused: 1, cancelling: 2 };
const rank = (s) => RANK[s] ?? 3;
let stack;

before(async () => {
  stack = await startStack({ speed: 1000, seed: 11 });
});

after(async () => {
  await stack?.stop();
});

/** Emulator knobs for one batch (metadata values must be strings). */
const knobs = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`emulator.${k}`, String(v)]));

async function converged(id, timeoutMs = 20_000) {
  const upstream = await stack.emu.api("GET", `/v1/batches/${id}`);
  const view = await stack.waitView(id, (v) => TERMINAL.has(v.status) && v.batchhook?.polling?.active === false, {
    timeoutMs,
    what: `${id} to be terminal and finished in the worker`,
  });
  const final = (await stack.emu.api("GET", `/v1/batches/${id}`)).body;
  assert.ok(TERMINAL.has(final.status), `emulator status ${final.status} (was ${upstream.body?.status})`);
  assert.equal(view.status, final.status, "worker and emulator agree on the final status");
  assert.deepEqual(view.request_counts, final.request_counts, "and on the counts");
  assert.equal(view.output_file_id ?? null, final.output_file_id ?? null);
  return view;
}

function assertNeverBackwards(view) {
  let last = -1;
  for (const t of view.batchhook.timeline) {
    assert.ok(rank(t.to_status) >= last, `timeline went backwards: ${JSON.stringify(view.batchhook.timeline)}`);
    last = rank(t.to_status);
  }
}

test("happy path: a batch with the worker as its webhook reaches completed there", async () => {
  const batch = await stack.create({ rows: 6 });
  const view = await converged(batch.id);
  assert.equal(view.status, "completed");
  const applied = view.batchhook.deliveries.filter((d) => d.outcome === "applied");
  assert.ok(applied.length >= 1, JSON.stringify(view.batchhook.deliveries));
  assert.ok(view.batchhook.timeline.some((t) => t.source === "webhook"));
  assertNeverBackwards(view);
  assert.deepEqual(view.batchhook.classification, []);
});

test("every webhook dropped: the batch converges by polling alone", async () => {
  // The emulator drops every delivery (drop_rate 1) before sending it, so the worker only
  // learns of the batch by being asked to track it.
  const batch = await stack.create({ rows: 4, metadata: knobs({ drop_rate: 1, run_s: 1500 }) });
  const track = await stack.worker.fetch(`/_test/ledger/${batch.id}/track`, { method: "POST" });
  assert.equal(track.status, 202, await track.text());
  const view = await converged(batch.id);
  assert.equal(view.batchhook.deliveries.length, 0, "no webhook ever arrived");
  assert.ok(view.batchhook.timeline.length >= 1);
  assert.ok(view.batchhook.timeline.every((t) => t.source === "poll"), JSON.stringify(view.batchhook.timeline));
  assertNeverBackwards(view);
  const log = await stack.sent(batch.id);
  assert.ok(log.length > 0, "the emulator had deliveries to drop");
  assert.ok(log.every((e) => e.outcome === "dropped"), JSON.stringify(log));
});

test("the first webhook to a batch tracked before any delivery is judged against the tracked state", async () => {
  // Tracking creates the ledger object, and its polls store the batch's status. A delivery
  // to a ledger that only created its schema skips reading its states (they are empty);
  // this pins that tracking and polling end that, so a webhook claiming an earlier status is
  // stale instead of moving the batch back.
  const batch = await stack.create({ rows: 4, metadata: knobs({ drop_rate: 1, run_s: 1500 }) });
  const track = await stack.worker.fetch(`/_test/ledger/${batch.id}/track`, { method: "POST" });
  assert.equal(track.status, 202, await track.text());
  const polled = await stack.waitView(batch.id, (v) => v.status != null && rank(v.status) > rank("pending"), {
    what: `${batch.id} polled past pending`,
  });
  const late = await send(stack.worker, stack.secret, `msg_${batch.id}_early`, fullEvent(batch.id, "pending"));
  assert.equal(late.status, 200, late.text);
  assert.equal(late.body.outcome, "stale", late.text);
  assert.ok(["older", "terminal"].includes(late.body.reason), late.text);
  const view = await stack.view(batch.id);
  assert.ok(rank(view.status) >= rank(polled.status), `${view.status} after ${polled.status}`);
  assert.ok(view.batchhook.timeline.every((t) => t.source === "poll"), JSON.stringify(view.batchhook.timeline));
});

test("a webhook after polling finished the batch sees the polled status and changes nothing", async () => {
  // The emulator sends nothing; the one webhook is ours. Pins that a delivery decides on what
  // the polls in between (the alarm) stored, not on what the previous delivery left.
  const batch = await stack.create({ rows: 4, metadata: knobs({ drop_rate: 1, run_s: 1500 }) });
  const first = await send(stack.worker, stack.secret, `msg_${batch.id}_1`, fullEvent(batch.id, "in_progress"));
  assert.equal(first.body.outcome, "applied", first.text);
  const done = await converged(batch.id);
  const late = await send(stack.worker, stack.secret, `msg_${batch.id}_2`, fullEvent(batch.id, "in_progress"));
  assert.equal(late.status, 200, late.text);
  assert.equal(late.body.outcome, "stale", late.text);
  assert.equal(late.body.reason, "terminal");
  assert.equal(late.body.status, done.status);
  const view = await stack.view(batch.id);
  assert.equal(view.status, done.status);
  assert.deepEqual(view.batchhook.timeline, done.batchhook.timeline);
  assertNeverBackwards(view);
});

test("each delivery duplicated five times is applied once", async () => {
  const batch = await stack.create({ rows: 6, metadata: knobs({ duplicate: 5, run_s: 1500 }) });
  await converged(batch.id);
  // The emulator logs each copy as it sends it: wait until every delivery's five copies are out.
  const sent = await waitFor(async () => {
    const s = (await stack.sent(batch.id)).filter((e) => e.outcome === "sent");
    const copies = new Map();
    for (const e of s) copies.set(e.webhook_id, (copies.get(e.webhook_id) ?? 0) + 1);
    return [...copies.values()].every((n) => n === 5) && s;
  }, { timeoutMs: 15_000, what: "all five copies of every delivery to be sent" });
  const ids = new Set(sent.map((e) => e.webhook_id));
  assert.ok(ids.size >= 2, `expected several deliveries, got ${ids.size}`);
  assert.ok(sent.every((e) => e.response_status === 200), "every copy was acknowledged");
  const view = await stack.waitView(batch.id, (v) => v.batchhook.deliveries.reduce((n, d) => n + 1 + d.duplicates, 0) === sent.length, {
    what: "the worker to have received every copy",
  });
  const rows = view.batchhook.deliveries;
  assert.equal(rows.length, ids.size, "one row per webhook-id");
  for (const row of rows) {
    assert.ok(ids.has(row.webhook_id));
    assert.equal(row.duplicates, 4, `${row.webhook_id} duplicates`);
  }
  const transitions = view.batchhook.timeline.map((t) => t.to_status);
  assert.equal(new Set(transitions).size, transitions.length, `a status applied twice: ${transitions}`);
});

test("deliveries reordered newest-first never move the batch backwards", async () => {
  const batch = await stack.create({ rows: 6, metadata: knobs({ reorder: true }) });
  const view = await converged(batch.id);
  assertNeverBackwards(view);
  const byArrival = [...view.batchhook.deliveries].sort((a, b) => a.received_at - b.received_at);
  assert.ok(byArrival.length >= 2, JSON.stringify(byArrival));
  const late = byArrival.filter((d) => d.payload_status && !TERMINAL.has(d.payload_status));
  assert.ok(late.length >= 1, "some non-terminal deliveries arrived after the terminal one");
  for (const d of late) assert.ok(d.outcome === "stale" && d.detail === "terminal", JSON.stringify(d));
});

test("wrongly signed deliveries are refused with 401 and nothing is stored from them", async () => {
  const batch = await stack.create({ rows: 3, metadata: knobs({ wrong_secret_rate: 1, max_attempts: 2, retry_base_s: 1 }) });
  await waitFor(async () => {
    const s = (await stack.sent(batch.id)).filter((e) => e.outcome === "sent");
    return s.length >= 2 && s;
  }, { timeoutMs: 15_000, what: "wrongly signed deliveries to be sent" });
  const sent = (await stack.sent(batch.id)).filter((e) => e.outcome === "sent");
  assert.ok(sent.every((e) => e.signature === "wrong_secret" && e.response_status === 401), JSON.stringify(sent));
  assert.equal(await stack.view(batch.id), null, "nothing stored for a batch only announced by forged deliveries");
});

test("gateway 429 with Retry-After: polls wait at least as long as the server asked", async () => {
  const batch = await stack.create({ rows: 3, events: [], metadata: knobs({ api_429_rate: 1, retry_after_s: 1, run_s: 100000 }) });
  await stack.worker.fetch(`/_test/ledger/${batch.id}/track`, { method: "POST" });
  const view = await stack.waitView(batch.id, (v) => (v.batchhook?.polling?.log ?? []).filter((p) => p.http_status === 429).length >= 3, {
    timeoutMs: 15_000,
    what: "three rate-limited polls",
  });
  const log = view.batchhook.polling.log.filter((p) => p.http_status === 429);
  for (const p of log) assert.ok(p.next_in_ms >= 1000, `next poll in ${p.next_in_ms} ms despite Retry-After: 1`);
  for (let i = 1; i < log.length; i++) {
    assert.ok(log[i].at - log[i - 1].at >= 990, `polls ${log[i].at - log[i - 1].at} ms apart`);
  }
  assert.ok(view.batchhook.polling.consecutive_failures >= 3);
});

test("gateway 5xx: polls back off, the failure is classified, and polling recovers", async () => {
  const batch = await stack.create({ rows: 3, events: [], metadata: knobs({ run_s: 3000 }) });
  await stack.emu.admin("POST", "/_admin/faults", { api_5xx_rate: 1 });
  try {
    await stack.worker.fetch(`/_test/ledger/${batch.id}/track`, { method: "POST" });
    const failing = await stack.waitView(batch.id, (v) => v.batchhook?.polling?.consecutive_failures >= 5, {
      timeoutMs: 15_000,
      what: "five failed polls",
    });
    const delays = failing.batchhook.polling.log.filter((p) => p.http_status === 503).map((p) => p.next_in_ms);
    assert.ok(delays.every((d) => d >= 100 && d <= 800), `delays within [POLL_MIN_MS, POLL_MAX_MS]: ${delays}`);
    assert.ok(
      failing.batchhook.classification.some((f) => f.kind === "reconciliation"),
      JSON.stringify(failing.batchhook.classification),
    );
  } finally {
    await stack.emu.admin("DELETE", "/_admin/faults");
  }
  const view = await converged(batch.id);
  assert.equal(view.batchhook.polling.consecutive_failures, 0);
  assert.ok(!view.batchhook.classification.some((f) => f.kind === "reconciliation"));
});

test("a batch failed upstream is classified as upstream execution", async () => {
  const batch = await stack.create({ rows: 4, metadata: knobs({ fail: "in_progress" }) });
  const view = await converged(batch.id);
  assert.equal(view.status, "failed");
  const f = view.batchhook.classification.find((c) => c.kind === "upstream_execution");
  assert.ok(f, JSON.stringify(view.batchhook.classification));
  assert.equal(f.whole_batch, true);
});

test("an expired batch is classified as expired", async () => {
  const batch = await stack.create({ rows: 4, metadata: knobs({ expire: 60 }) });
  const view = await converged(batch.id);
  assert.equal(view.status, "expired");
  assert.ok(view.batchhook.classification.some((c) => c.kind === "expired"), JSON.stringify(view.batchhook.classification));
});

test("a batch cancelled mid-run is classified as cancelled (not by batchhook)", async () => {
  const batch = await stack.create({ rows: 4, metadata: knobs({ run_s: 3000 }) });
  await stack.waitView(batch.id, (v) => v.status === "in_progress", { what: "the batch to run" });
  const cancel = await stack.emu.api("POST", `/v1/batches/${batch.id}/cancel`);
  assert.equal(cancel.status, 200, cancel.text);
  const view = await converged(batch.id);
  assert.equal(view.status, "cancelled");
  assertNeverBackwards(view);
  const f = view.batchhook.classification.find((c) => c.kind === "cancelled");
  assert.ok(f, JSON.stringify(view.batchhook.classification));
  assert.equal(f.by, "unknown");
});
