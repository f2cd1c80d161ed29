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

/** Files a consumer downloads for one entry directory (type declarations excluded). */
function entryFiles(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.js') || f.endsWith('.wasm'))
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

/** Median time to compile + instantiate the entry's wasm with its glue, from bytes in memory. */
async function instantiation(dir, glueName, wasmName, runs = 15) {
  const glue = await import(pathToFileURL(join(dir, glueName)).href);
  const bytes = readFileSync(join(dir, wasmName));
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const module = await WebAssembly.compile(bytes);
    glue.initSync({ module });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0] };
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
  if (existsSync(join(webhookDir, 'webhook_wasm_bg.wasm'))) {
    const s = sizes(entryFiles(webhookDir));
    const inst = await instantiation(webhookDir, 'webhook_wasm.js', 'webhook_wasm_bg.wasm');
    const imp = await importTime(join(webhookDir, 'index.js'));
    rows.push({
      entry: 'batchhook/webhook',
      'wasm gzip': `${fmt(s.wasmGzip)} (≤ 8 KB)`,
      'total gzip': `${fmt(s.gzip)} (≤ 15 KB)`,
      raw: fmt(s.raw),
      'instantiate (median)': `${inst.median.toFixed(2)} ms (≤ 5 ms)`,
      'import (median)': `${imp.toFixed(1)} ms`,
    });
  } else {
    rows.push({ entry: 'batchhook/webhook', 'wasm gzip': 'not built (node scripts/build.mjs webhook)' });
  }
  if (existsSync(join(clientDir, 'client_wasm_bg.wasm'))) {
    const own = sizes(entryFiles(clientDir));
    const withWebhook = existsSync(join(webhookDir, 'webhook_wasm_bg.wasm'))
      ? sizes([...entryFiles(clientDir), ...entryFiles(webhookDir)])
      : own;
    const inst = await instantiation(clientDir, 'client_wasm.js', 'client_wasm_bg.wasm');
    const imp = await importTime(join(clientDir, 'index.js'));
    rows.push({
      entry: 'batchhook (client + re-exported webhook)',
      'wasm gzip': fmt(withWebhook.wasmGzip),
      'total gzip': `${fmt(withWebhook.gzip)} (≤ 150 KB)`,
      raw: fmt(withWebhook.raw),
      'instantiate (median)': `${inst.median.toFixed(2)} ms (≤ 5 ms)`,
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
  console.log('npm package: gzip sizes (level 9) and wasm instantiation in Node');
  console.table(rows);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await run();
