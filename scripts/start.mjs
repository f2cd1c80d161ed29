// `npm start`: the local stack, each service printing `<name>: <url>` on its own line once it
// answers. Ctrl-C (or SIGTERM) stops every service, in reverse order of start.
//
// A service is `{ name, start(urls) }` where `start` resolves to `{ url, stop() }` and gets the
// URLs of the services started before it (so a later one can point at an earlier one).
// Persistent state lives under .state/<name>/ and survives restarts; delete it to start over.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ROOT, startWorker } from "../tests/support/worker.mjs";
import { startEmulator } from "../tests/support/emulator.mjs";

const STATE = join(ROOT, ".state");

/** A value kept under .state/ so it stays the same across restarts. */
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
      emulator = await startEmulator({ speed: Number(process.env.EMULATOR_SPEED ?? 60) });
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
      const worker = await startWorker({ persistDir, port, bindings }).catch(() =>
        startWorker({ persistDir, port: 0, bindings }),
      );
      return { url: worker.url, stop: () => worker.stop() };
    },
  },
];

const running = [];
let stopping = false;

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const { name, service } of running.reverse()) {
    try {
      await service.stop();
    } catch (error) {
      console.error(`${name}: error while stopping: ${error.message}`);
    }
  }
  process.exit(code);
}

process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

const urls = {};
for (const { name, start } of services) {
  try {
    const service = await start(urls);
    running.push({ name, service });
    urls[name] = service.url;
    console.log(`${name}: ${service.url}`);
    if (name === "api") console.log(`token: ${demoToken}`);
  } catch (error) {
    console.error(`${name}: failed to start: ${error.message}`);
    await stopAll(1);
  }
}
console.log("ready (Ctrl-C to stop)");
