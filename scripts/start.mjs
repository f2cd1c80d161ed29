// `npm start`: the local stack — the gateway emulator, the worker in workerd (Durable Object
// data persisted on disk) and the page, which the worker serves as its static assets. Prints one
// `<name>: <url>` line per service once it answers, the demo token, and how to run a demo batch.
// Ctrl-C (or SIGTERM) stops everything it started, in reverse order of start.
//
// Environment knobs (all optional):
//   PORT                 the worker's port; default 8787 (any free port when taken), 0 = any free port
//   BATCHHOOK_STATE_DIR  where the token, the webhook secret and the worker's data live; default .state/
//   EMULATOR_SPEED       emulated gateway seconds per real second; default 1, so the gateway's
//                        timestamps (created_at, …) are real time; the demo batch runs about 14 s
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join, relative, resolve } from "node:path";
import { ROOT, startWorker } from "../tests/support/worker.mjs";
import { startEmulator } from "../tests/support/emulator.mjs";

const STATE = resolve(process.env.BATCHHOOK_STATE_DIR ?? join(ROOT, ".state"));
const DEMO_FILE = join(ROOT, "www", "demo.jsonl");
// A stop that hangs (a child that ignores SIGTERM) must not leave the terminal stuck.
const STOP_TIMEOUT_MS = 15_000;

/** A value kept under the state dir so it stays the same across restarts. */
function kept(name, make) {
  mkdirSync(STATE, { recursive: true });
  const file = join(STATE, name);
  if (!existsSync(file)) writeFileSync(file, make(), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

// The demo workspace's API token and the webhook signing secret the worker attaches to batches.
const demoToken = kept("api-token", () => `demo_${randomBytes(16).toString("hex")}`);
const webhookSecret = kept("webhook-secret", () => `whsec_${randomBytes(32).toString("base64")}`);
let emulator;

const services = [
  {
    name: "gateway",
    async start() {
      // The emulator keeps its batches in memory and derives ids from its seed: a fresh seed per
      // start keeps new ids from colliding with batches the worker persisted in earlier runs.
      const seed = randomBytes(4).readUInt32LE();
      emulator = await startEmulator({ speed: Number(process.env.EMULATOR_SPEED ?? 1), seed });
      return { url: emulator.url, stop: () => emulator.stop() };
    },
  },
  {
    name: "api",
    async start() {
      const persistDir = join(STATE, "worker");
      mkdirSync(persistDir, { recursive: true });
      const port = Number(process.env.PORT ?? 8787);
      const bindings = {
        GATEWAY_URL: emulator.url,
        GATEWAY_API_KEY: emulator.apiKey,
        API_TOKENS: `${demoToken}:demo`,
        WEBHOOK_SECRETS: webhookSecret,
        POLL_MIN_MS: "1000",
        POLL_MAX_MS: "10000",
      };
      // The usual wrangler port when free (stable URL for bookmarks), else any free port.
      const worker = await startWorker({ persistDir, port, bindings }).catch((error) => {
        if (port === 0) throw error;
        return startWorker({ persistDir, port: 0, bindings });
      });
      // Without the trailing slash, so `$API/v1/…` is a valid URL.
      return { url: new URL(worker.url).origin, stop: () => worker.stop() };
    },
  },
];

const running = [];
let stopping = false;

/** Stops what is running, newest first, then exits; a second Ctrl-C is ignored meanwhile. */
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  setTimeout(() => {
    console.error(`stop: still running after ${STOP_TIMEOUT_MS / 1000} s; exiting anyway`);
    process.exit(1);
  }, STOP_TIMEOUT_MS).unref();
  for (const { name, service } of running.reverse()) {
    try {
      await service.stop();
    } catch (error) {
      console.error(`${name}: error while stopping: ${error.message}`);
    }
  }
  process.exit(code);
}

function onSignal() {
  stopAll(0);
}

/**
 * Miniflare installs its own SIGINT/SIGTERM handlers that dispose workerd and exit at once,
 * which would leave the emulator running. Keep only ours; its 'exit' hook, which kills workerd
 * if the process ends some other way, stays.
 */
function ownSignals() {
  for (const signal of ["SIGINT", "SIGTERM"]) {
    for (const listener of process.listeners(signal)) {
      if (listener !== onSignal) process.removeListener(signal, listener);
    }
  }
}

process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
// Last resort when the process ends without stopAll (an uncaught error): no orphan emulator.
process.on("exit", () => {
  const child = emulator?.process;
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
});

const urls = {};
for (const { name, start } of services) {
  try {
    const service = await start(urls);
    running.push({ name, service });
    ownSignals();
    urls[name] = service.url;
    if (name === "api") console.log(`page: ${service.url}/`);
    console.log(`${name}: ${service.url}`);
    if (name === "api") console.log(`token: ${demoToken}`);
  } catch (error) {
    console.error(`${name}: failed to start: ${error.message}`);
    await stopAll(1);
  }
}

const api = urls.api;
const auth = `-H "Authorization: Bearer ${demoToken}"`;
const demoPath = relative(process.cwd(), DEMO_FILE) || DEMO_FILE;
console.log(
  [
    `demo in the page: open the page, sign in with the token, then New batch → "use the demo file" → Submit batch; the batch view follows it to completed`,
    `demo with curl: upload the file, create the batch with the file id it answers, then read the batch:`,
    `  curl -s ${api}/v1/files ${auth} -F purpose=batch -F file=@${demoPath}`,
    `  curl -s ${api}/v1/batches ${auth} -H "Content-Type: application/json" -d '{"input_file_id":"FILE_ID","endpoint":"/v1/chat/completions","completion_window":"24h"}'`,
    `  curl -s ${api}/v1/batches/BATCH_ID ${auth}`,
    `state: ${STATE} (delete it to start empty)`,
    `ready (Ctrl-C stops everything)`,
  ].join("\n"),
);
