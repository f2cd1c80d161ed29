// workerd killed mid-stream and restarted on its persistence directory: nothing committed is
// lost, deliveries sent while it was down are retried by the emulator, and polling resumes.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startStack, TERMINAL } from "./helpers.mjs";

let stack;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "batchhook-restart-"));
  stack = await startStack({ speed: 1000, seed: 3, persistDir: dir });
});

after(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("a workerd restart mid-stream loses nothing and polling resumes", { timeout: 90_000 }, async () => {
  const knobs = { "emulator.run_s": "3000", "emulator.max_attempts": "8", "emulator.retry_base_s": "500" };
  const batches = [];
  for (let i = 0; i < 4; i++) batches.push(await stack.create({ rows: 4, metadata: knobs }));
  const seen = new Map();
  for (const b of batches) {
    const v = await stack.waitView(b.id, (v) => v.status === "in_progress" && v.batchhook.deliveries.length >= 1, {
      what: `${b.id} to be running in the worker`,
    });
    seen.set(b.id, v.batchhook.deliveries.map((d) => d.webhook_id));
  }

  const port = Number(new URL(stack.worker.url).port);
  await stack.worker.halt();
  const downAt = Date.now();
  await new Promise((r) => setTimeout(r, 1_500));
  await stack.worker.start(port);

  for (const b of batches) {
    const view = await stack.waitView(b.id, (v) => TERMINAL.has(v.status) && v.batchhook?.polling?.active === false, {
      timeoutMs: 40_000,
      what: `${b.id} to finish after the restart`,
    });
    const upstream = await stack.upstream(b.id);
    assert.equal(view.status, upstream.status);
    assert.deepEqual(view.request_counts, upstream.request_counts);
    const ids = new Set(view.batchhook.deliveries.map((d) => d.webhook_id));
    for (const id of seen.get(b.id)) assert.ok(ids.has(id), `${id}, committed before the stop, survived`);
    const after = view.batchhook.polling.log.filter((p) => p.at > downAt);
    const applied = view.batchhook.deliveries.filter((d) => d.received_at > downAt);
    assert.ok(after.length + applied.length > 0, "the ledger kept working after the restart");
  }
  const polled = await Promise.all(batches.map((b) => stack.view(b.id)));
  assert.ok(
    polled.some((v) => v.batchhook.polling.log.some((p) => p.at > downAt)),
    "at least one ledger polled after the restart",
  );
});
