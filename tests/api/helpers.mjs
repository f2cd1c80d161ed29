// Shared by the operator API tests: the emulator plus the built Worker with two workspaces,
// and a plain HTTP client written against the /v1 wire format (not batchhook's own client).
import WebSocket from "ws";
import { readResponse } from "../support/http.mjs";
import { startWorker, waitFor } from "../support/worker.mjs";
import { jsonlRows, newSecret, startEmulator } from "../support/emulator.mjs";

export { jsonlRows, waitFor };

/** Tokens of the two workspaces; `ops` is first, so it is the operator workspace. */
export const OPS = "tok_ops_0123456789abcdef";
export const BETA = "tok_beta_0123456789abcdef";

/** Starts the emulator and the Worker with `API_TOKENS` for `ops` and `beta`. */
export async function startApi({ speed = 1000, seed = 1, bindings = {}, persistDir, emulator, queue } = {}) {
  const emu = emulator ?? (await startEmulator({ speed, seed }));
  const secret = newSecret();
  const allBindings = {
    WEBHOOK_SECRETS: secret,
    GATEWAY_URL: emu.url,
    GATEWAY_API_KEY: emu.apiKey,
    API_TOKENS: `${OPS}:ops ${BETA}:beta`,
    ALLOWED_ORIGINS: "https://ops.example.com",
    POLL_MIN_MS: "200",
    POLL_MAX_MS: "1000",
    ...bindings,
  };
  const worker = await startWorker({ persistDir, bindings: allBindings, queue });
  const stack = {
    emu,
    worker,
    secret,
    /** A /v1 call; resolves to {status, headers, body, text}. */
    async call(method, path, { token = OPS, body, headers = {}, form } = {}) {
      const init = { method, headers: { ...headers } };
      if (token) init.headers.authorization = `Bearer ${token}`;
      if (form) init.body = form;
      else if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        init.headers["content-type"] = "application/json";
      }
      const res = await worker.fetch(path, init).catch((error) => {
        throw new Error(`${method} ${path}: ${error.message} (${error.cause?.code ?? error.cause})`);
      });
      return readResponse(res);
    },
    /** Uploads JSONL through the Worker. */
    upload(text, { token = OPS, filename = "input.jsonl" } = {}) {
      const form = new FormData();
      form.append("purpose", "batch");
      form.append("file", new Blob([text], { type: "application/jsonl" }), filename);
      return stack.call("POST", "/v1/files", { token, form });
    },
    /** Uploads `rows` rows and creates a batch; resolves to the created batch (throws otherwise). */
    async create({ rows = 4, failRows = [], text, metadata = {}, token = OPS, headers = {} } = {}) {
      const file = await stack.upload(text ?? jsonlRows(rows, { failRows }), { token });
      if (file.status !== 200) throw new Error(`upload: ${file.status} ${file.text}`);
      const res = await stack.call("POST", "/v1/batches", {
        token,
        headers,
        body: { input_file_id: file.body.id, endpoint: "/v1/chat/completions", completion_window: "24h", metadata },
      });
      if (res.status !== 200) throw new Error(`create: ${res.status} ${res.text}`);
      return res.body;
    },
    /** GET /v1/batches/{id} as `token`. */
    async view(id, token = OPS) {
      const res = await stack.call("GET", `/v1/batches/${id}`, { token });
      if (res.status !== 200) throw new Error(`GET ${id}: ${res.status} ${res.text}`);
      return res.body;
    },
    /** Waits until the view satisfies `until`. */
    waitView(id, until, { timeoutMs = 30_000, what, token = OPS } = {}) {
      return waitFor(async () => {
        const v = await stack.view(id, token);
        return until(v) && v;
      }, { timeoutMs, intervalMs: 100, what: what ?? `batch ${id}` });
    },
    /** Every result row of a batch, paging with `after`. */
    async results(id, { limit = 1000, token = OPS } = {}) {
      const rows = [];
      let after = null;
      for (;;) {
        const q = new URLSearchParams({ limit: String(limit) });
        if (after) q.set("after", after);
        const res = await stack.call("GET", `/v1/batches/${id}/results?${q}`, { token });
        if (res.status !== 200) throw new Error(`results: ${res.status} ${res.text}`);
        rows.push(...res.body.data);
        if (!res.body.has_more) return { rows, last: res.body };
        after = res.body.last_id;
      }
    },
    /** Opens the batch's event WebSocket; `messages` fills as events arrive. */
    async events(id, { token = OPS, since } = {}) {
      const url = new URL(`/v1/batches/${id}/events${since === undefined ? "" : `?since=${since}`}`, worker.url);
      url.protocol = "ws:";
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
      const messages = [];
      ws.on("message", (data) => messages.push(JSON.parse(String(data))));
      await new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
        ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      });
      return { ws, messages, close: () => ws.close() };
    },
    async stop() {
      await worker.stop();
      if (!emulator) await emu.stop();
    },
  };
  return stack;
}
