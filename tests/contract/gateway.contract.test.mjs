// The gateway contract: what batchhook relies on from the AI Stats batch API, written once and
// runnable against any base URL. With GATEWAY_URL and GATEWAY_API_KEY set it talks to that
// gateway; otherwise (as in `npm test`) it starts the local emulator at a high speed.
//
//   GATEWAY_URL=https://api.phaseo.app GATEWAY_API_KEY=… GATEWAY_CONTRACT_TIMEOUT_MS=… \
//     node --test tests/contract/
//
// Only public API calls are made. Metadata keys `emulator.*` tune the emulator's timing and
// are plain metadata to a real gateway. The lifecycle tests wait for terminal states; against a
// real gateway raise GATEWAY_CONTRACT_TIMEOUT_MS accordingly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, jsonlRows } from '../support/emulator.mjs';
import { readResponse } from '../support/http.mjs';

let base;
let key;
let emu;
const TIMEOUT_MS = Number(process.env.GATEWAY_CONTRACT_TIMEOUT_MS ?? 30_000);
const LIFECYCLE = ['pending', 'in_progress', 'cancelling', 'completed', 'failed', 'cancelled', 'expired'];
const TERMINAL = ['completed', 'failed', 'cancelled', 'expired'];
const RANK = { pending: 0, in_progress: 1, cancelling: 2, completed: 3, failed: 3, cancelled: 3, expired: 3 };

before(async () => {
  if (process.env.GATEWAY_URL && process.env.GATEWAY_API_KEY) {
    base = process.env.GATEWAY_URL.replace(/\/$/, '');
    key = process.env.GATEWAY_API_KEY;
  } else {
    emu = await startEmulator({ speed: 2000, seed: 42 });
    base = emu.url;
    key = emu.apiKey;
  }
});
after(async () => emu?.stop());

async function call(method, path, body, { auth = `Bearer ${key}` } = {}) {
  const headers = auth ? { authorization: auth } : {};
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body: payload });
  return readResponse(res);
}

function assertErrorEnvelope(res, status) {
  assert.equal(res.status, status, res.text);
  assert.equal(typeof res.body?.error?.code, 'string', res.text);
  assert.equal(typeof res.body.error.message, 'string', res.text);
  assert.ok(res.body.error.message.length > 0);
}

async function upload(text) {
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([text], { type: 'application/jsonl' }), 'contract.jsonl');
  return call('POST', '/v1/files', form);
}

async function newBatch({ rows = 3, metadata = {} } = {}) {
  const file = await upload(jsonlRows(rows, { prefix: 'contract' }));
  assert.equal(file.status, 200, file.text);
  const res = await call('POST', '/v1/batches', {
    input_file_id: file.body.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    metadata: { suite: 'contract', ...metadata },
  });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

async function poll(id, until) {
  const deadline = Date.now() + TIMEOUT_MS;
  const seen = [];
  for (;;) {
    const res = await call('GET', `/v1/batches/${id}`);
    if (res.status === 200) {
      seen.push(res.body);
      if (until(res.body)) return seen;
    } else if (res.status !== 429 && res.status < 500) {
      assert.fail(`polling ${id} answered ${res.status}: ${res.text}`);
    }
    if (Date.now() > deadline) assert.fail(`batch ${id} did not get there in ${TIMEOUT_MS} ms (last ${seen.at(-1)?.lifecycle_status})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const ids = (res) => res.body.data.map((b) => b.id);

test('every API call needs the bearer key; failures use the error envelope', async () => {
  assertErrorEnvelope(await call('GET', '/v1/batches', undefined, { auth: null }), 401);
  assertErrorEnvelope(await call('GET', '/v1/batches', undefined, { auth: 'Bearer not-the-key' }), 401);
  assertErrorEnvelope(await call('GET', '/v1/batches/batch_does_not_exist_0000'), 404);
});

test('an uploaded JSONL file is a file object whose content reads back byte for byte', async () => {
  const text = jsonlRows(3, { prefix: 'upload' });
  const res = await upload(text);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.object, 'file');
  assert.equal(res.body.purpose, 'batch');
  assert.equal(res.body.bytes, Buffer.byteLength(text));
  const got = await call('GET', `/v1/files/${res.body.id}`);
  assert.equal(got.body.id, res.body.id);
  const content = await call('GET', `/v1/files/${res.body.id}/content`);
  assert.equal(content.status, 200);
  assert.equal(content.text, text);
});

test('a JSONL file with invalid rows is refused with the error envelope', async () => {
  const res = await upload(`${jsonlRows(1).trim()}\n{"custom_id":"no-body"}\n`);
  assertErrorEnvelope(res, 400);
});

test('a created batch carries the reference fields and is readable by id', async () => {
  const b = await newBatch({ rows: 3, metadata: { 'emulator.run_s': '600' } });
  assert.equal(typeof b.id, 'string');
  assert.equal(b.object, 'batch');
  assert.equal(b.endpoint, '/v1/chat/completions');
  assert.equal(b.completion_window, '24h');
  assert.ok(LIFECYCLE.includes(b.lifecycle_status), b.lifecycle_status);
  assert.ok(Number.isInteger(b.created_at));
  assert.equal(b.request_counts.total, 3);
  assert.equal(b.metadata.suite, 'contract');
  assert.equal(typeof b.polling_url, 'string');
  assert.ok(b.cancel_url, 'a fresh batch is cancellable');
  const got = await call('GET', `/v1/batches/${b.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.id, b.id);
  assert.equal(got.body.input_file_id, b.input_file_id);
});

test('the list answers the list envelope, newest first, with limit bounds', async () => {
  for (let i = 0; i < 3; i++) await newBatch({ rows: 1, metadata: { 'emulator.run_s': '600' } });
  const all = await call('GET', '/v1/batches');
  assert.equal(all.status, 200);
  assert.equal(all.body.object, 'list');
  assert.ok(Array.isArray(all.body.data));
  assert.ok(all.body.data.length >= 3 && all.body.data.length <= 20, 'default limit is 20');
  assert.equal(all.body.first_id, all.body.data[0].id);
  assert.equal(all.body.last_id, all.body.data.at(-1).id);
  assert.equal(typeof all.body.has_more, 'boolean');
  const created = all.body.data.map((b) => b.created_at);
  assert.deepEqual(created, [...created].sort((a, b) => b - a), 'newest first');

  const one = await call('GET', '/v1/batches?limit=1');
  assert.equal(one.body.data.length, 1);
  assert.equal(one.body.has_more, true);
  assert.equal((await call('GET', '/v1/batches?limit=100')).status, 200);
  assertErrorEnvelope(await call('GET', '/v1/batches?limit=0'), 400);
  assertErrorEnvelope(await call('GET', '/v1/batches?limit=ten'), 400);
  const over = await call('GET', '/v1/batches?limit=101');
  if (over.status === 200) assert.ok(over.body.data.length <= 100, 'capped at 100');
  else assertErrorEnvelope(over, 400);
});

test('the after cursor pages without overlap or gaps', async () => {
  for (let i = 0; i < 3; i++) await newBatch({ rows: 1 });
  const first = await call('GET', '/v1/batches?limit=3');
  const pages = [];
  let after = null;
  for (let i = 0; i < 3; i++) {
    const res = await call('GET', `/v1/batches?limit=1${after ? `&after=${after}` : ''}`);
    assert.equal(res.body.data.length, 1);
    pages.push(res.body.data[0].id);
    after = res.body.last_id;
  }
  assert.deepEqual(pages, ids(first));
});

test('status filters accept every alias, repeated, comma-separated or as statuses', async () => {
  await newBatch({ rows: 1, metadata: { 'emulator.run_s': '100000000' } });
  const q = async (qs) => {
    const res = await call('GET', `/v1/batches?limit=100&${qs}`);
    assert.equal(res.status, 200, `${qs}: ${res.text}`);
    return res;
  };
  // Batches keep moving while we ask, so compare b against a only when a was stable around it.
  const same = async (a, b) => {
    for (let i = 0; i < 20; i++) {
      const before = ids(await q(a));
      const other = ids(await q(b));
      if (JSON.stringify(before) === JSON.stringify(ids(await q(a)))) {
        assert.deepEqual(other, before, `${a} ≡ ${b}`);
        return;
      }
    }
    assert.fail(`${a} never stayed stable long enough to compare with ${b}`);
  };
  await same('status=pending', 'status=queued');
  await same('status=in_progress', 'status=running');
  await same('status=in_progress', 'status=processing');
  await same('status=cancelled', 'status=canceled');
  await same('status=pending&status=in_progress', 'status=pending,in_progress');
  await same('status=pending,in_progress', 'statuses=pending,in_progress');
  const active = await q('statuses=pending,in_progress');
  assert.ok(active.body.data.length >= 1);
  assert.ok(active.body.data.every((b) => ['pending', 'in_progress'].includes(b.lifecycle_status)));
  const done = await q('status=completed');
  assert.ok(done.body.data.every((b) => b.lifecycle_status === 'completed'));
  assertErrorEnvelope(await call('GET', '/v1/batches?status=exploded'), 400);
});

test('the lifecycle only moves forward and a completed batch has its output', async () => {
  const b = await newBatch({ rows: 5 });
  const seen = await poll(b.id, (x) => TERMINAL.includes(x.lifecycle_status));
  const ranks = seen.map((x) => RANK[x.lifecycle_status]);
  assert.deepEqual(ranks, [...ranks].sort((x, y) => x - y), `never backwards: ${seen.map((x) => x.lifecycle_status)}`);
  const done = seen.at(-1);
  assert.equal(done.lifecycle_status, 'completed');
  assert.ok(!done.cancel_url, 'no cancel_url once terminal');
  assert.equal(done.request_counts.completed + done.request_counts.failed, done.request_counts.total);
  const out = await call('GET', `/v1/files/${done.output_file_id}/content`);
  const rows = out.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, done.request_counts.completed);
  assert.ok(rows.every((r) => r.custom_id.startsWith('contract-') && r.response.status_code === 200));
});

test('cancel stops a running batch (cancelling → cancelled) and a terminal batch answers 409', async () => {
  const b = await newBatch({ rows: 5, metadata: { 'emulator.run_s': '600' } });
  assert.ok(b.cancel_url);
  const res = await call('POST', `/v1/batches/${b.id}/cancel`);
  assert.equal(res.status, 200, res.text);
  assert.ok(['cancelling', 'cancelled'].includes(res.body.lifecycle_status), res.body.lifecycle_status);
  const seen = await poll(b.id, (x) => TERMINAL.includes(x.lifecycle_status));
  const done = seen.at(-1);
  assert.equal(done.lifecycle_status, 'cancelled');
  assert.ok(!done.cancel_url);
  assert.ok(seen.every((x) => RANK[x.lifecycle_status] >= RANK.cancelling), 'never back to running');
  assertErrorEnvelope(await call('POST', `/v1/batches/${b.id}/cancel`), 409);
  assertErrorEnvelope(await call('POST', '/v1/batches/batch_does_not_exist_0000/cancel'), 404);
});
