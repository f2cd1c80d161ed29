// The batch event stream pushes progress, not only status changes: while a batch stays
// in_progress, each change of its request counts (from a poll or a webhook) reaches an open
// WebSocket as one `progress` message, and the JSON form carries the current progress.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startApi } from "./helpers.mjs";

let stack;
before(async () => {
  // 10x: a 30 s in_progress phase takes 3 s, with a progress webhook every 10 %.
  stack = await startApi({ speed: 10 });
}, { timeout: 120_000 });
after(async () => {
  await stack?.stop();
});

test("request-count changes without a status change are pushed as progress messages", { timeout: 60_000 }, async () => {
  const rows = 40;
  const batch = await stack.create({ rows, metadata: { "emulator.run_s": "30" } });
  const socket = await stack.events(batch.id);
  await stack.waitView(batch.id, (v) => v.status === "completed" && v.batchhook.ingestion.state === "done", {
    what: "completed and ingested",
  });
  await new Promise((r) => setTimeout(r, 300));
  socket.close();

  const progress = socket.messages.filter((m) => m.type === "progress").map((m) => m.progress);
  const running = progress.filter((p) => p.status === "in_progress" && p.request_counts);
  const completedCounts = new Set(running.map((p) => p.request_counts.completed));
  assert.ok(
    completedCounts.size >= 3,
    `several count changes while in_progress were pushed: ${JSON.stringify(running.map((p) => p.request_counts))}`,
  );
  for (let i = 1; i < progress.length; i++) {
    assert.notDeepEqual(progress[i], progress[i - 1], "a progress message is sent only when something changed");
  }
  const statusEvents = socket.messages.filter((m) => m.type === "event" && m.event.to_status === "in_progress");
  assert.ok(running.length > statusEvents.length, "more progress messages than in_progress status events");
  const last = progress.at(-1);
  assert.equal(last.status, "completed");
  assert.equal(last.request_counts.completed + last.request_counts.failed, rows);
  assert.equal(last.results_ingested, rows);
  assert.equal(last.ingestion_done, true);

  const polled = await stack.call("GET", `/v1/batches/${batch.id}/events?since=0`);
  assert.equal(polled.status, 200);
  assert.deepEqual(polled.body.progress, last, "the JSON form carries the same current progress");
});
