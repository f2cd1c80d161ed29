// The Webhook verifier as the full `batchhook` entry exposes it (re-exported from
// `batchhook/webhook`), cross-checked with npm `standardwebhooks` in both directions. The core's
// own vectors and the scheme details are tested with the signature module; this checks that the
// package entry a user imports is wired to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook as StdWebhook } from 'standardwebhooks';
import * as full from '../../dist/client/index.js';
import * as small from '../../dist/webhook/index.js';

const secret = `whsec_${Buffer.from('a test secret of thirty-two bytes!').toString('base64')}`;
const payload = JSON.stringify({ type: 'batch.completed', data: { id: 'batch_1', note: 'naïve 🚀 ✓' } });

test('the full entry re-exports the webhook entry itself', () => {
  assert.equal(full.Webhook, small.Webhook);
  assert.equal(typeof full.BatchClient, 'function');
});

test('a standardwebhooks signature verifies with batchhook and returns the parsed payload', () => {
  const id = 'msg_2Lb5Ie1';
  const now = new Date();
  const signature = new StdWebhook(secret).sign(id, now, payload);
  const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now / 1000)), 'webhook-signature': signature };
  assert.deepEqual(new full.Webhook(secret).verify(payload, headers), JSON.parse(payload));
  assert.deepEqual(new full.Webhook(secret).verify(new TextEncoder().encode(payload), new Headers(headers)), JSON.parse(payload));
});

test('a batchhook signature verifies with standardwebhooks, byte for byte the same header', () => {
  const id = 'msg_x';
  const now = new Date();
  const ours = new full.Webhook(secret).sign(id, now, payload);
  assert.equal(ours, new StdWebhook(secret).sign(id, now, payload));
  const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now / 1000)), 'webhook-signature': ours };
  assert.deepEqual(new StdWebhook(secret).verify(payload, headers), JSON.parse(payload));
});

test('a tampered body is refused by the package entry', () => {
  const id = 'msg_y';
  const now = new Date();
  const signature = new StdWebhook(secret).sign(id, now, payload);
  const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now / 1000)), 'webhook-signature': signature };
  assert.throws(() => new full.Webhook(secret).verify(payload.replace('🚀', '🛸'), headers), (e) => e instanceof Error && typeof e.code === 'string');
});
