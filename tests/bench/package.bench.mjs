// The npm package's weight and start-up cost: gzip sizes of each entry (wasm + JS, everything a
// browser downloads for it) and the time to instantiate each entry's wasm in Node.
//
// Targets (issue 8): batchhook/webhook ≤ 8 KB gzip wasm and ≤ 15 KB total; batchhook (client,
// which also loads the webhook entry it re-exports) ≤ 150 KB gzip total; instantiation ≤ 5 ms.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KB = 1024;

/** Files a browser downloads for one entry directory (types and the Workers variant excluded). */
function entryFiles(dir) {
  return readdirSync(dir)
    .filter((f) => (f.endsWith('.js') && f !== 'workerd.js') || f.endsWith('.wasm'))
    .map((f) => join(dir, f));
}

function sizes(files) {
  let raw = 0;
  let gzip = 0;
  let wasmGzip = 0;
  for (const file of files) {
    const bytes = readFileSync(file);
    const gz = gzipSync(bytes, { level: 9 }).length;
    raw += bytes.length;
    gzip += gz;
    if (file.endsWith('.wasm')) wasmGzip += gz;
  }
  return { raw, gzip, wasmGzip };
}

/**
 * Median over fresh processes of one compile + instantiate of the entry's wasm with its glue,
 * from bytes in memory. A fresh process each time: V8 caches compiled modules by their bytes,
 * so repeating it in one process would time the cache.
 */
async function instantiation(dir, glueName, wasmName, init, runs = 7) {
  const { execFileSync } = await import('node:child_process');
  const script = `
    const glue = await import(${JSON.stringify(pathToFileURL(join(dir, glueName)).href)});
    const bytes = (await import('node:fs')).readFileSync(${JSON.stringify(join(dir, wasmName))});
    const t0 = performance.now();
    const module = await WebAssembly.compile(bytes);
    const t1 = performance.now();
    ${init};
    const t2 = performance.now();
    console.log(JSON.stringify([t2 - t0, t2 - t1]));`;
  const total = [];
  const instantiate = [];
  for (let i = 0; i < runs; i++) {
    const [all, inst] = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
    total.push(all);
    instantiate.push(inst);
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { median: median(total), instantiate: median(instantiate) };
}

/** Time for a fresh `import` of the entry (module graph + wasm instantiation), in a child. */
async function importTime(entry) {
  const { execFileSync } = await import('node:child_process');
  const script = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(entry).href)});console.log(performance.now()-t)`;
  const runs = [];
  for (let i = 0; i < 5; i++) {
    runs.push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim()));
  }
  runs.sort((a, b) => a - b);
  return runs[2];
}

export default async function run() {
  const webhookDir = join(root, 'dist', 'webhook');
  const clientDir = join(root, 'dist', 'client');
  const rows = [];
  const fmt = (n) => `${(n / KB).toFixed(1)} KB`;
  if (existsSync(join(webhookDir, 'webhook.wasm'))) {
    const s = sizes(entryFiles(webhookDir));
    const inst = await instantiation(webhookDir, 'abi.js', 'webhook.wasm', 'glue.instantiate(module)');
    const imp = await importTime(join(webhookDir, 'index.js'));
    rows.push({
      entry: 'batchhook/webhook',
      'wasm gzip': `${fmt(s.wasmGzip)} (≤ 8 KB)`,
      'total gzip': `${fmt(s.gzip)} (≤ 15 KB)`,
      raw: fmt(s.raw),
      'compile+instantiate': `${inst.median.toFixed(2)} ms`,
      'instantiate (≤ 5 ms)': `${inst.instantiate.toFixed(2)} ms`,
      'import (median)': `${imp.toFixed(1)} ms`,
    });
  } else {
    rows.push({ entry: 'batchhook/webhook', 'wasm gzip': 'not built (node scripts/build.mjs webhook)' });
  }
  if (existsSync(join(clientDir, 'client_wasm_bg.wasm'))) {
    const own = sizes(entryFiles(clientDir));
    const withWebhook = existsSync(join(webhookDir, 'webhook.wasm'))
      ? sizes([...entryFiles(clientDir), ...entryFiles(webhookDir)])
      : own;
    const inst = await instantiation(clientDir, 'client_wasm.js', 'client_wasm_bg.wasm', 'glue.initSync({ module })');
    const imp = await importTime(join(clientDir, 'index.js'));
    rows.push({
      entry: 'batchhook (client + re-exported webhook)',
      'wasm gzip': fmt(withWebhook.wasmGzip),
      'total gzip': `${fmt(withWebhook.gzip)} (≤ 150 KB)`,
      raw: fmt(withWebhook.raw),
      'compile+instantiate': `${inst.median.toFixed(2)} ms`,
      'instantiate (≤ 5 ms)': `${inst.instantiate.toFixed(2)} ms`,
      'import (median)': `${imp.toFixed(1)} ms`,
    });
    rows.push({
      entry: '  of which dist/client alone',
      'wasm gzip': fmt(own.wasmGzip),
      'total gzip': fmt(own.gzip),
      raw: fmt(own.raw),
    });
  } else {
    rows.push({ entry: 'batchhook', 'wasm gzip': 'not built (node scripts/build.mjs client)' });
  }
  console.log('npm package: gzip sizes (level 9); wasm compile+instantiate and instantiate alone (a precompiled module, as Workers load it), medians over fresh Node processes; full import time');
  console.table(rows);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await run();
