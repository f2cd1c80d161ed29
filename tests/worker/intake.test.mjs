// The intake path in the real workerd, without a gateway (polls fail, which these tests do not
// look at): routing and JSON errors, signature checks, body limit, duplicates, ordering, the
// one-transaction guarantee, thin events and dead letters.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { newSecret } from "../support/emulator.mjs";
import { waitFor } from "../support/worker.mjs";
import { OPERATOR_AUTH, fullEvent, send, startWorkerWithoutGateway, thinEvent } from "./helpers.mjs";

const secret = newSecret();
let worker;

before(async () => {
  worker = await startWorkerWithoutGateway(`${newSecret()} ${secret}`, { MAX_BODY_BYTES: "4096" });
});

after(async () => {
  await worker?.stop();
});

async function view(id) {
  const res = await worker.fetch(`/v1/batches/${id}`, { headers: OPERATOR_AUTH });
  return { status: res.status, body: await res.json() };
}

async function assertNothingStored(batchId) {
  const v = await view(batchId);
  assert.equal(v.status, 404, `expected no stored batch ${batchId}, got ${JSON.stringify(v.body)}`);
  assert.equal(v.body.error.code, "batch_not_found");
}

function assertJsonError(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body?.error?.code, code, res.text);
  assert.equal(typeof res.body.error.message, "string");
  assert.ok(res.body.error.message.length > 10, res.body.error.message);
}

async function raw(path, init = {}) {
  const res = await worker.fetch(path, { ...init, headers: { ...OPERATOR_AUTH, ...init.headers } });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) };
}

test("unknown routes and wrong methods answer JSON 404/405", async () => {
  assertJsonError(await raw("/nope"), 404, "not_found");
  assertJsonError(await raw("/webhooks"), 404, "not_found");
  assertJsonError(await raw("/webhooks/aistats"), 405, "method_not_allowed");
  assertJsonError(await raw("/webhooks/aistats", { method: "PUT", body: "{}" }), 405, "method_not_allowed");
  assertJsonError(await raw("/v1/batches/b", { method: "DELETE" }), 405, "method_not_allowed");
  assertJsonError(await raw("/v1/batches/never_seen"), 404, "batch_not_found");
});

test("refusals read a small unread body, so the client's keep-alive connection stays usable", async () => {
  // Plain fetch (not worker.fetch, which retries once on a closed connection): a request Node
  // queued on a connection the runtime closed after a refusal would fail with a socket error.
  // Before refusals drained the body, about 1 in 200 of these follow-up requests failed.
  const at = (path) => new URL(path, worker.url);
  const refusals = [
    ["/v1/files", { method: "POST", body: "x".repeat(5000) }, 401],
    ["/nowhere", { method: "POST", body: "y".repeat(3000) }, 404],
    ["/webhooks/aistats", { method: "PUT", body: "z".repeat(3000) }, 405],
    ["/webhooks/aistats", { method: "POST", body: "w".repeat(5000) }, 413],
  ];
  for (let round = 0; round < 60; round++) {
    for (const [path, init, status] of refusals) {
      const refused = await fetch(at(path), init);
      assert.equal(refused.status, status);
      await refused.text();
      const next = await fetch(at("/v1/batches"), { headers: OPERATOR_AUTH });
      assert.equal(next.status, 200);
      await next.text();
    }
  }
});

test("a delivery without signature headers is refused with 400 and nothing is stored", async () => {
  const res = await raw("/webhooks/aistats", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(fullEvent("b_unsigned", "in_progress")),
  });
  assertJsonError(res, 400, "missing_header");
  await assertNothingStored("b_unsigned");
});

test("a wrong signature or an old timestamp is refused with 401 and nothing is stored", async () => {
  const wrong = await send(worker, newSecret(), "msg_wrong", fullEvent("b_wrong", "in_progress"));
  assertJsonError(wrong, 401, "no_matching_signature");
  const old = await send(worker, secret, "msg_old", fullEvent("b_wrong", "in_progress"), {
    timestamp: Math.floor(Date.now() / 1000) - 3600,
  });
  assertJsonError(old, 401, "timestamp_too_old");
  await assertNothingStored("b_wrong");
  const counters = await (await worker.fetch("/_test/index/rejections")).json();
  const codes = counters.data.map((r) => r.code);
  assert.ok(codes.includes("no_matching_signature") && codes.includes("timestamp_too_old"), JSON.stringify(counters));
  const dead = await (await worker.fetch("/_test/index/dead-letters")).json();
  assert.ok(!dead.data.some((d) => d.webhook_id === "msg_wrong" || d.webhook_id === "msg_old"), "unverifiable deliveries must not be stored");
});

test("an oversized body is refused with 413 before anything is stored", async () => {
  const event = fullEvent("b_big", "in_progress");
  event.data.metadata = { padding: "x".repeat(5000) };
  const res = await send(worker, secret, "msg_big", event);
  assertJsonError(res, 413, "payload_too_large");
  await assertNothingStored("b_big");
});

test("a verified body that is not JSON is refused with 400 and nothing is stored", async () => {
  const res = await send(worker, secret, "msg_garbage", '{"data":{"id":"b_garbage"');
  assertJsonError(res, 400, "invalid_event_payload");
  await assertNothingStored("b_garbage");
});

test("the second of two rotated secrets verifies", async () => {
  const res = await send(worker, secret, "msg_rot", fullEvent("b_rot", "pending"));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.outcome, "applied");
});

test("a delivery sent five times, concurrently, is applied once and counted as four duplicates", async () => {
  const event = fullEvent("b_dup", "in_progress");
  const answers = await Promise.all(Array.from({ length: 5 }, () => send(worker, secret, "msg_dup", event)));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
  const outcomes = answers.map((a) => a.body.outcome).sort();
  assert.deepEqual(outcomes, ["applied", "duplicate", "duplicate", "duplicate", "duplicate"]);
  const { body } = await view("b_dup");
  assert.equal(body.batchhook.deliveries.length, 1);
  assert.equal(body.batchhook.deliveries[0].duplicates, 4);
  assert.equal(body.batchhook.timeline.length, 1);
  assert.equal(body.batchhook.signals.webhook_duplicates, 4);
});

test("reordered deliveries never move a batch backwards and a terminal state is final", async () => {
  const order = [
    ["msg_r3", "completed", "applied", null],
    ["msg_r2", "in_progress", "stale", "terminal"],
    ["msg_r1", "pending", "stale", "terminal"],
    ["msg_r4", "failed", "stale", "terminal"],
  ];
  for (const [id, status, expected, reason] of order) {
    const res = await send(worker, secret, id, fullEvent("b_order", status));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.outcome, expected, `${id} (${status})`);
    assert.equal(res.body.reason, reason, `${id} (${status})`);
    assert.equal(res.body.status, "completed");
  }
  const { body } = await view("b_order");
  assert.equal(body.status, "completed");
  assert.deepEqual(body.batchhook.timeline.map((t) => [t.from_status, t.to_status]), [[null, "completed"]]);
  assert.equal(body.batchhook.deliveries.length, 4);
});

test("an out-of-order delivery before terminal is recorded as stale", async () => {
  assert.equal((await send(worker, secret, "msg_s2", fullEvent("b_stale", "in_progress"))).body.outcome, "applied");
  const late = await send(worker, secret, "msg_s1", fullEvent("b_stale", "pending"));
  assert.equal(late.body.outcome, "stale");
  assert.equal(late.body.reason, "older");
  assert.equal(late.body.status, "in_progress");
  const { body } = await view("b_stale");
  assert.equal(body.batchhook.deliveries.find((d) => d.webhook_id === "msg_s1").payload_status, "pending");
});

test("a failure inside the ledger transaction rolls the delivery insert back and answers 503", async () => {
  const event = fullEvent("b_rollback", "in_progress");
  const failed = await send(worker, secret, "msg_rb", event, { headers: { "x-batchhook-test-fault": "after-insert" } });
  assertJsonError(failed, 503, "storage_unavailable");
  await assertNothingStored("b_rollback");
  const retried = await send(worker, secret, "msg_rb", event);
  assert.equal(retried.status, 200, retried.text);
  assert.equal(retried.body.outcome, "applied", "the retry must not be taken for a duplicate");
});

test("a thin event is recorded and triggers an immediate poll", async () => {
  const res = await send(worker, secret, "msg_thin", thinEvent("b_thin"));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.outcome, "needs_reconcile");
  assert.equal(res.body.reason, "thin");
  // POLL_MIN_MS is a minute here, so a poll within seconds can only be the immediate one.
  const polled = await waitFor(async () => {
    const v = await worker.fetch("/v1/batches/b_thin", { headers: OPERATOR_AUTH });
    if (v.status !== 200) return false;
    const body = await v.json();
    return body.batchhook.polling.polls >= 1 && body;
  }, { timeoutMs: 10_000, what: "the immediate poll" });
  assert.equal(polled.batchhook.deliveries[0].outcome, "needs_reconcile");
  assert.equal(polled.batchhook.polling.log[0].outcome, "failed");
});

test("a delivery after a poll builds on the polled state, not on what the previous delivery left", async () => {
  // A poll (run by the alarm) must make the next delivery start from what the poll stored.
  // Each thin event polls at once and every poll fails here, so the poll count only grows —
  // unless a delivery wrote back a state it held from before the poll.
  const polls = async (atLeast) =>
    waitFor(async () => {
      const v = await view("b_cached");
      return v.status === 200 && v.body.batchhook.polling.polls >= atLeast && v.body;
    }, { timeoutMs: 10_000, what: `poll ${atLeast} of b_cached` });
  const first = await send(worker, secret, "msg_cached_1", thinEvent("b_cached"));
  assert.equal(first.body.outcome, "needs_reconcile", first.text);
  await polls(1);
  const second = await send(worker, secret, "msg_cached_2", thinEvent("b_cached"));
  assert.equal(second.body.outcome, "needs_reconcile", second.text);
  const after = await polls(2);
  assert.ok(after.batchhook.polling.consecutive_failures >= 2, JSON.stringify(after.batchhook.polling));
  assert.equal(after.batchhook.signals.delivery_facts.received, 2);
});

test("a retry arriving after a workerd restart is still a duplicate", async () => {
  const event = fullEvent("b_restart_dup", "in_progress");
  const first = await send(worker, secret, "msg_restart_dup", event);
  assert.equal(first.body.outcome, "applied", first.text);
  await worker.restart();
  const retry = await send(worker, secret, "msg_restart_dup", event);
  assert.equal(retry.status, 200, retry.text);
  assert.equal(retry.body.outcome, "duplicate");
  assert.equal(retry.body.status, "in_progress");
  const v = await view("b_restart_dup");
  assert.equal(v.body.batchhook.deliveries.length, 1);
  assert.equal(v.body.batchhook.deliveries[0].outcome, "applied");
  assert.equal(v.body.batchhook.deliveries[0].duplicates, 1);
  assert.equal(v.body.batchhook.signals.delivery_facts.duplicates, 1);
});

test("the first delivery to a new batch is acknowledged with its poll alarm stored, which a restart keeps", async () => {
  const pendingAlarm = async () => (await (await worker.fetch("/_test/ledger/b_first_alarm")).json()).alarm_pending;
  const first = await send(worker, secret, "msg_first_alarm", fullEvent("b_first_alarm", "in_progress"));
  assert.equal(first.body.outcome, "applied", first.text);
  const due = (await view("b_first_alarm")).body.batchhook.polling.next_poll_at;
  assert.equal(typeof due, "number");
  assert.equal(await pendingAlarm(), due, "the alarm is set to the first poll's due time");
  await worker.restart();
  assert.equal(await pendingAlarm(), due, "the alarm survived the restart");
});

test("a verified event naming no batch goes to the dead-letter table with its body", async () => {
  const payload = { id: "evt_orphan", type: "batch.completed", data: { status: "completed" } };
  const res = await send(worker, secret, "msg_orphan", payload);
  assert.equal(res.status, 202, res.text);
  assert.equal(res.body.outcome, "dead_lettered");
  assert.equal(res.body.reason, "missing_batch_id");
  const list = await (await worker.fetch("/_test/index/dead-letters")).json();
  const entry = list.data.find((d) => d.webhook_id === "msg_orphan");
  assert.ok(entry, JSON.stringify(list));
  const full = await (await worker.fetch(`/_test/index/dead-letters/${entry.seq}`)).json();
  assert.deepEqual(JSON.parse(full.body_text), payload);
  assert.ok(full.headers.some(([k]) => k === "webhook-signature"), "headers are kept for a replay");
});
