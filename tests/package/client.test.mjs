// The npm `batchhook` entry's BatchClient, method by method, over real HTTP against the gateway
// emulator (the client speaks the gateway's /v1 API, which the worker mirrors). Worker-only
// routes (pause, resume, events) are checked for their wire shape through the `fetch` option,
// and against a real worker in tests that start one once its /v1 API exists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket as NodeWebSocket } from 'ws';
import { startEmulator, jsonlRows } from '../support/emulator.mjs';
import { watchToEnd } from './watch.mjs';
import { BatchClient, BatchhookError, validateJsonl, isTerminalStatus, lifecycleStatus, classifyFailures, jobView } from '../../dist/client/index.js';

let emu;
let slow;

before(async () => {
  [emu, slow] = await Promise.all([startEmulator({ speed: 1000, seed: 3 }), startEmulator({ speed: 4, seed: 4 })]);
});

after(async () => {
  await Promise.all([emu?.stop(), slow?.stop()]);
});

/** A client whose requests are recorded (method, url, headers) on their way to the real fetch. */
function spiedClient(target, options = {}) {
  const requests = [];
  const client = new BatchClient({
    baseUrl: target.url,
    token: target.apiKey,
    pollMinMs: 20,
    pollMaxMs: 200,
    fetch: (request) => {
      requests.push({ method: request.method, url: request.url, headers: Object.fromEntries(request.headers) });
      return fetch(request);
    },
    ...options,
  });
  return { client, requests };
}

async function submit(client, rows = 4, extra = {}) {
  const file = await client.uploadFile(jsonlRows(rows), { filename: 'rows.jsonl' });
  return client.createBatch({ inputFileId: file.id, endpoint: '/v1/chat/completions', ...extra });
}

test('uploadFile validates rows locally and uploads nothing when any row is invalid', async () => {
  const { client, requests } = spiedClient(emu);
  const text = `${jsonlRows(1)}{"custom_id":"b","method":"GET","url":"/v1/chat/completions","body":{"model":"m"}}\nnot json\n`;
  const err = await client.uploadFile(text).catch((e) => e);
  assert.ok(err instanceof BatchhookError && err instanceof Error);
  assert.equal(err.code, 'invalid_jsonl');
  assert.equal(err.status, 0);
  assert.deepEqual(err.rows.map((r) => r.row), [2, 3]);
  assert.match(err.rows[0].error, /method must be "POST"/);
  assert.equal(requests.length, 0, 'no request may leave when validation fails');
});

test('uploadFile accepts a string, a Blob and a File and returns the file object', async () => {
  const { client, requests } = spiedClient(emu);
  const text = jsonlRows(3);
  for (const input of [text, new Blob([text]), new File([text], 'named.jsonl')]) {
    const file = await client.uploadFile(input);
    assert.match(file.id, /^file/);
    assert.equal(file.purpose, 'batch');
    assert.equal(file.bytes, new TextEncoder().encode(text).length);
  }
  const last = requests.at(-1);
  assert.equal(last.method, 'POST');
  assert.ok(last.url.endsWith('/v1/files'));
  assert.match(last.headers['content-type'], /^multipart\/form-data; boundary=/);
  assert.equal(last.headers.authorization, `Bearer ${emu.apiKey}`);
});

test('uploadFile checks rows against the endpoint it is given', async () => {
  const { client } = spiedClient(emu);
  const rows = jsonlRows(2, { endpoint: '/v1/embeddings' });
  await assert.rejects(client.uploadFile(rows), (e) => e.code === 'invalid_jsonl' && /does not match the batch endpoint/.test(e.rows[0].error));
  const file = await client.uploadFile(rows, { endpoint: '/v1/embeddings' });
  assert.match(file.id, /^file/);
});

test('createBatch sends the client job id as Idempotency-Key, and a fresh key when none is given', async () => {
  const { client, requests } = spiedClient(emu);
  const batch = await submit(client, 2, { clientJobId: 'job-42', metadata: { team: 'evals' } });
  assert.match(batch.id, /^batch/);
  assert.deepEqual(batch.metadata, { team: 'evals' });
  const create = requests.filter((r) => r.url.endsWith('/v1/batches') && r.method === 'POST');
  assert.equal(create.at(-1).headers['idempotency-key'], 'job-42');
  await submit(client, 2);
  await submit(client, 2);
  const keys = requests.filter((r) => r.url.endsWith('/v1/batches') && r.method === 'POST').map((r) => r.headers['idempotency-key']);
  assert.equal(new Set(keys).size, 3, 'each call without clientJobId gets its own key');
});

test('createBatch refuses missing fields locally with a sentence', async () => {
  const { client, requests } = spiedClient(emu);
  await assert.rejects(client.createBatch({ endpoint: '/v1/chat/completions' }), (e) => e.code === 'invalid_argument' && /inputFileId/.test(e.message));
  await assert.rejects(client.createBatch({ inputFileId: 'file_1', endpoint: 'chat' }), (e) => e.code === 'invalid_argument' && /endpoint/.test(e.message));
  assert.equal(requests.length, 0);
});

test('getBatch returns the batch and a 404 becomes a BatchhookError with the server message', async () => {
  const { client } = spiedClient(emu);
  const created = await submit(client);
  const got = await client.getBatch(created.id);
  assert.equal(got.id, created.id);
  const err = await client.getBatch('batch_missing').catch((e) => e);
  assert.ok(err instanceof BatchhookError);
  assert.equal(err.status, 404);
  assert.equal(err.code, 'not_found');
  assert.match(err.message, /batch_missing/);
  assert.equal(err.retryable, false);
});

test('a wrong token is a 401 BatchhookError', async () => {
  const client = new BatchClient({ baseUrl: emu.url, token: 'wrong' });
  await assert.rejects(client.listPage(), (e) => e instanceof BatchhookError && e.status === 401);
});

test('an unreachable API is a retryable network_error', async () => {
  const client = new BatchClient({ baseUrl: 'http://127.0.0.1:9', token: 't' });
  await assert.rejects(client.getBatch('b'), (e) => e.code === 'network_error' && e.retryable === true && e.status === 0);
});

test('listBatches iterates every page through the after cursor', async () => {
  const { client, requests } = spiedClient(emu);
  const mine = [];
  for (let i = 0; i < 5; i++) mine.push((await submit(client, 1)).id);
  const seen = [];
  let pages = 0;
  for await (const page of client.listBatches({ limit: 2 })) {
    pages += 1;
    assert.equal(page.object, 'list');
    assert.ok(page.data.length <= 2);
    seen.push(...page.data.map((b) => b.id));
  }
  assert.ok(pages >= 3);
  assert.equal(new Set(seen).size, seen.length, 'no batch twice across pages');
  for (const id of mine) assert.ok(seen.includes(id), `${id} listed`);
  const listed = requests.filter((r) => r.url.includes('/v1/batches?'));
  assert.ok(listed.slice(1).every((r) => /after=/.test(r.url)));
});

test('listBatches accepts status aliases and rejects unknown statuses without a request', async () => {
  const { client, requests } = spiedClient(emu);
  const batch = await submit(client, 1);
  await client.waitForBatch(batch.id);
  const completed = [];
  for await (const page of client.listBatches({ status: ['completed'], limit: 100 })) completed.push(...page.data);
  assert.ok(completed.some((b) => b.id === batch.id));
  assert.ok(completed.every((b) => b.status === 'completed'));
  const canceledAlias = await client.listPage({ status: 'canceled,queued', limit: 100 });
  assert.ok(canceledAlias.data.every((b) => ['cancelled', 'validating', 'pending', 'queued'].includes(b.status)));
  const before = requests.length;
  await assert.rejects(client.listPage({ status: 'finished' }), (e) => e.code === 'invalid_argument' && /unknown status filter "finished"/.test(e.message));
  await assert.rejects(client.listPage({ limit: 500 }), (e) => e.code === 'invalid_argument' && /limit/.test(e.message));
  assert.equal(requests.length, before);
});

test('waitForBatch returns the terminal batch and reports progress', async () => {
  const { client } = spiedClient(slow);
  const batch = await submit(client, 6);
  const seen = [];
  const done = await client.waitForBatch(batch.id, { onProgress: (b) => seen.push(lifecycleStatus(b)) });
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.request_counts, { total: 6, completed: 6, failed: 0 });
  assert.ok(seen.length >= 2, `progress reported ${seen.length} times`);
  assert.equal(seen.at(-1), 'completed');
});

test('waitForBatch rejects with the signal reason when aborted', async () => {
  const { client } = spiedClient(slow);
  const batch = await submit(client, 50);
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(new Error('user navigated away')), 100);
  await assert.rejects(client.waitForBatch(batch.id, { signal: controller.signal }), /user navigated away/);
  assert.ok(Date.now() - started < 2000);
  const already = AbortSignal.abort();
  await assert.rejects(client.waitForBatch(batch.id, { signal: already }), (e) => e.name === 'AbortError');
});

test('waitForBatch stops with code timeout after timeoutMs', async () => {
  const { client } = spiedClient(slow);
  const batch = await submit(client, 50);
  await assert.rejects(client.waitForBatch(batch.id, { timeoutMs: 150 }), (e) => e instanceof BatchhookError && e.code === 'timeout');
});

test('cancelBatch cancels a running batch and answers 409 once it is terminal', async () => {
  const { client } = spiedClient(slow);
  const batch = await submit(client, 50);
  const cancelling = await client.cancelBatch(batch.id);
  assert.ok(['cancelling', 'cancelled'].includes(cancelling.status), cancelling.status);
  const done = await client.waitForBatch(batch.id);
  assert.equal(done.status, 'cancelled');
  assert.deepEqual(classifyFailures(done).map((f) => f.kind), ['cancelled']);
  const err = await client.cancelBatch(batch.id).catch((e) => e);
  assert.equal(err.status, 409);
  assert.match(err.message, /cancel/);
});

test('pauseBatch and resumeBatch POST to the batch and surface a 409 as a BatchhookError', async () => {
  const calls = [];
  const client = new BatchClient({
    baseUrl: 'http://127.0.0.1:1/',
    token: 'tok',
    fetch: async (request) => {
      calls.push(`${request.method} ${new URL(request.url).pathname} ${request.headers.get('authorization')}`);
      if (request.url.endsWith('/resume')) {
        return Response.json({ error: { code: 'invalid_transition', message: 'The batch is not paused.' } }, { status: 409 });
      }
      return Response.json({ id: 'batch a/b', status: 'in_progress', batchhook: { paused: true } });
    },
  });
  const paused = await client.pauseBatch('batch a/b');
  assert.equal(paused.batchhook.paused, true);
  const err = await client.resumeBatch('batch a/b').catch((e) => e);
  assert.equal(err.status, 409);
  assert.equal(err.code, 'invalid_transition');
  assert.equal(err.message, 'The batch is not paused.');
  assert.deepEqual(calls, ['POST /v1/batches/batch%20a%2Fb/pause Bearer tok', 'POST /v1/batches/batch%20a%2Fb/resume Bearer tok']);
});

test('the fetch option may be any function returning a Response, and its failures are reported', async () => {
  const throwing = new BatchClient({ baseUrl: 'http://x.test', token: 't', fetch: () => Promise.reject('offline') });
  await assert.rejects(throwing.getBatch('b'), (e) => e.code === 'network_error' && /offline/.test(e.message));
  const wrong = new BatchClient({ baseUrl: 'http://x.test', token: 't', fetch: () => ({ not: 'a response' }) });
  await assert.rejects(wrong.getBatch('b'), (e) => e.code === 'network_error' && /did not resolve to a Response/.test(e.message));
  assert.throws(() => new BatchClient({ baseUrl: 'x.test', token: 't' }), (e) => e.code === 'invalid_argument');
});

test('events reads the JSON form of a batch event stream since a sequence number', async () => {
  let seen;
  const client = new BatchClient({
    baseUrl: 'http://127.0.0.1:1',
    token: 't',
    fetch: async (request) => {
      seen = request.url;
      return Response.json({ object: 'list', data: [{ seq: 4, to: 'completed' }], last_seq: 4 });
    },
  });
  const events = await client.events('b1', { since: 3 });
  assert.equal(events.data[0].seq, 4);
  assert.equal(seen, 'http://127.0.0.1:1/v1/batches/b1/events?since=3');
});

test('watchBatch polls where there is no WebSocket, reports changes until terminal, and unsubscribes', async () => {
  assert.equal(typeof globalThis.WebSocket, 'undefined', 'Node 20 has no global WebSocket');
  const { client } = spiedClient(slow);
  const batch = await submit(client, 6);
  const { seen, transports } = await watchToEnd(client, batch.id);
  const statuses = seen.map((b) => b.status);
  assert.equal(statuses.at(-1), 'completed');
  assert.ok(statuses.length >= 2);
  assert.deepEqual(transports, ['polling']);

  const other = await submit(client, 50);
  let calls = 0;
  const stop = client.watchBatch(other.id, () => calls++);
  await new Promise((r) => setTimeout(r, 150));
  stop();
  const after = calls;
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(calls, after, 'no calls after unsubscribe');
});

test('watchBatch uses the batch WebSocket when one exists', async () => {
  globalThis.WebSocket = NodeWebSocket;
  try {
    const { client } = spiedClient(slow);
    const batch = await submit(client, 6);
    const { seen, transports } = await watchToEnd(client, batch.id);
    const counts = seen.map((b) => b.request_counts?.completed ?? 0);
    assert.equal(transports[0], 'websocket');
    assert.ok(!transports.includes('polling'));
    assert.equal(counts.at(-1), 6);
  } finally {
    delete globalThis.WebSocket;
  }
});

test('results yields every row of a finished batch', async () => {
  const { client } = spiedClient(emu);
  const batch = await submit(client, 7);
  await client.waitForBatch(batch.id);
  const ids = [];
  for await (const row of client.results(batch.id)) ids.push(row.custom_id);
  assert.deepEqual(ids.sort(), Array.from({ length: 7 }, (_, i) => `row-${i}`).sort());
});

test('validateJsonl and jobView expose the core checks', () => {
  const ok = validateJsonl(jsonlRows(2));
  assert.equal(ok.valid, true);
  assert.equal(ok.rows, 2);
  const bad = validateJsonl('\n{"custom_id":"a"}\n', { endpoint: '/v1/embeddings' });
  assert.equal(bad.valid, false);
  assert.ok(bad.errors.every((e) => e.row === 2));
  assert.match(validateJsonl('').file_error, /no requests/);
  const view = jobView({ id: 'b', status: 'running', request_counts: { total: 4, completed: 1, failed: 1 } });
  assert.equal(view.status, 'in_progress');
  assert.equal(view.progress, 0.5);
  assert.equal(isTerminalStatus('canceled'), true);
  assert.equal(isTerminalStatus('queued'), false);
});
