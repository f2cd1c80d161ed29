// batchhook — the full npm entry: `BatchClient` (submit, watch and control batches) and, re-exported
// from `batchhook/webhook`, the `Webhook` verifier.
//
// Everything that decides lives in the wasm module (the crate's `browser` feature): request
// building, response parsing, JSONL validation, status aliases, poll backoff. This file only
// adapts it to idiomatic JavaScript: it loads the wasm, turns File/Blob/string into bytes, turns
// page-fetching wasm methods into async iterators, runs timers (sleep, AbortSignal, WebSocket
// reconnects) and converts thrown values into `BatchhookError`.

import init, * as wasm from './client_wasm.js';

export * from '../webhook/index.js';

// Loads the wasm next to this file. Node cannot `fetch` a `file:` URL, so there the bytes are read
// from disk; browsers, bundlers and Deno stream the URL. Cloudflare Workers cannot compile wasm
// from bytes: there the `workerd` condition (workerd.js) instantiates the module it imports.
async function loadWasm() {
  if (typeof navigator !== 'undefined' && navigator.userAgent === 'Cloudflare-Workers') return;
  const url = new URL('./client_wasm_bg.wasm', import.meta.url);
  if (url.protocol === 'file:') {
    // A computed specifier keeps browser bundlers from trying to resolve `node:fs`.
    const { readFile } = await import(/* @vite-ignore */ 'node:' + 'fs/promises');
    return init({ module_or_path: await readFile(url) });
  }
  return init({ module_or_path: url });
}

await loadWasm();

/**
 * Every failure the client reports: a server error (`status` = its HTTP status, `code` and
 * `message` from its `{error:{code,message}}` body), a local validation failure (`status` 0,
 * `rows` = the row errors), a network failure (`code` "network_error") or a timeout.
 */
export class BatchhookError extends Error {
  constructor(message, { code = 'unknown_error', status = 0, rows, retryable = false, retryAfterMs, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'BatchhookError';
    this.code = code;
    this.status = status;
    this.retryable = retryable;
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
    if (rows !== undefined) this.rows = rows;
  }
}

// The wasm side throws plain `Error`s carrying `code`, `status`, `retryable` and maybe `rows`.
function toBatchhookError(err) {
  if (err instanceof BatchhookError) return err;
  if (err && typeof err === 'object' && typeof err.code === 'string') {
    return new BatchhookError(err.message, {
      code: err.code,
      status: err.status ?? 0,
      rows: err.rows,
      retryable: Boolean(err.retryable),
      retryAfterMs: err.retryAfterMs,
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new BatchhookError(`Network request failed: ${message}`, {
    code: 'network_error',
    retryable: true,
    cause: err,
  });
}

async function call(fn) {
  try {
    return await fn();
  } catch (err) {
    throw toBatchhookError(err);
  }
}

/** The endpoint rows are checked against when the caller names none. */
export const DEFAULT_ENDPOINT = '/v1/chat/completions';

/**
 * Checks a JSONL batch input row by row without uploading it: every row must be a JSON object
 * with a unique `custom_id`, `"method": "POST"`, `url` equal to `endpoint` and a `body` with a
 * `model`. Returns `{ valid, rows, bytes, invalid_rows, error_count, errors: [{ row, error }],
 * file_error }` (rows are 1-based line numbers).
 */
export function validateJsonl(text, { endpoint = DEFAULT_ENDPOINT } = {}) {
  return wasm.validateJsonl(String(text), String(endpoint));
}

/** Whether a status (or alias) is final: completed, failed, cancelled or expired. */
export function isTerminalStatus(status) {
  return wasm.isTerminalStatus(String(status ?? ''));
}

/**
 * The core's normalised view of a job in any accepted shape (a gateway batch, a doc-tagging job,
 * a fact-check batch): `{ id, status, counts, progress (0..1), input_tokens, output_tokens,
 * total_tokens, cost, error_message, … }`.
 */
export function jobView(batch) {
  return wasm.jobView(JSON.stringify(batch));
}

/** The canonical lifecycle status of a batch object, whichever service's shape it has. */
export function lifecycleStatus(batch) {
  return jobView(batch).status ?? 'unknown';
}

/** Where a batch's failures are, by the core's classification: `[{ kind, … }]`. */
export function classifyFailures(batch) {
  return wasm.classifyFailures(JSON.stringify(batch));
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// Randomness is the adapter's job: the core takes the seed for its jitter as an argument.
function randomSeed() {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

async function toBytes(input) {
  if (typeof input === 'string') return { bytes: new TextEncoder().encode(input), name: undefined };
  if (input instanceof Uint8Array) return { bytes: input, name: undefined };
  if (input instanceof ArrayBuffer) return { bytes: new Uint8Array(input), name: undefined };
  if (input && typeof input.arrayBuffer === 'function') {
    return { bytes: new Uint8Array(await input.arrayBuffer()), name: input.name || undefined };
  }
  throw new BatchhookError('uploadFile takes a File, a Blob, a string or bytes.', {
    code: 'invalid_argument',
  });
}

function statusParam(status) {
  if (status === undefined || status === null || status === '') return undefined;
  return Array.isArray(status) ? status.join(',') : String(status);
}

/**
 * A client of batchhook's /v1 API (or, where CORS allows, the gateway's own /v1 API).
 *
 * `fetch`, when given, is called as `fetch(request)` with a standard `Request` and must return
 * (a promise of) a standard `Response`; without it the global `fetch` is used.
 */
export class BatchClient {
  #core;
  #baseUrl;
  #token;

  constructor({ baseUrl, token, fetch, pollMinMs, pollMaxMs } = {}) {
    const base = baseUrl ?? globalThis.location?.origin;
    if (!base) {
      throw new BatchhookError('BatchClient needs a baseUrl, e.g. "https://batches.example.com".', {
        code: 'invalid_argument',
      });
    }
    if (fetch !== undefined && typeof fetch !== 'function') {
      throw new BatchhookError('The fetch option must be a function.', { code: 'invalid_argument' });
    }
    try {
      this.#core = new wasm.BatchClientCore(String(base), String(token ?? ''), fetch, pollMinMs, pollMaxMs);
    } catch (err) {
      throw toBatchhookError(err);
    }
    this.#baseUrl = String(base).replace(/\/+$/, '');
    this.#token = String(token ?? '');
  }

  /** The API base URL, without a trailing slash. */
  get baseUrl() {
    return this.#baseUrl;
  }

  /**
   * Validates the JSONL rows locally for `endpoint` (throws `BatchhookError` with `code`
   * "invalid_jsonl" and `rows` when any row is wrong, and uploads nothing), then uploads it with
   * purpose "batch".
   */
  async uploadFile(input, { filename, endpoint = DEFAULT_ENDPOINT } = {}) {
    const { bytes, name } = await toBytes(input);
    const core = this.#core;
    return call(() => core.uploadFile(bytes, filename ?? name ?? 'batch.jsonl', String(endpoint)));
  }

  /**
   * Creates a batch. Sends `Idempotency-Key: <clientJobId>` (a fresh UUID when not given), so a
   * repeated call with the same `clientJobId` returns the same batch instead of a second one.
   */
  async createBatch({ inputFileId, endpoint, completionWindow = '24h', metadata, clientJobId } = {}) {
    const core = this.#core;
    const key = clientJobId ?? crypto.randomUUID();
    return call(() =>
      core.createBatch(JSON.stringify({ inputFileId, endpoint, completionWindow, metadata: metadata ?? {} }), String(key)),
    );
  }

  async getBatch(id) {
    const core = this.#core;
    return call(() => core.getBatch(String(id)));
  }

  /**
   * One page of the batch list: `{ object: "list", data, first_id, last_id, has_more }`.
   * `status` is a status or alias, a comma-separated list, or an array.
   */
  async listPage({ status, limit, after } = {}) {
    const core = this.#core;
    return call(() => core.listBatches(statusParam(status), limit ?? undefined, after ?? undefined));
  }

  /** Every page of the batch list, following the `after` cursor until `has_more` is false. */
  async *listBatches({ status, limit, after } = {}) {
    let cursor = after;
    for (;;) {
      const page = await this.listPage({ status, limit, after: cursor });
      yield page;
      if (!page.has_more || !page.last_id || page.last_id === cursor) return;
      cursor = page.last_id;
    }
  }

  async cancelBatch(id) {
    const core = this.#core;
    return call(() => core.cancelBatch(String(id)));
  }

  /** Pauses batchhook's own polling and result fan-out for the batch (worker API only). */
  async pauseBatch(id) {
    const core = this.#core;
    return call(() => core.pauseBatch(String(id)));
  }

  /** Resumes polling and fan-out where they stopped (worker API only). */
  async resumeBatch(id) {
    const core = this.#core;
    return call(() => core.resumeBatch(String(id)));
  }

  /** The batch's change events after sequence number `since` (worker API's polling form). */
  async events(id, { since = 0 } = {}) {
    const core = this.#core;
    return call(() => core.eventsSince(String(id), since));
  }

  /**
   * Polls until the batch is terminal and returns it, with the core's backoff (restarting when
   * the batch changes, with jitter, `Retry-After` honoured; retryable errors are retried).
   * `onProgress(batch)` is called whenever status or counts change. Rejects with the signal's
   * reason when `signal` aborts, and with `code` "timeout" after `timeoutMs`.
   */
  async waitForBatch(id, { signal, onProgress, timeoutMs } = {}) {
    let previous;
    const onPoll = (batch) => {
      const fingerprint = JSON.stringify([batch.status, batch.lifecycle_status, batch.request_counts, batch.progress]);
      if (fingerprint === previous) return;
      previous = fingerprint;
      onProgress?.(batch);
    };
    return this.#wait(String(id), { signal, timeoutMs, onPoll });
  }

  // The core's wait driver; an abort rejects at once (the driver's next sleep never ends).
  #wait(id, { signal, timeoutMs, onPoll }) {
    signal?.throwIfAborted();
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const run = call(() => this.#core.waitForBatch(id, randomSeed(), deadline, onPoll, signal));
    if (!signal) return run;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      run.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** @internal polling for `watchBatch`: every poll's batch to `onPoll`, until terminal. */
  pollUntilTerminal(id, signal, onPoll) {
    return this.#wait(id, { signal, onPoll });
  }

  /**
   * Calls `onChange(batch)` with the batch now and on every change until it is terminal.
   * Listens on the batch's WebSocket (reconnecting with backoff) and falls back to polling
   * where there is no WebSocket or it keeps failing. Returns a function that stops watching.
   */
  watchBatch(id, onChange, { onError, onTransport } = {}) {
    const watcher = new Watcher(this, String(id), onChange, onError, onTransport);
    watcher.start();
    return () => watcher.stop();
  }

  /** The result rows of a finished batch, page by page. */
  async *results(id, { limit } = {}) {
    const core = this.#core;
    let after;
    for (;;) {
      const page = await call(() => core.resultsPage(String(id), after, limit ?? undefined));
      for (const row of page.data) yield row;
      if (!page.has_more || !page.last_id || page.last_id === after) return;
      after = page.last_id;
    }
  }

  /** See the module-level `validateJsonl`. */
  validateJsonl(text, options) {
    return validateJsonl(text, options);
  }

  /**
   * @internal where and how to open a batch's live updates. The gateway's own socket takes the
   * token as `?access_token=`; the worker's `/events` takes it as the subprotocol
   * `bearer.<token>` beside `batchhook` (which it echoes), so it stays out of URLs and logs.
   */
  eventsSocket(id, websocketUrl) {
    const url = this.#core.eventsUrl(String(id), websocketUrl ?? undefined);
    const protocols = url.includes('access_token=') || !this.#token ? [] : ['batchhook', `bearer.${this.#token}`];
    return { url, protocols };
  }

  /** @internal the core's poll delay for the `attempt`-th unchanged poll (socket reconnects). */
  pollDelayMs(attempt, seed, retryAfterMs) {
    return this.#core.pollDelayMs(attempt, seed, retryAfterMs);
  }
}

// After this many WebSocket attempts in a row that never opened, the watcher polls instead.
const MAX_FAILED_SOCKETS = 3;

function parseBatch(data, id) {
  if (typeof data !== 'string') return null;
  try {
    const value = JSON.parse(data);
    const looksLikeBatch = value && value.id === id && (value.status !== undefined || value.lifecycle_status !== undefined);
    return looksLikeBatch ? value : null;
  } catch {
    return null;
  }
}

/** One `watchBatch` subscription: a WebSocket with reconnects, or polling as the fallback. */
class Watcher {
  constructor(client, id, onChange, onError, onTransport) {
    this.client = client;
    this.id = id;
    this.onChange = onChange;
    this.onError = onError ?? (() => {});
    this.onTransport = onTransport ?? (() => {});
    this.abort = new AbortController();
    this.seed = randomSeed();
    this.last = undefined;
    this.refreshing = null;
    this.dirty = false;
    this.socket = null;
  }

  get stopped() {
    return this.abort.signal.aborted;
  }

  stop() {
    this.abort.abort();
    this.socket?.close(1000, 'unsubscribed');
    this.socket = null;
  }

  async start() {
    const done = await this.refresh();
    if (done || this.stopped) return;
    if (typeof globalThis.WebSocket === 'function') {
      this.openSocket(0, 0);
    } else {
      this.poll();
    }
  }

  // Reports the batch when it differs from the last one reported; true when it is terminal.
  deliver(batch) {
    if (typeof batch.websocket_url === 'string') this.websocketUrl = batch.websocket_url;
    const text = JSON.stringify(batch);
    if (text !== this.last) {
      this.last = text;
      this.onChange(batch);
    }
    return isTerminalStatus(lifecycleStatus(batch));
  }

  // Fetches the batch and reports it when it changed; returns true once it is terminal.
  // Concurrent triggers collapse into one fetch plus, if needed, one more after it.
  async refresh() {
    if (this.refreshing) {
      this.dirty = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      let terminal = false;
      do {
        this.dirty = false;
        try {
          const batch = await this.client.getBatch(this.id);
          if (this.stopped) return true;
          terminal = this.deliver(batch);
        } catch (err) {
          if (this.stopped) return true;
          this.onError(err);
          if (!err.retryable) {
            this.stop();
            return true;
          }
        }
      } while (this.dirty && !terminal && !this.stopped);
      if (terminal) this.stop();
      return terminal;
    })();
    try {
      return await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  async openSocket(attempt, failures) {
    if (this.stopped) return;
    const { url, protocols } = this.client.eventsSocket(this.id, this.websocketUrl);
    let opened = false;
    const socket = new WebSocket(url, protocols);
    this.socket = socket;
    // A failed handshake is followed by `close`, which decides what happens next; listening
    // also keeps EventEmitter-based WebSocket implementations from throwing it.
    socket.addEventListener('error', () => {});
    socket.addEventListener('open', () => {
      opened = true;
      this.onTransport('websocket');
      // Changes made while we were disconnected arrive as one fresh read.
      if (attempt > 0) this.refresh();
    });
    // A message that is the batch itself (the gateway's socket) is shown as is; any other
    // message (the worker's timeline events and its progress messages, sent whenever request
    // counts or result ingestion move) triggers a fresh read.
    socket.addEventListener('message', (event) => {
      const batch = parseBatch(event.data, this.id);
      if (batch) {
        if (this.deliver(batch)) this.stop();
      } else {
        this.refresh();
      }
    });
    socket.addEventListener('close', async () => {
      if (this.stopped || this.socket !== socket) return;
      this.socket = null;
      const nextFailures = opened ? 0 : failures + 1;
      if (nextFailures >= MAX_FAILED_SOCKETS) return this.poll();
      this.onTransport('reconnecting');
      const delay = this.client.pollDelayMs(opened ? 0 : attempt, this.seed, undefined);
      try {
        await sleep(delay, this.abort.signal);
      } catch {
        return;
      }
      if (await this.refresh()) return;
      this.openSocket(opened ? 1 : attempt + 1, nextFailures);
    });
  }

  async poll() {
    this.onTransport('polling');
    try {
      await this.client.pollUntilTerminal(this.id, this.abort.signal, (batch) => this.deliver(batch));
    } catch (err) {
      if (!this.stopped) this.onError(toBatchhookError(err));
    }
    this.stop();
  }
}
