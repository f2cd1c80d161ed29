// Security of the /v1 API: tokens on every route, workspace isolation, no secret in any
// response, CORS limited to ALLOWED_ORIGINS.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { send } from "../worker/helpers.mjs";
import { BETA, OPS, startApi, waitFor } from "./helpers.mjs";

let stack;
let batch;
const responses = [];

before(async () => {
  stack = await startApi();
  const call = stack.call;
  stack.call = async (...args) => {
    const res = await call(...args);
    responses.push(res.text + JSON.stringify([...res.headers]));
    return res;
  };
  batch = await stack.create({ rows: 3 });
  await stack.waitView(batch.id, (v) => v.status === "completed" && v.batchhook.ingestion.state === "done");
}, { timeout: 120_000 });
after(async () => {
  await stack?.stop();
});

const ROUTES = (id) => [
  ["POST", "/v1/files"],
  ["GET", "/v1/files/file_x/content"],
  ["POST", "/v1/batches"],
  ["GET", "/v1/batches"],
  ["GET", `/v1/batches/${id}`],
  ["POST", `/v1/batches/${id}/cancel`],
  ["POST", `/v1/batches/${id}/pause`],
  ["POST", `/v1/batches/${id}/resume`],
  ["GET", `/v1/batches/${id}/results`],
  ["GET", `/v1/batches/${id}/events`],
  ["GET", "/v1/dead-letters"],
  ["POST", "/v1/dead-letters/1/replay"],
  ["GET", "/v1/no-such-route"],
];

test("every /v1 route answers 401 without a token or with a wrong one", { timeout: 30_000 }, async () => {
  for (const [method, path] of ROUTES(batch.id)) {
    const missing = await stack.call(method, path, { token: null, body: method === "POST" ? {} : undefined });
    assert.equal(missing.status, 401, `${method} ${path}: ${missing.text}`);
    assert.equal(missing.body.error.code, "missing_token");
    const wrong = await stack.call(method, path, { token: "tok_wrong_0123456789abcdef" });
    assert.equal(wrong.status, 401, `${method} ${path}`);
    assert.equal(wrong.body.error.code, "invalid_token");
    const basic = await stack.call(method, path, { token: null, headers: { authorization: `Basic ${OPS}` } });
    assert.equal(basic.status, 401, `${method} ${path}`);
  }
});

test("another workspace sees none of a batch: not found everywhere, absent from its list", { timeout: 30_000 }, async () => {
  for (const [method, path] of ROUTES(batch.id).filter(([, p]) => p.includes(batch.id))) {
    const res = await stack.call(method, path, { token: BETA, body: method === "POST" ? {} : undefined });
    assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
    assert.equal(res.body.error.code, "batch_not_found");
  }
  const own = await stack.call("GET", "/v1/batches", { token: OPS });
  assert.ok(own.body.data.some((b) => b.id === batch.id));
  const other = await stack.call("GET", "/v1/batches", { token: BETA });
  assert.equal(other.status, 200);
  assert.ok(!other.body.data.some((b) => b.id === batch.id));
  const cursor = await stack.call("GET", `/v1/batches?after=${batch.id}`, { token: BETA });
  assert.equal(cursor.status, 400, "another workspace's id is not a valid cursor");
  const events = await stack.events(batch.id, { token: BETA }).then(
    () => "opened",
    (e) => e.message,
  );
  assert.match(events, /404/);
  const dead = await stack.call("GET", "/v1/dead-letters", { token: BETA });
  assert.deepEqual(dead.body.data, []);
});

test("no response ever carries the webhook secret, the gateway key or a token", { timeout: 30_000 }, async () => {
  await stack.call("GET", `/v1/batches/${batch.id}`);
  await stack.call("GET", "/v1/batches");
  await stack.call("GET", `/v1/batches/${batch.id}/results`);
  await stack.call("GET", `/v1/batches/${batch.id}/events?since=0`);
  assert.ok(responses.length > 20);
  const secretBody = stack.secret.slice("whsec_".length);
  for (const text of responses) {
    assert.ok(!text.includes(secretBody), "webhook secret leaked");
    assert.ok(!text.includes(stack.emu.apiKey), "gateway key leaked");
    assert.ok(!text.includes(OPS) && !text.includes(BETA), "token leaked");
  }
});

test("CORS allows the configured origin and refuses any other", { timeout: 30_000 }, async () => {
  const preflight = (origin) =>
    fetch(new URL("/v1/batches", stack.worker.url), {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });
  const ok = await preflight("https://ops.example.com");
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), "https://ops.example.com");
  assert.match(ok.headers.get("access-control-allow-headers"), /authorization/);
  const bad = await preflight("https://evil.example");
  assert.equal(bad.status, 403);
  assert.equal(bad.headers.get("access-control-allow-origin"), null);

  const simple = await stack.call("GET", "/v1/batches", { headers: { origin: "https://ops.example.com" } });
  assert.equal(simple.status, 200, simple.text);
  assert.equal(simple.headers.get("access-control-allow-origin"), "https://ops.example.com");
  const refused = await stack.call("GET", "/v1/batches", { headers: { origin: "https://evil.example" } });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, "origin_not_allowed");
  const own = await stack.call("GET", "/v1/batches", { headers: { origin: new URL(stack.worker.url).origin } });
  assert.equal(own.status, 200, "the page's own origin is always allowed");
});

test("a batch first seen through a webhook belongs to the operator workspace only", { timeout: 30_000 }, async () => {
  const id = "batch_webhook_only";
  const payload = JSON.stringify({
    id: "evt_webhook_only",
    type: "batch.in_progress",
    data: { id, object: "batch", status: "in_progress", request_counts: { total: 2, completed: 0, failed: 0 } },
  });
  const sent = await send(stack.worker, stack.secret, "msg_webhook_only", payload);
  assert.equal(sent.status, 200, sent.text);
  await waitFor(async () => (await stack.call("GET", "/v1/batches?status=in_progress")).body.data.some((b) => b.id === id), {
    what: "the operator's list to show the webhook-only batch",
  });
  assert.equal((await stack.call("GET", `/v1/batches/${id}`)).status, 200);
  assert.equal((await stack.call("GET", `/v1/batches/${id}`, { token: BETA })).status, 404);
  const other = await stack.call("GET", "/v1/batches?limit=100", { token: BETA });
  assert.ok(!other.body.data.some((b) => b.id === id));
});
