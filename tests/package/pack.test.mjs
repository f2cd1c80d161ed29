// `npm pack` produces a package that installs into an empty folder and imports in Node: both
// entries, through the package's `exports` map, with no dependency and no network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const probe = `
import { BatchClient, BatchhookError, validateJsonl, Webhook as FromFull } from 'batchhook';
import { Webhook } from 'batchhook/webhook';
const client = new BatchClient({ baseUrl: 'http://127.0.0.1:1', token: 't', fetch: async () => Response.json({ id: 'batch_1', status: 'completed' }) });
const batch = await client.getBatch('batch_1');
const report = validateJsonl('{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}');
const secret = 'whsec_' + Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
const hook = new Webhook(secret);
const now = new Date();
const sig = hook.sign('msg_1', now, '{"ok":true}');
const verified = new FromFull(secret).verify('{"ok":true}', { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(now / 1000)), 'webhook-signature': sig });
console.log(JSON.stringify({ status: batch.status, valid: report.valid, verified, same: FromFull === Webhook, error: new BatchhookError('x') instanceof Error }));
`;

test('the packed tarball installs in an empty folder and both entries import in Node', () => {
  const work = mkdtempSync(join(tmpdir(), 'batchhook-pack-'));
  try {
    const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' }).trim();
    const tarball = join(work, out.split('\n').at(-1));
    const app = join(work, 'app');
    execFileSync('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--silent', '--no-audit', '--no-fund', '--offline', '--ignore-scripts', tarball], { cwd: app });
    writeFileSync(join(app, 'probe.mjs'), probe);
    const result = JSON.parse(execFileSync(process.execPath, ['probe.mjs'], { cwd: app, encoding: 'utf8' }).trim());
    assert.deepEqual(result, { status: 'completed', valid: true, verified: { ok: true }, same: true, error: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
