// The `batchhook` entry under the `workerd` export condition, in real workerd (miniflare): the
// client and the re-exported Webhook work in a Worker, where wasm cannot be compiled from bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const main = `
import { BatchClient, validateJsonl, Webhook } from './${pkg.exports['.'].workerd.replace('./', '')}';
export default {
  async fetch() {
    const client = new BatchClient({ baseUrl: 'https://gateway.test', token: 't', fetch: async (req) => Response.json({ id: 'batch_w', status: 'in_progress', seen: req.url }) });
    const batch = await client.getBatch('batch_w');
    const report = validateJsonl('{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}');
    const hook = new Webhook('whsec_' + btoa('0123456789abcdef0123456789abcdef'));
    const now = new Date();
    const signature = hook.sign('msg_1', now, '{"ok":1}');
    const verified = hook.verify('{"ok":1}', { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(now / 1000)), 'webhook-signature': signature });
    return Response.json({ batch, valid: report.valid, verified });
  },
};`;

function packageModules() {
  const modules = [{ type: 'ESModule', path: join(root, 'main.mjs'), contents: main }];
  for (const dir of ['dist/client', 'dist/webhook']) {
    for (const file of readdirSync(join(root, dir))) {
      const path = join(root, dir, file);
      if (file.endsWith('.js')) modules.push({ type: 'ESModule', path });
      else if (file.endsWith('.wasm')) modules.push({ type: 'CompiledWasm', path });
    }
  }
  return modules;
}

test('the workerd condition loads the client and the verifier inside a Worker', async () => {
  const mf = new Miniflare({ modules: packageModules(), modulesRoot: root, compatibilityDate: '2026-07-01', cf: false });
  try {
    const res = await mf.dispatchFetch('http://localhost/');
    const body = await res.json();
    assert.deepEqual(body, {
      batch: { id: 'batch_w', status: 'in_progress', seen: 'https://gateway.test/v1/batches/batch_w' },
      valid: true,
      verified: { ok: 1 },
    });
  } finally {
    await mf.dispose();
  }
});
