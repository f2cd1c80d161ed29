// Ingest throughput and latency of verified, stored deliveries in local workerd: batchhook's
// Worker (worker/build, POST /webhooks/:source → BatchLedger, one SQLite transaction) side by
// side with a reference plain-JS Worker (tests/bench/ingest-reference-worker.mjs: npm
// `standardwebhooks` + the same Durable Object SQLite insert), from 1 to 16 concurrent senders.
// Every request is a fresh, pre-signed delivery (unique webhook-id) over 32 batches (by default); both
// Workers answer only after the insert commits. That reference is the yardstick.
//
// A second table compares batchhook with a third Worker, the equal-work reference
// (tests/bench/ingest-equal-work-worker.mjs): plain JS doing the same storage work as
// batchhook's ledger, statement for statement (schema migrations, ledger state, timeline,
// outbox → index listing, first poll's alarm), so it shows how batchhook compares with
// JavaScript doing the same job rather than one insert.
//
// The machine is shared and noisy, so each level runs several rounds, rotating which Worker
// goes first, and the tables show medians over the rounds: req/s, p50, p99, and the median of
// the per-round throughput and p99 ratios (each round's runs ran back to back). On Linux they
// also show each workerd process's CPU time per delivery, which the other load on a shared
// machine barely moves: the honest measure of the work each Worker does per delivery.
//
//   node scripts/bench.mjs ingest
//     BENCH_INGEST_REQUESTS=<n>   deliveries per round and level (default 200)
//     BENCH_INGEST_ROUNDS=<n>     rounds per level (default 5)
//     BENCH_INGEST_BATCHES=<n>   batches the deliveries of a round spread over (default 32; each
//                                 round's batches are new to every Worker)
//     BENCH_INGEST_PAD=<bytes>    pad every body by this many bytes (default 0: ~280 B bodies)
//     BENCH_INGEST_DIR=<dir>      where the Workers keep their SQLite files (default: the OS
//                                 temp dir; /dev/shm takes the disk out of the comparison)
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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
const REQUESTS = Number(process.env.BENCH_INGEST_REQUESTS ?? 200);
const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 5);
const PAD = Number(process.env.BENCH_INGEST_PAD ?? 0);
const BATCHES = Number(process.env.BENCH_INGEST_BATCHES ?? 32);

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
      ...(PAD > 0 ? { padding: "x".repeat(PAD) } : {}),
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

/** PIDs of the workerd processes this Node process started (Linux /proc; empty elsewhere). */
function workerdPids() {
  if (!existsSync("/proc/self/stat")) return new Set();
  const pids = new Set();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("workerd")) pids.add(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/**
 * CPU time (ms) the process has used so far, NaN when unknown: the sum over its threads of the
 * scheduler's run time (`/proc/<pid>/task/<tid>/schedstat`, nanoseconds). `/proc/<pid>/stat`
 * counts in 10 ms ticks, which over a round of 200 deliveries quantises the per-delivery figure
 * to 0.05 ms, as much as the differences the bench is after.
 */
function cpuMs(pid) {
  if (!pid) return NaN;
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended while we looked.
    }
  }
  return ns / 1e6;
}

/** Starts a Worker with `start()` and finds the workerd process it spawned. */
async function withPid(start) {
  const before = workerdPids();
  const handle = await start();
  const pid = [...workerdPids()].find((p) => !before.has(p));
  return { ...handle, pid };
}

async function level({ url, pid }, list, senders) {
  const cpuBefore = cpuMs(pid);
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
  return { rps: list.length / seconds, p50: pct(50), p99: pct(99), cpu: (cpuMs(pid) - cpuBefore) / list.length };
}

/** Bundles the plain-JS Worker `file` (tests/bench/) and starts it in its own workerd. */
async function startPlain(dir, file, name, durableObjects, bindings) {
  const scriptPath = join(dir, `${name}.mjs`);
  await esbuild.build({
    entryPoints: [join(here, file)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    outfile: scriptPath,
    logLevel: "warning",
  });
  const mf = new Miniflare({
    modules: true,
    modulesRoot: dir,
    scriptPath,
    compatibilityDate: "2026-07-01",
    durableObjects,
    durableObjectsPersist: join(dir, `${name}-state`),
    bindings: { WEBHOOK_SECRET: SECRET, ...bindings },
    host: "127.0.0.1",
    port: 0,
  });
  const url = (await mf.ready).toString();
  return { url: new URL("/webhooks/aistats", url).toString(), stop: () => mf.dispose() };
}

const startReference = (dir) =>
  startPlain(dir, "ingest-reference-worker.mjs", "reference", { REF_LEDGER: { className: "RefLedger", useSQLite: true } }, {});

const startEqualWork = (dir) =>
  startPlain(
    dir,
    "ingest-equal-work-worker.mjs",
    "equal-work",
    { EQ_LEDGER: { className: "EqLedger", useSQLite: true }, EQ_INDEX: { className: "EqIndex", useSQLite: true } },
    // The same polling settings as batchhook's below: the first poll is set, never due.
    { POLL_MIN_MS: "3600000", POLL_MAX_MS: "3600000" },
  );

export default async function run() {
  const dir = mkdtempSync(join(process.env.BENCH_INGEST_DIR ?? tmpdir(), "batchhook-ingest-bench-"));
  const ours = await withPid(async () => {
    const worker = await startWorker({
      persistDir: join(dir, "batchhook-state"),
      bindings: { WEBHOOK_SECRETS: SECRET, GATEWAY_URL: "http://127.0.0.1:9", POLL_MIN_MS: "3600000", POLL_MAX_MS: "3600000" },
      // The reference has no static assets in front of it; neither does batchhook here.
      assets: false,
    });
    return { url: new URL("/webhooks/aistats", worker.url).toString(), stop: () => worker.stop() };
  });
  const reference = await withPid(() => startReference(dir));
  const equalWork = await withPid(() => startEqualWork(dir));
  const targets = [
    ["batchhook", ours],
    ["reference", reference],
    ["equal-work", equalWork],
  ];
  const rows = [];
  try {
    // Warm every Worker (isolate start, wasm compile, Durable Object creation) outside the timing.
    for (const [name, target] of targets) await level(target, deliveries(`warm_${name}`, 64), 4);
    for (const senders of LEVELS) {
      const runs = Object.fromEntries(targets.map(([name]) => [name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        // Rotate which goes first so none always meets a warmer (or busier) machine.
        const shift = (round + senders) % targets.length;
        const order = [...targets.slice(shift), ...targets.slice(0, shift)];
        for (const [name, target] of order) {
          runs[name].push(await level(target, deliveries(`${name}_${senders}_${round}`, REQUESTS), senders));
        }
      }
      rows.push({ senders, ...runs });
    }
  } finally {
    await ours.stop();
    await reference.stop();
    await equalWork.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (n, d = 1) => n.toFixed(d).padStart(8);
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const med = (runs, key) => median(runs.map((r) => r[key]));
  const bodyBytes = deliveries("size", 1)[0].body.length;
  console.log(
    `ingest: ${ROUNDS} rounds × ${REQUESTS} fresh signed deliveries (${bodyBytes} B bodies) per level, ${BATCHES} batches, local workerd (miniflare); medians over rounds`,
  );
  console.log("senders | batchhook req/s   p50 ms   p99 ms  cpu ms | reference req/s   p50 ms   p99 ms  cpu ms | throughput ×  p99 ×  cpu ×");
  const side = (runs) => `${f(med(runs, "rps"))}       ${f(med(runs, "p50"))} ${f(med(runs, "p99"))} ${f(med(runs, "cpu"), 2)}`;
  const ratio = (a, b, key) => median(a.map((x, i) => x[key] / b[i][key]));
  const ratios = (a, b) => `${f(ratio(a, b, "rps"), 2)}  ${f(ratio(a, b, "p99"), 2)} ${f(ratio(a, b, "cpu"), 2)}`;
  for (const r of rows) {
    console.log(`${String(r.senders).padStart(7)} | ${side(r.batchhook)} | ${side(r.reference)} | ${ratios(r.batchhook, r.reference)}`);
  }
  console.log("(cpu ms: workerd process CPU time per delivery, Worker and Durable Object together, from /proc;");
  console.log(" ratios: median of the per-round batchhook/reference ratios; throughput × > 1, p99 × < 1 and cpu × < 1 favour batchhook)");
  console.log("");
  console.log("fairness check: batchhook against the equal-work reference (plain JS doing the same storage work as batchhook's ledger)");
  console.log("senders | batchhook req/s   p50 ms   p99 ms  cpu ms | equal-work req/s  p50 ms   p99 ms  cpu ms | throughput ×  p99 ×  cpu ×");
  for (const r of rows) {
    console.log(`${String(r.senders).padStart(7)} | ${side(r.batchhook)} | ${side(r["equal-work"])} | ${ratios(r.batchhook, r["equal-work"])}`);
  }
  console.log("(same rounds as above; ratios: median of the per-round batchhook/equal-work ratios, read as above)");
  console.log("");
  console.log("what the ledger's work costs in plain JS: equal-work ÷ reference, same rounds");
  console.log("senders | throughput ×  p99 ×  cpu ×");
  for (const r of rows) {
    console.log(`${String(r.senders).padStart(7)} | ${ratios(r["equal-work"], r.reference)}`);
  }
}
