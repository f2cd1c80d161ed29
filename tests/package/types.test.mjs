// The handwritten declarations (index.d.ts) against what the built entries really export and
// return: every runtime export is declared, and the fields of real return values are exactly
// the fields their declared interfaces name. There is no TypeScript compiler here, so the
// declarations are read as text: `export … Name` for exports, `field?:` lines for interfaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as client from '../../dist/client/index.js';
import * as webhook from '../../dist/webhook/index.js';

const clientTypes = readFileSync(new URL('../../dist/client/index.d.ts', import.meta.url), 'utf8');
const webhookTypes = readFileSync(new URL('../../dist/webhook/index.d.ts', import.meta.url), 'utf8');

function declaredExports(text) {
  return new Set([...text.matchAll(/^export (?:declare )?(?:class|function|const|interface|type) (\w+)/gm)].map((m) => m[1]));
}

/** The field names an `export interface Name { … }` declares (top level of its body only). */
function fields(text, name) {
  const start = text.search(new RegExp(`^export interface ${name}\\b[^{]*\\{`, 'm'));
  assert.ok(start >= 0, `interface ${name} is declared`);
  const body = text.slice(text.indexOf('{', start) + 1, text.indexOf('\n}', start));
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]).sort();
}

test('every runtime export of both entries is declared', () => {
  const webhookDeclared = declaredExports(webhookTypes);
  for (const name of Object.keys(webhook)) assert.ok(webhookDeclared.has(name), `batchhook/webhook exports ${name} but index.d.ts does not declare it`);
  const clientDeclared = new Set([...declaredExports(clientTypes), ...webhookDeclared]);
  for (const name of Object.keys(client)) assert.ok(clientDeclared.has(name), `batchhook exports ${name} but index.d.ts does not declare it`);
});

test('validateJsonl reports and row errors have exactly the declared fields', () => {
  const report = client.validateJsonl('{"custom_id":"a"}\n', { endpoint: '/v1/embeddings' });
  assert.deepEqual(Object.keys(report).sort(), fields(clientTypes, 'ValidationReport'));
  assert.ok(report.errors.length > 0);
  assert.deepEqual(Object.keys(report.errors[0]).sort(), fields(clientTypes, 'RowError'));
  assert.match(report.errors[0].error, /\/v1\/embeddings|method|body/);
});

test('uploadFile refuses invalid rows with row errors of the declared shape', async () => {
  const bc = new client.BatchClient({ baseUrl: 'http://127.0.0.1:9', token: 't', fetch: () => assert.fail('nothing is sent') });
  await assert.rejects(bc.uploadFile('{"custom_id":"a"}\n', { endpoint: '/v1/embeddings', filename: 'x.jsonl' }), (e) => {
    assert.equal(e.code, 'invalid_jsonl');
    assert.deepEqual(Object.keys(e.rows[0]).sort(), fields(clientTypes, 'RowError'));
    return true;
  });
});

test('jobView returns exactly the declared JobView fields', () => {
  const view = client.jobView({ id: 'b', status: 'completed', request_counts: { total: 2, completed: 1, failed: 1 } });
  assert.deepEqual(Object.keys(view).sort(), fields(clientTypes, 'JobView'));
  assert.equal(client.DEFAULT_ENDPOINT, '/v1/chat/completions');
});

test('verifyDelivery returns exactly the declared VerifiedDelivery fields', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const hook = new webhook.Webhook(secret);
  const now = new Date(1_700_000_000_000);
  const signature = hook.sign('msg_1', now.getTime(), '{"a":1}');
  const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': '1700000000', 'webhook-signature': signature };
  const delivery = hook.verifyDelivery('{"a":1}', headers, { now });
  assert.deepEqual(Object.keys(delivery).sort(), fields(webhookTypes, 'VerifiedDelivery'));
  assert.deepEqual(delivery, { payload: { a: 1 }, id: 'msg_1', timestamp: 1700000000 });
});
