// Results are joined to the input by custom_id: one stored row per custom_id (a second result
// for the same custom_id, even from the other file, is counted as a duplicate and not stored),
// input rows with no result in either file are reported as `missing`, and results whose
// custom_id is not in the input are counted as unexpected.
//
// The emulator always writes one result per input row, so the Worker talks to it through a
// small proxy that rewrites the result files it serves (with Range support, like the gateway):
// the output loses row-5 and gains row-extra, and the error file repeats row-1.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { startApi } from "./helpers.mjs";
import { startEmulator } from "../support/emulator.mjs";

let emu;
let proxy;
let stack;

/** The result file as the proxy serves it: one row dropped, one added, one repeated. */
function rewrite(text) {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const rows = lines.map((l) => JSON.parse(l));
  if (!rows.length || !("response" in rows[0])) return text; // an input file: unchanged
  const isOutput = rows.some((r) => r.custom_id === "row-0"); // row-0 succeeds, row-2 fails
  let kept = rows.filter((r) => r.custom_id !== "row-5");
  if (isOutput) {
    kept.push({ ...rows[0], id: "batch_req_extra", custom_id: "row-extra" });
  } else {
    kept.push({ id: "batch_req_dup", custom_id: "row-1", response: null, error: { code: "dup", message: "again" } });
  }
  return kept.map((r) => JSON.stringify(r)).join("\n") + "\n";
}

async function startProxy(upstream) {
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const headers = { ...req.headers };
    delete headers.host;
    delete headers["content-length"];
    const content = req.method === "GET" && /^\/v1\/files\/[^/]+\/content$/.test(req.url);
    if (content) delete headers.range;
    const up = await fetch(new URL(req.url, upstream), {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    if (!content || up.status !== 200) {
      const body = Buffer.from(await up.arrayBuffer());
      res.writeHead(up.status, { "content-type": up.headers.get("content-type") ?? "application/json" });
      return res.end(body);
    }
    const bytes = Buffer.from(rewrite(await up.text()));
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (!range) return res.writeHead(200, { "content-type": "application/jsonl" }).end(bytes);
    const start = Number(range[1]);
    if (start >= bytes.length) {
      return res.writeHead(416, { "content-range": `bytes */${bytes.length}` }).end();
    }
    const end = Math.min(range[2] === "" ? bytes.length - 1 : Number(range[2]), bytes.length - 1);
    res.writeHead(206, { "content-range": `bytes ${start}-${end}/${bytes.length}`, "content-type": "application/jsonl" });
    res.end(bytes.subarray(start, end + 1));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => new Promise((r) => server.close(r)) };
}

before(async () => {
  emu = await startEmulator({ speed: 1000, seed: 3 });
  proxy = await startProxy(emu.url);
  // Small chunks so lines and the input are read across several alarm runs.
  stack = await startApi({ emulator: emu, bindings: { GATEWAY_URL: proxy.url, INGEST_CHUNK_BYTES: "300" } });
}, { timeout: 120_000 });
after(async () => {
  await stack?.stop();
  await proxy?.stop();
  await emu?.stop();
});

test("rows are stored once per custom_id; duplicates, missing and unexpected rows are reported", { timeout: 60_000 }, async () => {
  const batch = await stack.create({ rows: 10, failRows: [2] });
  const done = await stack.waitView(batch.id, (v) => v.batchhook.ingestion.state === "done", { what: "ingested" });
  const join = done.batchhook.ingestion.join;
  assert.deepEqual(
    {
      results: join.results,
      succeeded: join.succeeded,
      failed: join.failed,
      duplicates: join.duplicates,
      input_rows: join.input_rows,
      matched: join.matched,
      missing: join.missing,
      unexpected: join.unexpected,
    },
    { results: 10, succeeded: 9, failed: 1, duplicates: 1, input_rows: 10, matched: 9, missing: 1, unexpected: 1 },
  );
  assert.equal(done.batchhook.results_stored, 11, "ten results and one missing row");
  assert.equal(done.batchhook.ingestion.totals.rows, 11, "every result line read is in the line totals");
  assert.ok(done.batchhook.timeline.some((e) => e.ref === "results_ingested:10 missing:1 duplicates:1"));

  const { rows, last } = await stack.results(batch.id, { limit: 4 });
  assert.deepEqual(last.join, join);
  const byId = new Map(rows.map((r) => [r.custom_id, r]));
  assert.equal(rows.length, 11);
  assert.equal(byId.size, 11, "one row per custom_id");
  assert.deepEqual(
    { outcome: byId.get("row-1").outcome, kind: byId.get("row-1").kind, input_row: byId.get("row-1").input_row },
    { outcome: "succeeded", kind: "output", input_row: 2 },
    "the first result of row-1 is kept, the repeat in the error file is not",
  );
  assert.deepEqual(
    { outcome: byId.get("row-5").outcome, kind: byId.get("row-5").kind, input_row: byId.get("row-5").input_row },
    { outcome: "missing", kind: "input", input_row: 6 },
  );
  assert.equal(byId.get("row-2").outcome, "failed");
  assert.equal(byId.get("row-extra").input_row, null, "a result not in the input has no input row");
  for (let i = 0; i < 10; i++) assert.equal(byId.get(`row-${i}`).input_row, i + 1, `row-${i}`);
});
