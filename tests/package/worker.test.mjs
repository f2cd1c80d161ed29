// BatchClient against the batchhook worker's /v1 API (real workerd through miniflare) in front of
// the gateway emulator: what only the worker offers — idempotent create, the batchhook block,
// pause/resume, ingested results, the event stream and its WebSocket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket as NodeWebSocket } from 'ws';
import { startStack, OPERATOR_TOKEN } from '../worker/helpers.mjs';
import { jsonlRows } from '../support/emulator.mjs';
import { BatchClient, BatchhookError } from '../../dist/client/index.js';
import { watchToEnd } from './watch.mjs';

let stack;
let client;

before(async () => {
  stack = await startStack({ speed: 10, seed: 21 });
  client = new BatchClient({ baseUrl: stack.worker.url.toString(), token: OPERATOR_TOKEN, pollMinMs: 50, pollMaxMs: 400 });
});

after(async () => {
  await stack?.worker.stop();
  await stack?.emu.stop();
});

async function submit(rows, clientJobId) {
  const file = await client.uploadFile(jsonlRows(rows, { prefix: clientJobId ?? 'r' }));
  return client.createBatch({ inputFileId: file.id, endpoint: '/v1/chat/completions', clientJobId, metadata: { suite: 'package' } });
}

test('a repeated createBatch with the same clientJobId returns the same batch, and a reused key with other input is refused', async () => {
  const file = await client.uploadFile(jsonlRows(2));
  const options = { inputFileId: file.id, endpoint: '/v1/chat/completions', clientJobId: `job-${Date.now()}`, metadata: { n: '1' } };
  const a = await client.createBatch(options);
  const b = await client.createBatch(options);
  assert.equal(a.id, b.id);
  const other = await client.uploadFile(jsonlRows(3));
  const err = await client.createBatch({ ...options, inputFileId: other.id }).catch((e) => e);
  assert.ok(err instanceof BatchhookError && err.status >= 400 && err.status < 500, String(err));
  assert.match(err.message, /idempotency key/);
});

test('getBatch carries the batchhook block and the run ends completed with every result ingested', async () => {
  const batch = await submit(5);
  const done = await client.waitForBatch(batch.id, { timeoutMs: 30_000 });
  assert.equal(done.status, 'completed');
  const view = await client.getBatch(batch.id);
  assert.ok(Array.isArray(view.batchhook.timeline) && view.batchhook.timeline.length >= 2);
  assert.ok(view.batchhook.timeline.every((e) => ['webhook', 'poll', 'api'].includes(e.source)));
  const rows = [];
  for (let i = 0; i < 100 && rows.length < 5; i++) {
    rows.length = 0;
    for await (const row of client.results(batch.id, { limit: 2 })) rows.push(row);
    if (rows.length < 5) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(rows.length, 5);
  assert.equal(new Set(rows.map((r) => r.custom_id)).size, 5);
});

test('pause and resume change the batchhook block, and a second resume is a 409', async () => {
  const batch = await submit(40);
  const paused = await client.pauseBatch(batch.id);
  assert.equal(paused.batchhook.paused, true);
  const resumed = await client.resumeBatch(batch.id);
  assert.equal(resumed.batchhook.paused, false);
  const err = await client.resumeBatch(batch.id).catch((e) => e);
  assert.ok(err instanceof BatchhookError);
  assert.equal(err.status, 409);
  assert.ok(err.message.length > 0 && !err.message.includes('{'));
  await client.cancelBatch(batch.id);
  const done = await client.waitForBatch(batch.id, { timeoutMs: 30_000 });
  assert.equal(done.status, 'cancelled');
});

test('listBatches pages the worker index with status aliases', async () => {
  const seen = [];
  for await (const page of client.listBatches({ status: 'canceled,completed', limit: 1 })) {
    assert.ok(page.data.length <= 1);
    seen.push(...page.data.map((b) => b.status));
  }
  assert.ok(seen.length >= 2);
  assert.ok(seen.every((s) => s === 'completed' || s === 'cancelled'), seen.join());
});

test('events returns the timeline after a sequence number', async () => {
  const batch = await submit(2);
  await client.waitForBatch(batch.id, { timeoutMs: 30_000 });
  const all = await client.events(batch.id);
  assert.ok(all.data.length >= 2);
  const later = await client.events(batch.id, { since: all.data[0].seq });
  assert.equal(later.data.length, all.data.length - 1);
});

test('watchBatch follows the worker over its WebSocket until the batch completes', async () => {
  globalThis.WebSocket = NodeWebSocket;
  try {
    const batch = await submit(20);
    const { seen, transports } = await watchToEnd(client, batch.id);
    const statuses = seen.map((b) => b.status);
    assert.equal(transports[0], 'websocket');
    assert.ok(!transports.includes('polling'), transports.join());
    assert.equal(statuses.at(-1), 'completed');
    assert.ok(statuses.length >= 3, statuses.join());
  } finally {
    delete globalThis.WebSocket;
  }
});

test('every method refuses a wrong token with 401', async () => {
  const wrong = new BatchClient({ baseUrl: stack.worker.url.toString(), token: 'nope' });
  for (const call of [() => wrong.getBatch('b'), () => wrong.listPage(), () => wrong.pauseBatch('b'), () => wrong.uploadFile(jsonlRows(1))]) {
    await assert.rejects(call(), (e) => e.status === 401);
  }
});
