// Idempotent create (Idempotency-Key header or metadata.client_job_id, per workspace) and
// dead-letter listing and replay through /v1.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { send } from "../worker/helpers.mjs";
import { BETA, jsonlRows, startApi } from "./helpers.mjs";

let stack;
let fileId;
before(async () => {
  stack = await startApi();
  fileId = (await stack.upload(jsonlRows(3))).body.id;
}, { timeout: 120_000 });
after(async () => {
  await stack?.stop();
});

const body = (metadata = {}) => ({
  input_file_id: fileId,
  endpoint: "/v1/chat/completions",
  completion_window: "24h",
  metadata,
});

test("a repeated create with the same Idempotency-Key returns the same batch", { timeout: 30_000 }, async () => {
  const headers = { "idempotency-key": "nightly-2026-11-25" };
  const first = await stack.call("POST", "/v1/batches", { headers, body: body() });
  assert.equal(first.status, 200, first.text);
  const second = await stack.call("POST", "/v1/batches", { headers, body: body() });
  assert.equal(second.status, 200, second.text);
  assert.equal(second.body.id, first.body.id);
  assert.equal(second.headers.get("idempotent-replayed"), "true");
  const list = await stack.call("GET", "/v1/batches?limit=100");
  assert.equal(list.body.data.filter((b) => b.id === first.body.id).length, 1);

  const reused = await stack.call("POST", "/v1/batches", { headers, body: body({ other: "x" }) });
  assert.equal(reused.status, 409);
  assert.equal(reused.body.error.code, "idempotency_key_reused");

  const elsewhere = await stack.call("POST", "/v1/batches", { token: BETA, headers, body: body() });
  assert.equal(elsewhere.status, 200, elsewhere.text);
  assert.notEqual(elsewhere.body.id, first.body.id, "keys are scoped to the workspace");
});

test("metadata.client_job_id makes a create idempotent too", { timeout: 30_000 }, async () => {
  const first = await stack.call("POST", "/v1/batches", { body: body({ client_job_id: "job-42" }) });
  const second = await stack.call("POST", "/v1/batches", { body: body({ client_job_id: "job-42" }) });
  assert.equal(first.status, 200, first.text);
  assert.equal(second.body.id, first.body.id);
  const other = await stack.call("POST", "/v1/batches", { body: body({ client_job_id: "job-43" }) });
  assert.notEqual(other.body.id, first.body.id);
  const bad = await stack.call("POST", "/v1/batches", { headers: { "idempotency-key": "has space" }, body: body() });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, "invalid_idempotency_key");
});

test("a dead letter is listed to the operator workspace and replayed into a batch once", { timeout: 30_000 }, async () => {
  const target = await stack.create({ rows: 2 });
  const payload = JSON.stringify({ id: "evt_orphan_api", type: "batch.completed", data: { status: "completed" } });
  const sent = await send(stack.worker, stack.secret, "msg_orphan_api", payload);
  assert.equal(sent.status, 202, sent.text);

  const listed = await stack.call("GET", "/v1/dead-letters");
  assert.equal(listed.status, 200, listed.text);
  const letter = listed.body.data.find((d) => d.webhook_id === "msg_orphan_api");
  assert.ok(letter, listed.text);
  assert.deepEqual((await stack.call("GET", "/v1/dead-letters", { token: BETA })).body.data, []);

  const unroutable = await stack.call("POST", `/v1/dead-letters/${letter.seq}/replay`, { body: {} });
  assert.equal(unroutable.status, 400);
  assert.equal(unroutable.body.error.code, "unroutable");
  const foreign = await stack.create({ rows: 1, token: BETA });
  const notYours = await stack.call("POST", `/v1/dead-letters/${letter.seq}/replay`, { body: { batch_id: foreign.id } });
  assert.equal(notYours.status, 404);

  const replayed = await stack.call("POST", `/v1/dead-letters/${letter.seq}/replay`, { body: { batch_id: target.id } });
  assert.equal(replayed.status, 200, replayed.text);
  assert.equal(replayed.body.batch_id, target.id);
  const view = await stack.view(target.id);
  assert.ok(view.batchhook.deliveries.some((d) => d.webhook_id === "msg_orphan_api"));
  const twice = await stack.call("POST", `/v1/dead-letters/${letter.seq}/replay`, { body: { batch_id: target.id } });
  assert.equal(twice.status, 409);
  assert.equal(twice.body.error.code, "already_replayed");
});
