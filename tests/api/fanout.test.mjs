// Result fan-out to a Cloudflare Queue (the optional RESULTS_QUEUE producer binding), in real
// workerd with a consumer Worker in the same instance: every row arrives with a stable id,
// pause stops fan-out and resume continues, a workerd restart mid-fan-out neither loses nor
// repeats a row. The consumer reports to a collector in this process, which counts arrivals
// per message id.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApi, waitFor } from "./helpers.mjs";
import { startCollector } from "../support/queue.mjs";

let stack;
let collector;
let persistDir;

before(async () => {
  collector = await startCollector();
  persistDir = mkdtempSync(join(tmpdir(), "batchhook-fanout-"));
  stack = await startApi({
    persistDir,
    queue: collector.queueOption(),
    // Slow fan-out (10 rows per sendBatch, one batch every 250 ms) so the tests can interrupt it.
    bindings: { FANOUT_BATCH_MESSAGES: "10", FANOUT_INTERVAL_MS: "250" },
  });
}, { timeout: 120_000 });
after(async () => {
  await stack?.stop();
  await collector?.stop();
  rmSync(persistDir, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the consumer has every row of the batch, then checks them. */
async function expectEveryRowOnce(batchId, rows, failRows) {
  await waitFor(async () => new Set(collector.forBatch(batchId).map((m) => m.body.id)).size >= rows, {
    timeoutMs: 60_000,
    what: `all ${rows} rows of ${batchId} downstream`,
  });
  await sleep(600); // a late duplicate would arrive within a fan-out interval or two
  const got = collector.forBatch(batchId);
  assert.equal(collector.duplicates(batchId), 0, "no row sent twice");
  assert.equal(got.length, rows);
  const byCustomId = new Map(got.map((m) => [m.body.custom_id, m.body]));
  for (let i = 0; i < rows; i++) {
    const body = byCustomId.get(`row-${i}`);
    assert.ok(body, `row-${i} lost`);
    assert.equal(body.outcome, failRows.includes(i) ? "failed" : "succeeded", `row-${i}`);
    assert.equal(body.result_id, `${body.kind}:${body.line}`);
    assert.equal(body.id, `${batchId}/${body.result_id}`, "the id is the batch plus the result id");
  }
  const view = await stack.view(batchId);
  assert.deepEqual(
    { state: view.batchhook.fanout.state, pending: view.batchhook.fanout.pending },
    { state: "idle", pending: 0 },
  );
  return got;
}

test("every ingested row is forwarded once with a stable id; pause stops fan-out, resume continues", { timeout: 120_000 }, async () => {
  const rows = 200;
  const failRows = [3, 50, 199];
  const batch = await stack.create({ rows, failRows });
  await waitFor(() => collector.forBatch(batch.id).length >= 30, { timeoutMs: 60_000, what: "fan-out under way" });

  const paused = await stack.call("POST", `/v1/batches/${batch.id}/pause`);
  assert.equal(paused.status, 200, paused.text);
  await sleep(800); // the sendBatch in flight when the pause landed may still arrive
  const atPause = collector.forBatch(batch.id).length;
  assert.ok(atPause < rows, "paused before the end");
  await sleep(1500);
  assert.equal(collector.forBatch(batch.id).length, atPause, "no message while paused");
  const view = await stack.view(batch.id);
  assert.equal(view.batchhook.fanout.state, "paused");
  assert.equal(view.batchhook.fanout.pending, rows - atPause);

  assert.equal((await stack.call("POST", `/v1/batches/${batch.id}/resume`)).status, 200);
  const got = await expectEveryRowOnce(batch.id, rows, failRows);
  const failed = got.find((m) => m.body.custom_id === "row-50").body;
  assert.equal(failed.kind, "errors");
  assert.ok(failed.error_message, "a failed row carries its error");
});

test("a workerd restart in the middle of fan-out neither loses nor repeats a row", { timeout: 180_000 }, async () => {
  const rows = 300;
  const batch = await stack.create({ rows });
  await waitFor(() => collector.forBatch(batch.id).length >= 60, { timeoutMs: 60_000, what: "fan-out under way" });
  // The local queue broker keeps undelivered messages in memory only (Cloudflare's does not),
  // so a message acknowledged just before the halt could be lost by the test harness rather
  // than by us. Pausing first guarantees nothing is in flight at the halt; what the restart
  // must then preserve is the fan-out cursor. `sent_through` is the storage sequence of the
  // last acknowledged row; a ledger holds one batch and numbers its rows from 1, so it is also
  // the number of rows sent.
  assert.equal((await stack.call("POST", `/v1/batches/${batch.id}/pause`)).status, 200);
  await waitFor(async () => {
    const sent = (await stack.view(batch.id)).batchhook.fanout.sent_through;
    return sent === new Set(collector.forBatch(batch.id).map((m) => m.body.id)).size;
  }, { timeoutMs: 30_000, intervalMs: 20, what: "every acknowledged row downstream" });
  const before = collector.forBatch(batch.id).length;
  assert.ok(before < rows, "restarted before the end");
  await stack.worker.restart();
  assert.equal((await stack.call("POST", `/v1/batches/${batch.id}/resume`)).status, 200);
  await expectEveryRowOnce(batch.id, rows, []);
});


test("a cancelled batch's rows are ingested but never forwarded", { timeout: 60_000 }, async () => {
  const rows = 20;
  const batch = await stack.create({ rows, metadata: { "emulator.run_s": "100000" } });
  await stack.waitView(batch.id, (v) => v.status === "in_progress", { what: "in_progress" });
  assert.equal((await stack.call("POST", `/v1/batches/${batch.id}/cancel`)).status, 200);
  const done = await stack.waitView(
    batch.id,
    (v) => v.status === "cancelled" && v.batchhook.ingestion.state === "done",
    { what: "cancelled and its rows ingested" },
  );
  assert.ok(done.batchhook.results_stored >= rows, "the unrun rows are stored");
  await sleep(1000);
  assert.equal(collector.forBatch(batch.id).length, 0, "nothing forwarded after a cancel");
  const fanout = (await stack.view(batch.id)).batchhook.fanout;
  assert.deepEqual({ state: fanout.state, pending: fanout.pending }, { state: "stopped", pending: done.batchhook.results_stored });
});
