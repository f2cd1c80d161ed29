// Shared by the worker's end-to-end tests: the built Worker in workerd (tests/support/worker.mjs)
// wired to the gateway emulator (tests/support/emulator.mjs), and a Standard Webhooks sender.
import { Webhook } from "standardwebhooks";
import { readResponse } from "../support/http.mjs";
import { startWorker, waitFor } from "../support/worker.mjs";
import { createBatch, newSecret, startEmulator } from "../support/emulator.mjs";

/** The operator workspace's /v1 token (the first in API_TOKENS sees webhook-only batches). */
export const OPERATOR_TOKEN = "tok_operator_0123456789";
export const OPERATOR_AUTH = { authorization: `Bearer ${OPERATOR_TOKEN}` };

export const TERMINAL = new Set(["completed", "failed", "cancelled", "expired"]);
export const ALL_EVENTS = [
  "batch.in_progress",
  "batch.progress",
  "batch.finalizing",
  "batch.cancelling",
  "batch.completed",
  "batch.failed",
  "batch.cancelled",
  "batch.expired",
];

/**
 * Starts the emulator and the Worker pointed at it. The Worker polls fast (POLL_MIN_MS 100,
 * POLL_MAX_MS 800 unless overridden) so convergence by polling takes seconds, not minutes.
 */
export async function startStack({ speed = 1000, seed = 1, bindings = {}, persistDir, emulator } = {}) {
  const emu = emulator ?? (await startEmulator({ speed, seed }));
  const secret = newSecret();
  const worker = await startWorker({
    persistDir,
    bindings: {
      WEBHOOK_SECRETS: secret,
      GATEWAY_URL: emu.url,
      GATEWAY_API_KEY: emu.apiKey,
      POLL_MIN_MS: "100",
      POLL_MAX_MS: "800",
      BATCHHOOK_TEST_ROUTES: "1",
      API_TOKENS: `${OPERATOR_TOKEN}:ops`,
      ...bindings,
    },
  });
  const stack = {
    emu,
    worker,
    secret,
    get hookUrl() {
      return new URL("/webhooks/aistats", worker.url).toString();
    },
    /** Creates a batch on the emulator whose webhook is this Worker. */
    create({ events = ALL_EVENTS, metadata = {}, ...opts } = {}) {
      return createBatch(emu, { webhook: { url: stack.hookUrl, secret, events }, metadata, ...opts });
    },
    /** The Worker's view of a batch (`GET /v1/batches/:id`), or null on 404. */
    async view(id) {
      const res = await worker.fetch(`/v1/batches/${id}`, { headers: OPERATOR_AUTH });
      if (res.status === 404) return null;
      if (res.status !== 200) throw new Error(`GET /v1/batches/${id}: ${res.status} ${await res.text()}`);
      return res.json();
    },
    /** Waits until the Worker's view satisfies `until`. */
    waitView(id, until, { timeoutMs = 20_000, what } = {}) {
      return waitFor(async () => {
        const v = await stack.view(id);
        return v && until(v) && v;
      }, { timeoutMs, what: what ?? `the worker's view of ${id}` });
    },
    /** The emulator's own batch object. */
    async upstream(id) {
      const res = await emu.api("GET", `/v1/batches/${id}`);
      if (res.status !== 200) throw new Error(`emulator GET ${id}: ${res.status}`);
      return res.body;
    },
    /** The emulator's log of webhook requests for one batch. */
    async sent(id) {
      const res = await emu.admin("GET", `/_admin/deliveries?batch_id=${encodeURIComponent(id)}`);
      return res.body.data;
    },
    async stop() {
      await worker.stop();
      if (!emulator) await emu.stop();
    },
  };
  return stack;
}

/**
 * The Worker with no gateway behind it, for tests of the intake alone: GATEWAY_URL is a closed
 * port, so polls fail (these tests do not look at them), and they are a minute apart.
 * `secrets` is WEBHOOK_SECRETS; `bindings` adds to or overrides the rest.
 */
export function startWorkerWithoutGateway(secrets, bindings = {}) {
  return startWorker({
    bindings: {
      WEBHOOK_SECRETS: secrets,
      GATEWAY_URL: "http://127.0.0.1:9",
      API_TOKENS: `${OPERATOR_TOKEN}:ops`,
      POLL_MIN_MS: "60000",
      POLL_MAX_MS: "60000",
      BATCHHOOK_TEST_ROUTES: "1",
      ...bindings,
    },
  });
}

/** Signs and POSTs a payload to the Worker's intake; resolves to {status, body}. */
export async function send(worker, secret, id, payload, { source = "aistats", headers = {}, timestamp } = {}) {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const ts = timestamp ?? Math.floor(Date.now() / 1000);
  const signature = new Webhook(secret).sign(id, new Date(ts * 1000), body);
  const res = await worker.fetch(`/webhooks/${source}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(ts),
      "webhook-signature": signature,
      ...headers,
    },
    body,
  });
  return readResponse(res);
}

/** A full gateway event for `batchId` at `status` (the shape the emulator sends). */
export function fullEvent(batchId, status, { eventId = `evt_${batchId}_${status}`, counts } = {}) {
  return {
    id: eventId,
    object: "event",
    type: `batch.${status}`,
    created_at: Math.floor(Date.now() / 1000),
    job_id: batchId,
    job_kind: "batch",
    lifecycle_status: status,
    data: {
      id: batchId,
      object: "batch",
      status,
      request_counts: counts ?? { total: 4, completed: status === "completed" ? 4 : 1, failed: 0 },
      output_file_id: status === "completed" ? `file_${batchId}_out` : null,
    },
  };
}

/** A thin OpenAI-style event: only `data.id`. */
export function thinEvent(batchId, type = "batch.completed") {
  return { id: `evt_thin_${batchId}`, object: "event", type, created_at: Math.floor(Date.now() / 1000), data: { id: batchId } };
}
