// Starts the gateway emulator (tests/gateway-emulator) for Node tests, plus small helpers to
// drive it over real HTTP: upload JSONL, create batches, wait for states, set faults, and a
// local webhook receiver. Everything listens on 127.0.0.1 only.
//
//   const emu = await startEmulator({ speed: 1000, seed: 7 });
//   … emu.url, emu.apiKey, emu.adminKey …
//   await emu.stop();
//
// The binary is built once per process (`cargo build -p gateway-emulator`); set
// GATEWAY_EMULATOR_BIN to use a prebuilt one.
import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { promisify } from 'node:util';
import { readResponse } from './http.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let built;

/** Builds the emulator once (cargo's own lock serialises parallel test files). */
export function buildEmulator() {
  if (process.env.GATEWAY_EMULATOR_BIN) return Promise.resolve(process.env.GATEWAY_EMULATOR_BIN);
  built ??= (async () => {
    await promisify(execFile)('cargo', ['build', '--quiet', '-p', 'gateway-emulator'], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    });
    const target = process.env.CARGO_TARGET_DIR
      ? path.resolve(root, process.env.CARGO_TARGET_DIR)
      : path.join(root, 'target');
    return path.join(target, 'debug', 'gateway-emulator');
  })();
  return built;
}

/**
 * Spawns an emulator on a free port and resolves once it prints its URL.
 * @returns {Promise<{url, apiKey, adminKey, speed, seed, process, stop, api, admin}>}
 */
export async function startEmulator({
  speed = 1000,
  seed = 1,
  apiKey = 'test-api-key',
  adminKey = 'test-admin-key',
  startTimeoutMs = 120_000,
} = {}) {
  const bin = await buildEmulator();
  const child = spawn(
    bin,
    ['--port', '0', '--api-key', apiKey, '--admin-key', adminKey, '--speed', String(speed), '--seed', String(seed)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`emulator did not start in ${startTimeoutMs} ms: ${stderr}`)), startTimeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited with ${code}: ${stderr}`));
    });
  });
  child.stdout.resume();
  const emu = {
    url,
    apiKey,
    adminKey,
    speed,
    seed,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
    /** `fetch` on the /v1 API with the API key; resolves to {status, headers, body}. */
    api: (method, p, body, headers) => call(url, apiKey, method, p, body, headers),
    /** `fetch` on the admin API with the admin key. */
    admin: (method, p, body) => call(url, adminKey, method, p, body),
  };
  return emu;
}

async function call(base, key, method, p, body, headers = {}) {
  const init = { method, headers: { authorization: `Bearer ${key}`, ...headers } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + p, init);
  return readResponse(res);
}

/** JSONL text of `n` chat-completion rows; rows whose index is in `failRows` carry FAIL_ROW. */
export function jsonlRows(n, { failRows = [], prefix = 'row', endpoint = '/v1/chat/completions' } = {}) {
  const fail = new Set(failRows);
  const lines = [];
  for (let i = 0; i < n; i++) {
    const content = fail.has(i) ? `please FAIL_ROW ${i}` : `question ${i}`;
    lines.push(
      JSON.stringify({
        custom_id: `${prefix}-${i}`,
        method: 'POST',
        url: endpoint,
        body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] },
      }),
    );
  }
  return lines.join('\n') + '\n';
}

/** Uploads JSONL text as `purpose=batch`; resolves to the API response. */
export function uploadJsonl(emu, text, filename = 'input.jsonl') {
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([text], { type: 'application/jsonl' }), filename);
  return emu.api('POST', '/v1/files', form);
}

/** Uploads rows and creates a batch; resolves to the created batch object (throws otherwise). */
export async function createBatch(emu, { rows = 4, failRows = [], text, metadata = {}, webhook, completionWindow = '24h' } = {}) {
  const file = await uploadJsonl(emu, text ?? jsonlRows(rows, { failRows }));
  if (file.status !== 200) throw new Error(`upload failed: ${file.status} ${file.text}`);
  const body = {
    input_file_id: file.body.id,
    endpoint: '/v1/chat/completions',
    completion_window: completionWindow,
    metadata,
  };
  if (webhook) body.webhook = webhook;
  const res = await emu.api('POST', '/v1/batches', body);
  if (res.status !== 200) throw new Error(`create failed: ${res.status} ${res.text}`);
  return res.body;
}

/** Polls the batch until `until(batch)` holds; throws after `timeoutMs`. */
export async function waitForBatch(emu, id, until = (b) => ['completed', 'failed', 'cancelled', 'expired'].includes(b.status), timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    const res = await emu.api('GET', `/v1/batches/${id}`);
    if (res.status === 200) {
      last = res.body;
      if (until(last)) return last;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`batch ${id} did not reach the expected state in ${timeoutMs} ms; last: ${last?.status}`);
}

/** Waits until `check()` returns a truthy value; throws after `timeoutMs`. */
export async function eventually(check, timeoutMs = 10_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A webhook receiver on 127.0.0.1. `respond(req, n)` decides each answer: return a status
 * number, {status, body, delayMs}, or nothing for 200. `req` has {headers, body (string), json}.
 * `received` lists every request in arrival order.
 */
export async function startReceiver(respond = () => 200) {
  const received = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    let json;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const entry = { headers: req.headers, body, json, at: Date.now(), path: req.url };
    received.push(entry);
    let answer = (await respond(entry, received.length)) ?? 200;
    if (typeof answer === 'number') answer = { status: answer };
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    if (res.destroyed) return;
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
    res.end(answer.body ?? '{"ok":true}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    received,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A fresh Standard Webhooks secret (`whsec_` + 32 random bytes in base64). */
export function newSecret() {
  return 'whsec_' + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
}
