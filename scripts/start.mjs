// `npm start`: the local stack, each service printing `<name>: <url>` on its own line once it
// answers. Ctrl-C (or SIGTERM) stops every service, in reverse order of start.
//
// A service is `{ name, start(urls) }` where `start` resolves to `{ url, stop() }` and gets the
// URLs of the services started before it (so a later one can point at an earlier one).
// Persistent state lives under .state/<name>/ and survives restarts; delete it to start over.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, startWorker } from "../tests/support/worker.mjs";

const STATE = join(ROOT, ".state");

const services = [
  {
    name: "api",
    async start() {
      const persistDir = join(STATE, "worker");
      mkdirSync(persistDir, { recursive: true });
      const port = Number(process.env.PORT ?? 8787);
      // The usual wrangler port when free (stable URL for bookmarks), else any free port.
      const worker = await startWorker({ persistDir, port }).catch(() => startWorker({ persistDir, port: 0 }));
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
  } catch (error) {
    console.error(`${name}: failed to start: ${error.message}`);
    await stopAll(1);
  }
}
console.log("ready (Ctrl-C to stop)");
