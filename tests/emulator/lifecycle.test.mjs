// The emulator's full lifecycle over real HTTP: upload, create with a signed webhook, watch
// the states, verify every delivery with the independent npm `standardwebhooks`, fetch the
// output and error files, list, cancel, and the live WebSocket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import WebSocket from 'ws';
import {
  startEmulator, startReceiver, createBatch, waitForBatch, eventually, uploadJsonl, jsonlRows, newSecret,
} from '../support/emulator.mjs';

let emu;
before(async () => {
  emu = await startEmulator({ speed: 1000, seed: 11 });
});
after(async () => emu?.stop());

const ALL_EVENTS = [
  'batch.in_progress', 'batch.progress', 'batch.finalizing', 'batch.completed',
  'batch.failed', 'batch.cancelled', 'batch.expired',
];

test('a batch runs to completed and every subscribed event arrives signed, in order', async () => {
  const secret = newSecret();
  const rx = await startReceiver();
  try {
    const created = await createBatch(emu, {
      rows: 20,
      failRows: [3, 7],
      metadata: { job: 'nightly-evals' },
      webhook: { url: rx.url, events: ALL_EVENTS, secret },
    });
    assert.equal(created.status, 'validating');
    assert.equal(created.lifecycle_status, 'pending');
    assert.ok(created.cancel_url.endsWith(`/v1/batches/${created.id}/cancel`));
    assert.equal(created.polling_url, `${emu.url}/v1/batches/${created.id}`);
    assert.equal(created.webhook.has_secret, true);
    assert.ok(!JSON.stringify(created).includes(secret), 'the secret never appears in the object');

    const done = await waitForBatch(emu, created.id);
    assert.equal(done.status, 'completed');
    assert.equal(done.lifecycle_status, 'completed');
    assert.equal(done.cancel_url, null);
    assert.equal(done.progress, 100);
    assert.deepEqual(done.request_counts, { total: 20, completed: 18, failed: 2 });
    assert.ok(done.usage.input_tokens > 0 && done.usage.output_tokens > 0);
    assert.equal(done.usage.total_tokens, done.usage.input_tokens + done.usage.output_tokens);
    assert.ok(done.created_at <= done.in_progress_at && done.in_progress_at <= done.finalizing_at
      && done.finalizing_at <= done.completed_at);
    assert.equal(done.billing.billed, true);
    assert.equal(done.metadata.job, 'nightly-evals');

    const types = await eventually(() => {
      const t = rx.received.map((r) => r.json.type);
      return t.includes('batch.completed') && t;
    }, 10_000, 'batch.completed delivery');
    assert.equal(types[0], 'batch.in_progress');
    assert.ok(types.includes('batch.progress'));
    assert.deepEqual(types.slice(-2), ['batch.finalizing', 'batch.completed']);

    const wh = new Webhook(secret);
    for (const r of rx.received) {
      const event = wh.verify(r.body, r.headers);
      assert.equal(event.job_id, created.id);
      assert.equal(event.data.id, created.id);
      assert.equal(event.job_kind, 'batch');
      assert.equal(event.signing_enabled, true);
      assert.ok(r.headers['webhook-id'].startsWith('msg_'));
      const skew = Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000);
      assert.ok(skew < 60, 'webhook-timestamp is real wall time, not emulated time');
    }
    const completed = rx.received.find((r) => r.json.type === 'batch.completed').json;
    assert.equal(completed.lifecycle_status, 'completed');
    assert.equal(completed.data.output_file_id, done.output_file_id);
    assert.ok(!rx.received.some((r) => r.body.includes(secret)));

    const ids = rx.received.map((r) => r.headers['webhook-id']);
    assert.equal(new Set(ids).size, ids.length, 'each event has its own webhook-id');

    const after = await eventually(async () => {
      const b = (await emu.api('GET', `/v1/batches/${created.id}`)).body;
      return b.webhook.delivery.delivered_events === rx.received.length && b;
    }, 5_000, 'delivery summary');
    assert.equal(after.webhook.delivery.pending_retries, 0);
    assert.equal(after.webhook.delivery.last_response_status, 200);
    assert.ok(after.webhook.delivery.delivered_event_types.includes('batch.completed'));
    assert.ok(after.webhook.attempts.every((a) => a.attempt_number === 1 && a.response_status === 200));
  } finally {
    await rx.close();
  }
});

test('the output file holds OpenAI-shaped chat completions and the error file the marked rows', async () => {
  const created = await createBatch(emu, { rows: 10, failRows: [4] });
  const done = await waitForBatch(emu, created.id);
  const out = await emu.api('GET', `/v1/files/${done.output_file_id}/content`);
  assert.equal(out.status, 200);
  const rows = out.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 9);
  for (const r of rows) {
    assert.equal(r.response.status_code, 200);
    assert.equal(r.response.body.object, 'chat.completion');
    assert.equal(r.response.body.choices[0].message.role, 'assistant');
    const u = r.response.body.usage;
    assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
    assert.equal(r.error, null);
  }
  const sum = rows.reduce((s, r) => s + r.response.body.usage.completion_tokens, 0);
  assert.equal(sum, done.usage.output_tokens, 'batch usage equals the sum of the rows');
  const errors = await emu.api('GET', `/v1/files/${done.error_file_id}/content`);
  const bad = errors.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(bad.map((r) => r.custom_id), ['row-4']);
  assert.equal(bad[0].response.status_code, 400);
  const meta = await emu.api('GET', `/v1/files/${done.output_file_id}`);
  assert.equal(meta.body.purpose, 'batch_output');
  assert.equal(meta.body.bytes, Buffer.byteLength(out.text));
});

test('the same input gives the same answers (deterministic fake model)', async () => {
  const text = jsonlRows(5);
  const a = await waitForBatch(emu, (await createBatch(emu, { text })).id);
  const b = await waitForBatch(emu, (await createBatch(emu, { text })).id);
  const bodyOf = async (id) => (await emu.api('GET', `/v1/files/${id}/content`)).text
    .trim().split('\n').map((l) => JSON.parse(l).response.body.choices[0].message.content);
  assert.deepEqual(await bodyOf(a.output_file_id), await bodyOf(b.output_file_id));
});

test('cancel moves a running batch to cancelling then cancelled, and a second cancel is a 409', async () => {
  const rx = await startReceiver();
  try {
    const created = await createBatch(emu, {
      rows: 50,
      metadata: { 'emulator.run_s': '600' },
      webhook: { url: rx.url, secret: newSecret() },
    });
    await waitForBatch(emu, created.id, (b) => b.status === 'in_progress' && b.request_counts.completed > 0);
    const res = await emu.api('POST', `/v1/batches/${created.id}/cancel`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'cancelling');
    assert.equal(res.body.lifecycle_status, 'cancelling');
    assert.equal(res.body.cancel_url, null);
    assert.ok(res.body.cancelling_at);
    const done = await waitForBatch(emu, created.id);
    assert.equal(done.status, 'cancelled');
    assert.ok(done.cancelled_at >= done.cancelling_at);
    const errs = (await emu.api('GET', `/v1/files/${done.error_file_id}/content`)).text.trim().split('\n');
    assert.equal(errs.length + done.request_counts.completed, 50, 'unrun rows are reported as cancelled');
    assert.match(errs.at(-1), /batch_cancelled/);
    const again = await emu.api('POST', `/v1/batches/${created.id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'invalid_state');
    await eventually(() => rx.received.some((r) => r.json.type === 'batch.cancelled'), 5_000, 'batch.cancelled');
    assert.deepEqual(rx.received.map((r) => r.json.type), ['batch.cancelled'], 'only the default (terminal) events');
  } finally {
    await rx.close();
  }
});

test('the list is newest first with the reference envelope, filters and cursor', async () => {
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await createBatch(emu, { rows: 1, metadata: { 'emulator.run_s': '100000' } })).id);
  const page = await emu.api('GET', '/v1/batches?limit=2');
  assert.equal(page.status, 200);
  assert.equal(page.body.object, 'list');
  assert.deepEqual(page.body.data.map((b) => b.id), [ids[2], ids[1]]);
  assert.equal(page.body.first_id, ids[2]);
  assert.equal(page.body.last_id, ids[1]);
  assert.equal(page.body.has_more, true);
  const next = await emu.api('GET', `/v1/batches?limit=1&after=${page.body.last_id}`);
  assert.deepEqual(next.body.data.map((b) => b.id), [ids[0]]);
  const running = await emu.api('GET', '/v1/batches?status=running,queued&limit=100');
  assert.ok(running.body.data.every((b) => ['pending', 'in_progress'].includes(b.lifecycle_status)));
  assert.ok(ids.every((id) => running.body.data.some((b) => b.id === id)));
  const bad = await emu.api('GET', '/v1/batches?limit=0');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_limit');
});

test('the WebSocket sends the batch on every change and closes after the terminal state', async () => {
  const created = await createBatch(emu, { rows: 30, metadata: { 'emulator.run_s': '200' } });
  const ws = new WebSocket(`${created.websocket_url}?access_token=${emu.apiKey}`);
  const seen = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('websocket did not close')), 15_000);
    ws.on('message', (data) => seen.push(JSON.parse(data.toString())));
    ws.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', reject);
  });
  assert.ok(seen.length >= 2);
  assert.equal(seen.at(-1).status, 'completed');
  const progress = seen.map((b) => b.request_counts.completed);
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress never goes back');
});

test('requests without the API key get 401 with the error envelope; CORS is open', async () => {
  const res = await fetch(`${emu.url}/v1/batches`);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error.code, 'unauthorized');
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  const pre = await fetch(`${emu.url}/v1/batches`, {
    method: 'OPTIONS',
    headers: { origin: 'http://example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get('access-control-allow-headers'), /authorization/);
  const wrongAdmin = await emu.api('GET', '/_admin/faults');
  assert.equal(wrongAdmin.status, 401, 'the API key is not the admin key');
  const unknown = await emu.api('GET', '/v1/nothing-here');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'not_found');
  const missing = await emu.api('GET', '/v1/batches/batch_missing');
  assert.equal(missing.status, 404);
});

test('a file with bad rows is refused with each bad row listed', async () => {
  const good = jsonlRows(1).trim();
  const res = await uploadJsonl(emu, `${good}\n{"custom_id":"x"}\nnot json\n`);
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'invalid_file');
  const rows = res.body.error.validation_errors.map((e) => e.row);
  assert.ok(rows.includes(2) && rows.includes(3) && !rows.includes(1), JSON.stringify(rows));
  const form = new FormData();
  form.append('purpose', 'fine-tune');
  form.append('file', new Blob([good]), 'x.jsonl');
  const wrongPurpose = await emu.api('POST', '/v1/files', form);
  assert.equal(wrongPurpose.status, 400);
});

test('creating a batch checks the file, endpoint, window, metadata knobs and webhook secret', async () => {
  const file = (await uploadJsonl(emu, jsonlRows(1))).body;
  const create = (patch) => emu.api('POST', '/v1/batches', {
    input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', ...patch,
  });
  assert.equal((await create({ input_file_id: 'file-nope' })).status, 400);
  assert.equal((await create({ endpoint: '/v1/embeddings' })).status, 400);
  assert.equal((await create({ completion_window: 'whenever' })).status, 400);
  const knob = await create({ metadata: { 'emulator.drop_rat': '1' } });
  assert.equal(knob.status, 400);
  assert.match(knob.body.error.message, /drop_rate/);
  const weak = await create({ webhook: { url: 'http://127.0.0.1:9/x', secret: 'whsec_c2hvcnQ=' } });
  assert.equal(weak.status, 400);
  assert.equal((await create({ webhook: { url: 'http://127.0.0.1:9/x', events: ['batch.exploded'] } })).status, 400);
});
