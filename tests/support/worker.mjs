// Runs the built Worker (worker/build/) in the real workerd runtime through miniflare's API,
// for tests, benchmarks and `npm start`.
//
//   const worker = await startWorker({ bindings: { WEBHOOK_SECRETS: "whsec_…" } });
//   const res = await fetch(new URL("/v1/batches/b1", worker.url));
//   await worker.restart();   // same persistence dir and port: state and alarms survive
//   await worker.stop();      // removes the persistence dir if startWorker created it
//
// Durable Object bindings, the compatibility date and the default vars come from
// worker/wrangler.toml, so tests run the configuration that deploys.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { Log, LogLevel, Miniflare } from "miniflare";

/** Socket errors of a request sent on a connection the server had already closed. */
const CLOSED_CONNECTION = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BUILD = join(ROOT, "worker", "build");

/**
 * Reads the subset of TOML wrangler.toml uses: `[table]`, `[[array.of.tables]]`, and
 * `key = value` with strings, numbers, booleans and arrays of strings.
 */
export function readWranglerToml(path = join(ROOT, "worker", "wrangler.toml")) {
  const config = {};
  let current = config;
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.replace(/\s+#.*$|^#.*$/, "").trim();
    if (line === "") continue;
    let m;
    if ((m = line.match(/^\[\[([\w.]+)\]\]$/))) {
      const keys = m[1].split(".");
      const parent = keys.slice(0, -1).reduce((o, k) => (o[k] ??= {}), config);
      const list = (parent[keys.at(-1)] ??= []);
      list.push((current = {}));
    } else if ((m = line.match(/^\[([\w.]+)\]$/))) {
      current = m[1].split(".").reduce((o, k) => (o[k] ??= {}), config);
    } else if ((m = line.match(/^([\w-]+)\s*=\s*(.+)$/))) {
      current[m[1]] = JSON.parse(m[2]);
    } else {
      throw new Error(`wrangler.toml: cannot read line ${JSON.stringify(raw)}`);
    }
  }
  return config;
}

/** Miniflare options equivalent to worker/wrangler.toml, plus `bindings` overriding its vars. */
export function workerOptions({ persistDir, bindings = {}, port = 0, assets = true, queue } = {}) {
  const wrangler = readWranglerToml();
  const scriptPath = join(BUILD, "index.js");
  if (!existsSync(scriptPath)) {
    throw new Error(`${scriptPath} is missing: run \`node scripts/build.mjs worker\` first`);
  }
  const durableObjects = Object.fromEntries(
    wrangler.durable_objects.bindings.map((b) => [b.name, { className: b.class_name, useSQLite: true }]),
  );
  const assetsDir = join(ROOT, "worker", wrangler.assets.directory);
  const options = {
    name: wrangler.name,
    modules: true,
    scriptPath,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: false }],
    compatibilityDate: wrangler.compatibility_date,
    compatibilityFlags: wrangler.compatibility_flags ?? [],
    durableObjects,
    durableObjectsPersist: persistDir,
    bindings: { ...wrangler.vars, ...bindings },
    host: "127.0.0.1",
    port,
    // The default `cf` object is fetched from the internet; tests talk only to 127.0.0.1.
    cf: false,
    log: new Log(process.env.BATCHHOOK_WORKER_LOG === "debug" ? LogLevel.DEBUG : LogLevel.WARN),
  };
  if (queue) return withQueue(options, queue);
  if (assets && existsSync(assetsDir) && readdirSync(assetsDir).length > 0) {
    options.assets = {
      workerName: wrangler.name,
      directory: assetsDir,
      binding: wrangler.assets.binding,
      // Requests that match no file go on to the Worker, as on Cloudflare.
      routerConfig: { has_user_worker: true },
    };
  }
  return options;
}

/** Queue name behind the optional `RESULTS_QUEUE` producer binding in tests. */
export const RESULTS_QUEUE_NAME = "batchhook-results";

// Options every worker of a multi-worker Miniflare shares (the rest are per worker).
const SHARED_OPTIONS = ["host", "port", "cf", "log", "durableObjectsPersist"];

/**
 * The batchhook worker with a `RESULTS_QUEUE` producer plus a second worker consuming that
 * queue: `queue = { consumer: <worker options, e.g. {name, modules, script, bindings}>,
 * consumerOptions: {maxBatchSize, maxBatchTimeout, maxRetries} }`. Cloudflare runs the
 * consumer as its own Worker; so does this (same workerd, so a restart restarts both).
 */
function withQueue(options, { consumer, consumerOptions = {} }) {
  const shared = {};
  const own = {};
  for (const [key, value] of Object.entries(options)) (SHARED_OPTIONS.includes(key) ? shared : own)[key] = value;
  own.queueProducers = { RESULTS_QUEUE: { queueName: RESULTS_QUEUE_NAME } };
  return {
    ...shared,
    workers: [
      own,
      { compatibilityDate: own.compatibilityDate, ...consumer, queueConsumers: { [RESULTS_QUEUE_NAME]: consumerOptions } },
    ],
  };
}

/**
 * Starts the Worker in workerd and resolves once it answers HTTP.
 *
 * `persistDir`: where Durable Object SQLite files live; a fresh temporary dir (removed by
 * `stop()`) when omitted. `bindings`: env values overriding wrangler.toml's vars (secrets,
 * test switches). `port`: 0 picks a free one. `queue`: see `withQueue` (no static assets then).
 */
export async function startWorker({ persistDir, bindings = {}, port = 0, assets = true, queue } = {}) {
  const ownsDir = persistDir === undefined;
  const dir = persistDir ?? mkdtempSync(join(tmpdir(), "batchhook-worker-"));
  let mf = null;
  let url = null;

  const handle = {
    persistDir: dir,
    /** Base URL of the running worker, e.g. `http://127.0.0.1:41234/`. */
    get url() {
      return url;
    },
    /** The Miniflare instance (for `getDurableObjectNamespace` and friends). */
    get miniflare() {
      return mf;
    },
    /**
     * `fetch` relative to the worker's URL. After an answer that left a request body unread
     * (a 413, or a 401 before the body was needed) workerd closes that keep-alive connection;
     * a request Node's fetch had already put on it fails with a socket error before workerd
     * read it. Browsers resend such a request on a fresh connection; so does this.
     */
    async fetch(path, init) {
      try {
        return await fetch(new URL(path, url), init);
      } catch (error) {
        if (!CLOSED_CONNECTION.has(error?.cause?.code)) throw error;
        return fetch(new URL(path, url), init);
      }
    },
    async start(listenPort = port) {
      mf = new Miniflare(workerOptions({ persistDir: dir, bindings, port: listenPort, assets, queue }));
      try {
        url = (await mf.ready).toString();
      } catch (error) {
        await mf.dispose().catch(() => {});
        mf = null;
        throw error;
      }
      return handle;
    },
    /** Stops workerd, keeping the persistence dir. */
    async halt() {
      if (mf) {
        const running = mf;
        mf = null;
        await running.dispose();
      }
    },
    /** Stops workerd and starts it again on the same persistence dir and port. */
    async restart() {
      const samePort = Number(new URL(url).port);
      await handle.halt();
      return handle.start(samePort);
    },
    /** Stops workerd; removes the persistence dir if it was a temporary one. */
    async stop() {
      await handle.halt();
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle.start();
}

/** Polls `check` (async, returns a truthy value when done) every `intervalMs` until `timeoutMs`. */
export async function waitFor(check, { timeoutMs = 10_000, intervalMs = 50, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
