// The whole loop through the /v1 API with a plain HTTP client: upload (validated), create with
// the Worker's webhook attached, watch over WebSocket, complete, page the ingested results.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { OPS, jsonlRows, startApi } from "./helpers.mjs";

let stack;
before(async () => {
  stack = await startApi({ bindings: { INGEST_CHUNK_BYTES: "700" } });
}, { timeout: 120_000 });
after(async () => {
  await stack?.stop();
});

test("an invalid JSONL upload is refused with its row errors before reaching the gateway", { timeout: 30_000 }, async () => {
  const text = jsonlRows(3) + '{"custom_id":"row-0","method":"GET","url":"/v1/chat/completions"}\n';
  const res = await stack.upload(text);
  assert.equal(res.status, 400, res.text);
  assert.equal(res.body.error.code, "invalid_file");
  const rows = res.body.error.validation.errors.map((e) => e.row);
  assert.deepEqual([...new Set(rows)], [4]);
});

test("upload, create, watch over WebSocket, complete and page the results", { timeout: 60_000 }, async () => {
  const rows = 40;
  const created = await stack.create({ rows, failRows: [3, 17], metadata: { job: "loop" } });
  assert.match(created.id, /\S/);
  assert.equal(created.webhook?.secret, undefined, "the webhook secret never appears in a response");
  assert.equal(created.webhook?.url, new URL("/webhooks/aistats", stack.worker.url).toString());
  const origin = new URL(stack.worker.url).origin;
  assert.equal(created.polling_url, `${origin}/v1/batches/${created.id}`, "URLs point at the API, not the gateway");
  assert.ok(!JSON.stringify(created).includes(stack.emu.url), "no gateway URL leaks");

  const socket = await stack.events(created.id);
  const done = await stack.waitView(
    created.id,
    (v) => v.status === "completed" && v.batchhook.ingestion.state === "done",
    { what: "completion and ingestion" },
  );
  assert.equal(done.batchhook.ingestion.totals.rows, rows);
  assert.equal(done.batchhook.ingestion.totals.failed, 2);
  assert.equal(done.batchhook.results_stored, rows);
  assert.equal(done.polling_url, `${origin}/v1/batches/${created.id}`);
  const listed = await stack.call("GET", "/v1/batches?limit=5");
  assert.equal(listed.body.data.find((b) => b.id === created.id).polling_url, done.polling_url);

  const { rows: results, last } = await stack.results(created.id, { limit: 7 });
  assert.equal(results.length, rows);
  const ids = results.map((r) => r.custom_id);
  assert.equal(new Set(ids).size, rows, "no row twice");
  const failed = results.filter((r) => r.outcome === "failed").map((r) => r.custom_id).sort();
  assert.deepEqual(failed, ["row-17", "row-3"]);
  assert.equal(last.ingestion_done, true);
  assert.ok(last.totals.usage.total_tokens > 0, "usage totals are summed");

  await stack.worker.fetch("/"); // let pending socket frames arrive
  const isEvent = (m) => m.type === "event";
  const seen = (
    await waitForMessages(socket.messages, (m) => m.some((e) => isEvent(e) && e.event.to_status === "completed"))
  ).filter(isEvent);
  const seqs = seen.map((m) => m.event.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "events arrive in order");
  assert.equal(new Set(seqs).size, seqs.length, "no event twice");
  socket.close();

  const polled = await stack.call("GET", `/v1/batches/${created.id}/events?since=0`);
  assert.equal(polled.status, 200);
  assert.deepEqual(polled.body.data.map((e) => e.seq), seqs.slice(0, polled.body.data.length));
  const later = await stack.call("GET", `/v1/batches/${created.id}/events?since=${seqs[1]}`);
  assert.ok(later.body.data.every((e) => e.seq > seqs[1]));

  const content = await stack.call("GET", `/v1/files/${done.output_file_id}/content`);
  const upstream = await fetch(`${stack.emu.url}/v1/files/${done.output_file_id}/content`, {
    headers: { authorization: `Bearer ${stack.emu.apiKey}` },
  });
  assert.equal(content.status, 200);
  assert.equal(content.text, await upstream.text());
});

async function waitForMessages(messages, until, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!until(messages)) {
    if (Date.now() > deadline) throw new Error(`socket messages: ${JSON.stringify(messages)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return messages;
}

test("a browser-style WebSocket authenticates with the bearer subprotocol and replays since a sequence", { timeout: 30_000 }, async () => {
  const batch = await stack.create({ rows: 2 });
  await stack.waitView(batch.id, (v) => v.batchhook.ingestion.state === "done");
  const url = new URL(`/v1/batches/${batch.id}/events?since=1`, stack.worker.url);
  url.protocol = "ws:";
  const { default: WebSocket } = await import("ws");
  const open = (protocols) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      const messages = [];
      ws.on("message", (d) => messages.push(JSON.parse(String(d))));
      ws.once("open", () => setTimeout(() => resolve({ ws, messages }), 300));
      ws.once("unexpected-response", (_q, res) => reject(new Error(`status ${res.statusCode}`)));
      ws.once("error", reject);
    });
  const { ws, messages } = await open(["batchhook", `bearer.${OPS}`]);
  assert.equal(ws.protocol, "batchhook");
  const events = messages.filter((m) => m.type === "event");
  assert.ok(events.length >= 1);
  assert.ok(events.every((m) => m.event.seq > 1), "only events after `since`");
  assert.equal(messages.at(-1).type, "progress", "the replay ends with the current progress");
  assert.equal(messages.at(-1).progress.status, "completed");
  ws.close();
  await assert.rejects(open(["batchhook", "bearer.tok_wrong_0123456789abcdef"]), /401/);
});
