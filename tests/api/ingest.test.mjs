// Result ingestion of a 50,000-row batch: bounded chunks driven by the ledger's alarm, paused
// and resumed mid-way, workerd restarted mid-way on its persistence directory — and still every
// row stored exactly once. Memory of the workerd process is sampled throughout.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApi, waitFor } from "./helpers.mjs";

const ROWS = 50_000;
const FAIL_EVERY = 1000;
let stack;
let persistDir;
const figures = {};

before(async () => {
  persistDir = mkdtempSync(join(tmpdir(), "batchhook-ingest-"));
  stack = await startApi({ persistDir, bindings: { INGEST_CHUNK_BYTES: "262144", POLL_MIN_MS: "500" } });
}, { timeout: 120_000 });
after(async () => {
  console.log(`# ingest figures: ${JSON.stringify(figures)}`);
  await stack?.stop();
  rmSync(persistDir, { recursive: true, force: true });
});

/** Resident memory (KiB) of the workerd processes started by this Node process. */
function workerdRssKiB() {
  const table = execFileSync("ps", ["-eo", "pid=,ppid=,rss=,comm="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .map(([pid, ppid, rss, comm]) => ({ pid: +pid, ppid: +ppid, rss: +rss, comm }));
  const mine = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of table) if (!mine.has(p.pid) && mine.has(p.ppid)) (mine.add(p.pid), (grew = true));
  }
  return table.filter((p) => mine.has(p.pid) && p.comm.includes("workerd")).reduce((sum, p) => sum + p.rss, 0);
}

test("50,000 result rows are ingested in bounded chunks, across a pause and a restart, each exactly once", { timeout: 240_000 }, async () => {
  const failRows = Array.from({ length: ROWS / FAIL_EVERY }, (_, i) => i * FAIL_EVERY + 7);
  const batch = await stack.create({ rows: ROWS, failRows });
  figures.baseline_rss_mib = +(workerdRssKiB() / 1024).toFixed(1);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, workerdRssKiB())), 100);
  try {
    const started = Date.now();
    const running = await stack.waitView(
      batch.id,
      (v) => v.batchhook.results_stored >= 5_000,
      { timeoutMs: 120_000, what: "ingestion under way" },
    );
    assert.equal(running.status, "completed");

    const paused = await stack.call("POST", `/v1/batches/${batch.id}/pause`);
    assert.equal(paused.status, 200, paused.text);
    const atPause = paused.body.batchhook.results_stored;
    assert.ok(atPause < ROWS, "paused before the end");
    await new Promise((r) => setTimeout(r, 1500));
    const whilePaused = await stack.view(batch.id);
    assert.equal(whilePaused.batchhook.results_stored, atPause, "no chunk is stored while paused");
    assert.equal(whilePaused.batchhook.ingestion.state, "paused");
    assert.equal((await stack.call("POST", `/v1/batches/${batch.id}/resume`)).status, 200);

    const beforeRestart = await stack.waitView(
      batch.id,
      (v) => v.batchhook.results_stored >= atPause + 10_000,
      { timeoutMs: 120_000, what: "ingestion after resume" },
    );
    assert.ok(beforeRestart.batchhook.results_stored < ROWS, "restarted before the end");
    figures.rows_at_restart = beforeRestart.batchhook.results_stored;
    await stack.worker.restart();

    const done = await stack.waitView(
      batch.id,
      (v) => v.batchhook.ingestion.state === "done",
      { timeoutMs: 180_000, what: "ingestion finished after the restart" },
    );
    figures.ingest_seconds = +((Date.now() - started) / 1000).toFixed(1);
    const totals = done.batchhook.ingestion.totals;
    assert.equal(totals.rows, ROWS);
    assert.equal(totals.failed, failRows.length);
    assert.equal(totals.succeeded, ROWS - failRows.length);
    assert.equal(totals.malformed, 0);
    assert.equal(done.batchhook.results_stored, ROWS);
    const join = done.batchhook.ingestion.join;
    assert.deepEqual(
      [join.results, join.input_rows, join.matched, join.missing, join.duplicates, join.unexpected],
      [ROWS, ROWS, ROWS, 0, 0, 0],
      "the input was read in chunks too and every row joined by custom_id",
    );
    figures.result_and_input_bytes = totals.bytes;
    figures.chunks = Math.ceil(totals.bytes / 262144);
    figures.wasm_memory_mib = +(done.batchhook.ingestion.wasm_memory_bytes / 1048576).toFixed(1);
  } finally {
    clearInterval(sampler);
  }
  figures.peak_workerd_rss_mib = +(peak / 1024).toFixed(1);

  const { rows } = await stack.results(batch.id, { limit: 1000 });
  assert.equal(rows.length, ROWS);
  const ids = new Set(rows.map((r) => r.custom_id));
  assert.equal(ids.size, ROWS, "no row repeated");
  for (let i = 0; i < ROWS; i++) assert.ok(ids.has(`row-${i}`), `row-${i} lost`);
  const failed = rows.filter((r) => r.outcome === "failed").map((r) => r.custom_id);
  assert.deepEqual(new Set(failed), new Set(failRows.map((i) => `row-${i}`)));
});

test("chunk fetches the gateway refuses (503, 429 with Retry-After) are retried with backoff until every row is stored once", { timeout: 120_000 }, async () => {
  const rows = 3_000;
  const batch = await stack.create({ rows });
  await stack.waitView(batch.id, (v) => v.status === "completed", { timeoutMs: 60_000, what: "completion" });
  // Every /v1 call now fails half the time: 503, or 429 asking for 1 s.
  await stack.emu.admin("POST", "/_admin/faults", { api_5xx_rate: 0.3, api_429_rate: 0.2, retry_after_s: 1 });
  let sawFailures = 0;
  let done;
  try {
    done = await stack.waitView(
      batch.id,
      (v) => {
        sawFailures = Math.max(sawFailures, v.batchhook.ingestion?.fetch_failures_in_a_row ?? 0);
        return v.batchhook.ingestion?.state === "done";
      },
      { timeoutMs: 90_000, what: "ingestion through injected faults" },
    );
    assert.equal(done.batchhook.results_stored, rows);
    assert.equal(done.batchhook.ingestion.totals.rows, rows);
    assert.equal(done.batchhook.ingestion.fetch_failures_in_a_row, 0, "reset by the last success");
  } finally {
    await stack.emu.admin("POST", "/_admin/faults", {});
  }
  // The chunk fetches of this batch's files, as the gateway saw them: after a 429 the next
  // fetch waited for its Retry-After.
  const files = [done.output_file_id, done.error_file_id, done.input_file_id].filter(Boolean);
  const log = (await stack.emu.admin("GET", "/_admin/requests")).body.data.filter(
    (e) => e.path.startsWith("/v1/files/") && files.some((f) => e.path.includes(f)),
  );
  const refused = log.filter((e) => e.fault);
  assert.ok(refused.length > 0 && sawFailures > 0, "faults reached the chunk fetches");
  figures.refused_chunk_fetches = refused.length;
  for (const [i, e] of log.entries()) {
    if (e.fault !== "rate_limited" || !log[i + 1]) continue;
    assert.ok(log[i + 1].at_ms - e.at_ms >= 950, `fetch ${i + 1} came ${log[i + 1].at_ms - e.at_ms} ms after a 429 asking for 1 s`);
  }
  const { rows: stored } = await stack.results(batch.id, { limit: 1000 });
  assert.equal(new Set(stored.map((r) => r.custom_id)).size, rows);
});
