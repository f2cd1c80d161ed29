// Operator control through /v1: cancel mid-run (recorded, followed, classified), pause and
// resume of our polling and ingestion, and the 409s of invalid transitions.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startApi, waitFor } from "./helpers.mjs";

let stack;
before(async () => {
  // Slow enough (10x) that a cancel stays in `cancelling` for ~200 ms of real time.
  stack = await startApi({ speed: 10 });
}, { timeout: 120_000 });
after(async () => {
  await stack?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("cancel mid-run records who and when, follows cancelling to cancelled, and is classified as the operator's", { timeout: 60_000 }, async () => {
  const batch = await stack.create({ rows: 10, metadata: { "emulator.run_s": "200" } });
  await stack.waitView(batch.id, (v) => v.status === "in_progress", { what: "in_progress" });
  const before = Date.now();
  const res = await stack.call("POST", `/v1/batches/${batch.id}/cancel`, { body: { reason: "superseded" } });
  assert.equal(res.status, 200, res.text);
  const record = res.body.batchhook.control.cancel;
  assert.equal(record.requested_by, "api:ops");
  assert.equal(record.reason, "superseded");
  assert.equal(record.cancel_url_available, true);
  assert.equal(record.status_at_request, "in_progress");
  assert.ok(record.requested_at >= before - 1000 && record.requested_at <= Date.now() + 1000);
  assert.ok(["cancelling", "cancelled"].includes(res.body.status), res.body.status);

  const again = await stack.call("POST", `/v1/batches/${batch.id}/cancel`);
  assert.equal(again.status, 200, "a second cancel while cancelling is answered, not forwarded again");
  assert.deepEqual(again.body.batchhook.control.cancel, record, "the first request stays on record");

  const done = await stack.waitView(
    batch.id,
    (v) => v.status === "cancelled" && v.batchhook.classification.some((c) => c.kind === "cancelled"),
    { what: "cancelled and classified" },
  );
  const cancelled = done.batchhook.classification.find((c) => c.kind === "cancelled");
  assert.deepEqual(cancelled && { by: cancelled.by, url: cancelled.cancel_url_available }, { by: "operator", url: true });
  assert.ok(done.batchhook.timeline.some((e) => e.to_status === "cancelled"));

  const late = await stack.call("POST", `/v1/batches/${batch.id}/cancel`);
  assert.equal(late.status, 409);
  assert.equal(late.body.error.code, "batch_terminal");
});

test("invalid transitions answer 409 with a code saying why", { timeout: 60_000 }, async () => {
  const batch = await stack.create({ rows: 2 });
  const resume = await stack.call("POST", `/v1/batches/${batch.id}/resume`);
  assert.equal(resume.status, 409);
  assert.equal(resume.body.error.code, "not_paused");
  await stack.waitView(batch.id, (v) => v.status === "completed" && v.batchhook.ingestion.state === "done");
  const pause = await stack.call("POST", `/v1/batches/${batch.id}/pause`);
  assert.equal(pause.status, 409);
  assert.equal(pause.body.error.code, "batch_terminal");
  const cancel = await stack.call("POST", `/v1/batches/${batch.id}/cancel`);
  assert.equal(cancel.status, 409);
  assert.equal(cancel.body.error.code, "batch_terminal");

  const running = await stack.create({ rows: 2, metadata: { "emulator.run_s": "200" } });
  assert.equal((await stack.call("POST", `/v1/batches/${running.id}/pause`)).status, 200);
  const twice = await stack.call("POST", `/v1/batches/${running.id}/pause`);
  assert.equal(twice.status, 409);
  assert.equal(twice.body.error.code, "already_paused");
  assert.equal((await stack.call("POST", `/v1/batches/${running.id}/resume`)).status, 200);
});

test("pause stops polling and ingestion; resume continues and no row is lost or repeated", { timeout: 60_000 }, async () => {
  const rows = 30;
  const batch = await stack.create({ rows, metadata: { "emulator.run_s": "30" } });
  const paused = await stack.call("POST", `/v1/batches/${batch.id}/pause`);
  assert.equal(paused.status, 200, paused.text);
  assert.equal(paused.body.batchhook.paused, true);
  assert.equal(paused.body.batchhook.control.paused_by, "api:ops");

  const listed = await stack.call("GET", "/v1/batches?status=paused");
  await waitFor(async () => {
    const l = await stack.call("GET", "/v1/batches?status=paused");
    return l.body.data.some((b) => b.id === batch.id);
  }, { what: "the paused batch listed as paused" });
  assert.equal(listed.status, 200);

  const polls = (await stack.view(batch.id)).batchhook.polling.polls;
  // The batch finishes upstream (3 s at this speed); webhooks may still record it, but our
  // polling and result ingestion stay stopped.
  await waitFor(async () => (await stack.emu.api("GET", `/v1/batches/${batch.id}`)).body.status === "completed", {
    timeoutMs: 30_000,
    what: "upstream completion",
  });
  await sleep(1500);
  const still = await stack.view(batch.id);
  assert.equal(still.batchhook.polling.polls, polls, "no poll while paused");
  assert.equal(still.batchhook.results_stored, 0, "no ingestion while paused");

  const resumed = await stack.call("POST", `/v1/batches/${batch.id}/resume`);
  assert.equal(resumed.status, 200, resumed.text);
  assert.equal(resumed.body.batchhook.paused, false);
  const done = await stack.waitView(batch.id, (v) => v.status === "completed" && v.batchhook.ingestion.state === "done");
  assert.ok(done.batchhook.polling.polls > polls, "polling resumed");
  const { rows: results } = await stack.results(batch.id, { limit: 9 });
  const ids = results.map((r) => r.custom_id);
  assert.equal(ids.length, rows);
  assert.equal(new Set(ids).size, rows);
  assert.ok(done.batchhook.timeline.some((e) => e.source === "api" && e.ref === "pause"));
  assert.ok(done.batchhook.timeline.some((e) => e.source === "api" && e.ref === "resume"));
});
