// Every fault knob of the emulator, set per batch (metadata `emulator.<knob>`) or globally
// (`/_admin/faults`), observed over real HTTP with a local webhook receiver. Retries must keep
// the webhook-id; signatures are checked with the independent npm `standardwebhooks`.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import {
  startEmulator, startReceiver, createBatch, waitForBatch, eventually, newSecret,
} from '../support/emulator.mjs';

let emu;
before(async () => {
  emu = await startEmulator({ speed: 1000, seed: 5 });
});
after(async () => emu?.stop());
beforeEach(async () => {
  assert.equal((await emu.admin('DELETE', '/_admin/faults')).status, 200);
});

const TERMINAL = ['batch.completed', 'batch.failed', 'batch.cancelled', 'batch.expired'];
const ALL = ['batch.in_progress', 'batch.finalizing', ...TERMINAL];

async function withReceiver(respond, fn) {
  const rx = await startReceiver(respond);
  try {
    return await fn(rx);
  } finally {
    await rx.close();
  }
}

async function log(batchId) {
  return (await emu.admin('GET', `/_admin/deliveries?batch_id=${batchId}`)).body.data;
}

test('drop_rate=1 drops every delivery: nothing arrives, the log says dropped', async () => {
  await withReceiver(undefined, async (rx) => {
    const b = await createBatch(emu, {
      metadata: { 'emulator.drop_rate': '1' },
      webhook: { url: rx.url, events: ALL, secret: newSecret() },
    });
    const done = await waitForBatch(emu, b.id);
    assert.equal(done.status, 'completed', 'the batch itself is unaffected');
    await eventually(async () => (await log(b.id)).length === 3, 5_000, 'three dropped deliveries');
    assert.ok((await log(b.id)).every((e) => e.outcome === 'dropped'));
    assert.equal(rx.received.length, 0);
    assert.equal(done.webhook.delivery.total_attempts, 0);
  });
});

test('global drop_rate=1 drops every delivery of many batches while the API keeps answering', async () => {
  await emu.admin('POST', '/_admin/faults', { drop_rate: 1 });
  // Every request below must answer on its own within 2 s: a lock held across a drop would
  // hang them instead of slowing them down.
  const timed = async (p) => {
    const res = await fetch(`${emu.url}${p}`, {
      headers: { authorization: `Bearer ${p.startsWith('/_admin') ? emu.adminKey : emu.apiKey}` },
      signal: AbortSignal.timeout(2_000),
    });
    assert.equal(res.status, 200, `${p}: ${res.status}`);
    return res.json();
  };
  await withReceiver(undefined, async (rx) => {
    const batches = await Promise.all(
      Array.from({ length: 6 }, () => createBatch(emu, {
        rows: 20,
        metadata: { 'emulator.run_s': '3000' },
        webhook: { url: rx.url, events: [...ALL, 'batch.progress'], secret: newSecret() },
      })),
    );
    const live = new Set(batches.map((b) => b.id));
    while (live.size > 0) {
      const reads = [...live].map((id) => timed(`/v1/batches/${id}`));
      reads.push(timed('/_admin/deliveries'), timed('/v1/batches?limit=10'), timed('/_admin/faults'));
      for (const b of (await Promise.all(reads)).filter((r) => r.object === 'batch')) {
        if (TERMINAL.includes(`batch.${b.status}`)) live.delete(b.id);
      }
    }
    for (const b of batches) {
      const entries = await log(b.id);
      assert.ok(entries.some((e) => e.event_type === 'batch.progress'), `${b.id}: no progress event`);
      assert.ok(entries.some((e) => e.event_type === 'batch.completed'), `${b.id}: no completed event`);
      assert.ok(entries.every((e) => e.outcome === 'dropped' && e.attempt === 0), JSON.stringify(entries));
    }
    assert.equal(rx.received.length, 0, 'nothing reached the receiver');
  });
});

test('duplicate=5 sends every delivery five times with the same id, body and signature', async () => {
  const secret = newSecret();
  await withReceiver(undefined, async (rx) => {
    const b = await createBatch(emu, {
      metadata: { 'emulator.duplicate': '5' },
      webhook: { url: rx.url, events: ALL, secret },
    });
    await waitForBatch(emu, b.id);
    await eventually(() => rx.received.length === 15, 5_000, '3 events × 5 copies');
    const byId = new Map();
    for (const r of rx.received) byId.set(r.headers['webhook-id'], [...(byId.get(r.headers['webhook-id']) ?? []), r]);
    assert.equal(byId.size, 3);
    const wh = new Webhook(secret);
    for (const copies of byId.values()) {
      assert.equal(copies.length, 5);
      assert.equal(new Set(copies.map((c) => c.body)).size, 1);
      assert.equal(new Set(copies.map((c) => c.headers['webhook-signature'])).size, 1);
      for (const c of copies) wh.verify(c.body, c.headers);
    }
  });
});

test('reorder holds the deliveries and sends them newest first (terminal before in_progress)', async () => {
  await withReceiver(undefined, async (rx) => {
    const b = await createBatch(emu, {
      metadata: { 'emulator.reorder': 'true' },
      webhook: { url: rx.url, events: ALL, secret: newSecret() },
    });
    await waitForBatch(emu, b.id);
    await eventually(() => rx.received.length === 3, 5_000, 'three deliveries');
    assert.deepEqual(rx.received.map((r) => r.json.type), ['batch.completed', 'batch.finalizing', 'batch.in_progress']);
  });
});

test('delay_ms holds each request back at least that long', async () => {
  await withReceiver(undefined, async (rx) => {
    const b = await createBatch(emu, {
      metadata: { 'emulator.delay_ms': '300', 'emulator.run_s': '1' },
      webhook: { url: rx.url, events: ['batch.completed'], secret: newSecret() },
    });
    const done = await waitForBatch(emu, b.id);
    const seenAt = Date.now();
    await eventually(() => rx.received.length === 1, 5_000, 'the delayed delivery');
    // The completion was visible before the delivery left: it arrives ≥ ~300 ms later.
    assert.ok(rx.received[0].at - seenAt >= 200, `arrived ${rx.received[0].at - seenAt} ms after completion was visible`);
    assert.equal(done.status, 'completed');
  });
});

test('wrong_secret_rate=1 signs with another secret: standardwebhooks rejects every delivery', async () => {
  const secret = newSecret();
  const wh = new Webhook(secret);
  await withReceiver((r) => {
    try {
      wh.verify(r.body, r.headers);
      return 200;
    } catch {
      return 401;
    }
  }, async (rx) => {
    const b = await createBatch(emu, {
      metadata: { 'emulator.wrong_secret_rate': '1', 'emulator.max_attempts': '3', 'emulator.retry_base_s': '1' },
      webhook: { url: rx.url, events: ['batch.completed'], secret },
    });
    await waitForBatch(emu, b.id);
    const final = await waitForBatch(emu, b.id, (x) => x.webhook.delivery.total_attempts === 3 && x.webhook.delivery.pending_retries === 0);
    assert.equal(rx.received.length, 3);
    assert.ok(final.webhook.attempts.every((a) => a.response_status === 401 && a.delivered_at === null));
    assert.equal(final.webhook.delivery.delivered_events, 0);
    assert.match(final.webhook.delivery.last_error_message, /401/);
    assert.ok((await log(b.id)).every((e) => e.signature === 'wrong_secret'));
  });
});

test('a failing receiver gets retries with backoff and the same webhook-id until it answers 2xx', async () => {
  const secret = newSecret();
  await withReceiver((_r, n) => (n <= 2 ? 500 : 200), async (rx) => {
    const b = await createBatch(emu, {
      metadata: { 'emulator.retry_base_s': '2' },
      webhook: { url: rx.url, events: ['batch.completed'], secret },
    });
    await waitForBatch(emu, b.id);
    const final = await waitForBatch(emu, b.id, (x) => x.webhook.delivery.delivered_events === 1);
    assert.equal(rx.received.length, 3);
    assert.equal(new Set(rx.received.map((r) => r.headers['webhook-id'])).size, 1, 'one id across retries');
    assert.equal(new Set(rx.received.map((r) => r.body)).size, 1, 'one body across retries');
    const wh = new Webhook(secret);
    for (const r of rx.received) wh.verify(r.body, r.headers);
    const attempts = final.webhook.attempts;
    assert.deepEqual(attempts.map((a) => a.attempt_number), [1, 2, 3]);
    assert.deepEqual(attempts.map((a) => a.response_status), [500, 500, 200]);
    assert.ok(attempts[0].next_retry_at && attempts[1].next_retry_at && !attempts[2].next_retry_at);
    const gap = (a) => Date.parse(a.next_retry_at) - Date.parse(a.tried_at);
    assert.ok(gap(attempts[1]) > gap(attempts[0]), 'backoff grows');
    assert.equal(final.webhook.delivery.total_attempts, 3);
    assert.equal(final.webhook.delivery.pending_retries, 0);
    assert.equal(final.webhook.delivery.last_response_status, 200);
  });
});

test('a receiver slower than webhook_timeout_ms counts as a timeout and is retried', async () => {
  await withReceiver((_r, n) => (n === 1 ? { status: 200, delayMs: 1_500 } : 200), async (rx) => {
    const b = await createBatch(emu, {
      metadata: { 'emulator.webhook_timeout_ms': '200', 'emulator.retry_base_s': '1' },
      webhook: { url: rx.url, events: ['batch.completed'], secret: newSecret() },
    });
    const final = await waitForBatch(emu, b.id, (x) => x.webhook?.delivery.delivered_events === 1);
    const [first, second] = final.webhook.attempts;
    assert.equal(first.response_status, null);
    assert.match(first.error_message, /timed out/);
    assert.equal(second.response_status, 200);
    assert.equal(rx.received[0].headers['webhook-id'], rx.received[1].headers['webhook-id']);
  });
});

test('api_429_rate=1 answers 429 with Retry-After; api_5xx_rate=1 answers 503 (per batch only)', async () => {
  const limited = await createBatch(emu, { metadata: { 'emulator.api_429_rate': '1', 'emulator.retry_after_s': '7' } });
  const res = await emu.api('GET', `/v1/batches/${limited.id}`);
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '7');
  assert.equal(res.body.error.code, 'rate_limited');
  const broken = await createBatch(emu, { metadata: { 'emulator.api_5xx_rate': '1' } });
  const res5 = await emu.api('GET', `/v1/batches/${broken.id}`);
  assert.equal(res5.status, 503);
  assert.equal(res5.body.error.code, 'service_unavailable');
  const other = await createBatch(emu, {});
  assert.equal((await emu.api('GET', `/v1/batches/${other.id}`)).status, 200, 'other batches are unaffected');
  const seen = (await emu.admin('GET', `/_admin/requests?batch_id=${limited.id}`)).body.data;
  assert.deepEqual(seen.map((r) => [r.method, r.status, r.fault]), [['GET', 429, 'rate_limited']]);
  assert.ok(Math.abs(seen[0].at_ms - Date.now()) < 60_000);
});

test('global api faults hit every /v1 call at the given rate, reproducibly from the seed', async () => {
  const pattern = async (e) => {
    await e.admin('POST', '/_admin/faults', { api_5xx_rate: 0.5 });
    const out = [];
    for (let i = 0; i < 40; i++) out.push((await e.api('GET', '/v1/batches?limit=1')).status);
    await e.admin('DELETE', '/_admin/faults');
    return out;
  };
  const first = await pattern(emu);
  assert.ok(first.includes(503) && first.includes(200), first.join(','));
  const [a, b, c] = await Promise.all([5, 5, 6].map((seed) => startEmulator({ speed: 1000, seed })));
  try {
    const [pa, pb, pc] = [await pattern(a), await pattern(b), await pattern(c)];
    assert.deepEqual(pa, pb, 'same seed, same faults');
    assert.notDeepEqual(pa, pc, 'another seed, other faults');
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});

test('drop_rate=0.5 drops the same deliveries on a replay with the same seed', async () => {
  const run = async (e) => withReceiver(undefined, async (rx) => {
    const b = await createBatch(e, {
      rows: 100,
      metadata: { 'emulator.drop_rate': '0.5', 'emulator.run_s': '20' },
      webhook: { url: rx.url, events: ['batch.in_progress', 'batch.progress', 'batch.finalizing', 'batch.completed'] },
    });
    await waitForBatch(e, b.id);
    const entries = await eventually(async () => {
      const d = (await e.admin('GET', `/_admin/deliveries?batch_id=${b.id}`)).body.data;
      return d.length === 12 && d;
    }, 5_000, '12 logged deliveries');
    return entries.map((x) => `${x.delivery_key}:${x.outcome}`).sort();
  });
  const a = await startEmulator({ speed: 1000, seed: 99 });
  const b = await startEmulator({ speed: 1000, seed: 99 });
  try {
    const ra = await run(a);
    const rb = await run(b);
    assert.deepEqual(ra, rb);
    assert.ok(ra.some((x) => x.endsWith('dropped')) && ra.some((x) => x.endsWith('sent')), ra.join(' '));
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('fail=validating and fail=in_progress fail the batch upstream with errors', async () => {
  await withReceiver(undefined, async (rx) => {
    const early = await createBatch(emu, { rows: 10, metadata: { 'emulator.fail': 'validating' }, webhook: { url: rx.url } });
    const late = await createBatch(emu, { rows: 10, metadata: { 'emulator.fail': 'in_progress' }, webhook: { url: rx.url } });
    const e = await waitForBatch(emu, early.id);
    const l = await waitForBatch(emu, late.id);
    for (const b of [e, l]) {
      assert.equal(b.status, 'failed');
      assert.equal(b.lifecycle_status, 'failed');
      assert.ok(b.failed_at);
      assert.equal(b.errors.data[0].code, 'upstream_error');
      assert.equal(b.cancel_url, null);
    }
    assert.equal(e.in_progress_at, null);
    assert.equal(e.request_counts.completed, 0);
    assert.ok(l.in_progress_at);
    assert.equal(l.request_counts.completed, 5, 'fails halfway');
    await eventually(() => rx.received.filter((r) => r.json.type === 'batch.failed').length === 2, 5_000, 'two batch.failed');
  });
});

test('expire stalls the batch halfway and expires it, reporting unrun rows', async () => {
  await withReceiver(undefined, async (rx) => {
    const b = await createBatch(emu, { rows: 10, metadata: { 'emulator.expire': '30' }, webhook: { url: rx.url } });
    assert.equal(b.expires_at - b.created_at, 30);
    const done = await waitForBatch(emu, b.id);
    assert.equal(done.status, 'expired');
    assert.equal(done.expired_at, done.expires_at);
    assert.equal(done.request_counts.completed, 5);
    const errs = (await emu.api('GET', `/v1/files/${done.error_file_id}/content`)).text.trim().split('\n');
    assert.equal(errs.length, 5);
    assert.ok(errs.every((l) => JSON.parse(l).error.code === 'batch_expired'));
    await eventually(() => rx.received.some((r) => r.json.type === 'batch.expired'), 5_000, 'batch.expired');
  });
});

test('expire=true expires at the completion window; /_admin/advance jumps the clock there', async () => {
  const slow = await startEmulator({ speed: 1, seed: 3 });
  try {
    const b = await createBatch(slow, { rows: 4, completionWindow: '1h', metadata: { 'emulator.expire': 'true' } });
    assert.equal(b.expires_at - b.created_at, 3600);
    assert.equal((await slow.api('GET', `/v1/batches/${b.id}`)).body.status, 'validating');
    const adv = await slow.admin('POST', '/_admin/advance', { seconds: 3601 });
    assert.equal(adv.status, 200);
    const done = await waitForBatch(slow, b.id, undefined, 5_000);
    assert.equal(done.status, 'expired');
    assert.equal((await slow.admin('POST', '/_admin/advance', { seconds: -1 })).status, 400);
  } finally {
    await slow.stop();
  }
});

test('global faults are set, shown and reset through /_admin/faults with the admin key', async () => {
  const set = await emu.admin('POST', '/_admin/faults', { duplicate: 2, reorder: true, fail: 'in_progress' });
  assert.equal(set.status, 200);
  assert.deepEqual(set.body.faults, { duplicate: 2, reorder: true, fail: 'in_progress' });
  assert.ok(set.body.knobs.includes('wrong_secret_rate'));
  assert.deepEqual((await emu.admin('GET', '/_admin/faults')).body.faults, set.body.faults);
  const b = await createBatch(emu, { rows: 4 });
  assert.equal((await waitForBatch(emu, b.id)).status, 'failed', 'a global fail applies to new batches');
  const typo = await emu.admin('POST', '/_admin/faults', { dupliate: 2 });
  assert.equal(typo.status, 400);
  assert.match(typo.body.error.message, /duplicate/);
  assert.deepEqual((await emu.admin('DELETE', '/_admin/faults')).body.faults, {});
  const noKey = await fetch(`${emu.url}/_admin/faults`);
  assert.equal(noKey.status, 401);
});

test('a batch knob wins over the global one', async () => {
  await emu.admin('POST', '/_admin/faults', { drop_rate: 1 });
  await withReceiver(undefined, async (rx) => {
    const b = await createBatch(emu, {
      metadata: { 'emulator.drop_rate': '0' },
      webhook: { url: rx.url, events: ['batch.completed'] },
    });
    await waitForBatch(emu, b.id);
    await eventually(() => rx.received.length === 1, 5_000, 'the one delivery');
    assert.equal(rx.received[0].headers['webhook-signature'], undefined, 'no secret, no signature');
  });
});

test('thin_events sends OpenAI-style events that only name the batch', async () => {
  const secret = newSecret();
  await withReceiver(undefined, async (rx) => {
    const b = await createBatch(emu, {
      metadata: { 'emulator.thin_events': 'true' },
      webhook: { url: rx.url, events: ['batch.completed'], secret },
    });
    await waitForBatch(emu, b.id);
    await eventually(() => rx.received.length === 1, 5_000, 'the thin delivery');
    const event = new Webhook(secret).verify(rx.received[0].body, rx.received[0].headers);
    assert.equal(event.type, 'batch.completed');
    assert.deepEqual(event.data, { id: b.id });
    assert.equal(event.lifecycle_status, undefined);
  });
});

test('scheme=stripe and scheme=github sign the way those libraries verify', async () => {
  const { default: Stripe } = await import('stripe');
  const { createHmac, timingSafeEqual } = await import('node:crypto');
  const secret = newSecret();
  await withReceiver(undefined, async (rx) => {
    const s = await createBatch(emu, {
      metadata: { 'emulator.scheme': 'stripe' },
      webhook: { url: rx.url, events: ['batch.completed'], secret },
    });
    const g = await createBatch(emu, {
      metadata: { 'emulator.scheme': 'github' },
      webhook: { url: rx.url, events: ['batch.completed'], secret },
    });
    await waitForBatch(emu, s.id);
    await waitForBatch(emu, g.id);
    await eventually(() => rx.received.length === 2, 5_000, 'two deliveries');
    const of = (id) => rx.received.find((r) => r.json.job_id === id);
    const viaStripe = of(s.id);
    const event = new Stripe('sk_test_emulator').webhooks.constructEvent(viaStripe.body, viaStripe.headers['stripe-signature'], secret);
    assert.equal(event.job_id, s.id);
    assert.ok(viaStripe.headers['webhook-id'], 'the id header is always sent');
    const viaGithub = of(g.id);
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(viaGithub.body).digest('hex')}`);
    const got = Buffer.from(viaGithub.headers['x-hub-signature-256']);
    assert.ok(got.length === expected.length && timingSafeEqual(got, expected));
    assert.equal(viaGithub.headers['x-github-delivery'], viaGithub.headers['webhook-id']);
  });
});
