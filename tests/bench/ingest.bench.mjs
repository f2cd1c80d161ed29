// Ingest throughput and latency of verified, stored deliveries in local workerd: batchhook's
// Worker (worker/build, POST /webhooks/:source → BatchLedger, one SQLite transaction) side by
// side with a reference plain-JS Worker (tests/bench/ingest-reference-worker.mjs: npm
// `standardwebhooks` + the same Durable Object SQLite insert), from 1 to 16 concurrent senders.
// Every request is a fresh, pre-signed delivery (unique webhook-id) over 32 batches; both
// Workers answer only after the insert commits. One table from one run.
//
//   node scripts/bench.mjs ingest        BENCH_INGEST_REQUESTS=<n> per level (default 400)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { Miniflare } from "miniflare";
import { Webhook } from "standardwebhooks";
import { startWorker } from "../support/worker.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const LEVELS = [1, 4, 16];
const REQUESTS = Number(process.env.BENCH_INGEST_REQUESTS ?? 400);
const BATCHES = 32;

/** Pre-signed deliveries, so signing costs nothing inside the timed loop. */
function deliveries(tag, n) {
  const wh = new Webhook(SECRET);
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  return Array.from({ length: n }, (_, i) => {
    const batch = `batch_bench_${tag}_${i % BATCHES}`;
    const id = `msg_${tag}_${i}`;
    const body = JSON.stringify({
      id: `evt_${id}`,
      object: "event",
      type: "batch.progress",
      created_at: now.getTime() / 1000,
      job_id: batch,
      lifecycle_status: "in_progress",
      data: { id: batch, object: "batch", status: "in_progress", request_counts: { total: 100, completed: i % 100, failed: 0 } },
    });
    return {
      body,
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(now.getTime() / 1000),
        "webhook-signature": wh.sign(id, now, body),
      },
    };
  });
}

async function level(url, list, senders) {
  const latencies = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (next < list.length) {
        const d = list[next++];
        const t = performance.now();
        const res = await fetch(url, { method: "POST", headers: d.headers, body: d.body });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { rps: list.length / seconds, p50: pct(50), p99: pct(99) };
}

async function startReference(dir) {
  const out = join(dir, "reference.mjs");
  await esbuild.build({
    entryPoints: [join(here, "ingest-reference-worker.mjs")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    outfile: out,
    logLevel: "warning",
  });
  const mf = new Miniflare({
    modules: true,
    modulesRoot: dir,
    scriptPath: out,
    compatibilityDate: "2026-07-01",
    durableObjects: { REF_LEDGER: { className: "RefLedger", useSQLite: true } },
    durableObjectsPersist: join(dir, "reference-state"),
    bindings: { WEBHOOK_SECRET: SECRET },
    host: "127.0.0.1",
    port: 0,
  });
  const url = (await mf.ready).toString();
  return { url: new URL("/webhooks/aistats", url).toString(), stop: () => mf.dispose() };
}

export default async function run() {
  const dir = mkdtempSync(join(tmpdir(), "batchhook-ingest-bench-"));
  const ours = await startWorker({
    persistDir: join(dir, "batchhook-state"),
    bindings: { WEBHOOK_SECRETS: SECRET, GATEWAY_URL: "http://127.0.0.1:9", POLL_MIN_MS: "3600000", POLL_MAX_MS: "3600000" },
    // The reference has no static assets in front of it; neither does batchhook here.
    assets: false,
  });
  const reference = await startReference(dir);
  const targets = [
    ["batchhook", new URL("/webhooks/aistats", ours.url).toString()],
    ["reference", reference.url],
  ];
  const rows = [];
  try {
    // Warm both (isolate start, wasm compile, Durable Object creation) outside the timing.
    for (const [name, url] of targets) await level(url, deliveries(`warm_${name}`, 64), 4);
    for (const senders of LEVELS) {
      const results = {};
      // Alternate which goes first per level so neither always meets a warmer machine.
      const order = senders % 2 === 0 ? targets : [...targets].reverse();
      for (const [name, url] of order) {
        results[name] = await level(url, deliveries(`${name}_${senders}`, REQUESTS), senders);
      }
      rows.push({ senders, ...results });
    }
  } finally {
    await ours.stop();
    await reference.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (n, d = 1) => n.toFixed(d).padStart(8);
  console.log(`ingest: ${REQUESTS} fresh signed deliveries per level, ${BATCHES} batches, local workerd (miniflare)`);
  console.log("senders | batchhook req/s   p50 ms   p99 ms | reference req/s   p50 ms   p99 ms | throughput ×  p99 ×");
  for (const r of rows) {
    const a = r.batchhook;
    const b = r.reference;
    console.log(
      `${String(r.senders).padStart(7)} | ${f(a.rps)}       ${f(a.p50)} ${f(a.p99)} | ${f(b.rps)}       ${f(b.p50)} ${f(b.p99)} | ${f(a.rps / b.rps, 2)}  ${f(a.p99 / b.p99, 2)}`,
    );
  }
  console.log("(throughput × > 1 and p99 × < 1 favour batchhook)");
}
