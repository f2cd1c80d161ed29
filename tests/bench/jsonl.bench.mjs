// JSONL validation throughput: batchhook's wasm (dist/client, built by
// `node scripts/build.mjs client`) against a straightforward JS validator (JSON.parse per line
// plus the same checks), on the same generated 50,000-row batch input. Prints MB/s (1 MB =
// 1e6 bytes). Every case runs once per round, rounds interleaved; the table shows each case's
// median and best round. The target is judged on best rounds: on a shared machine the best
// round is the one least disturbed by other processes, the median is shown for honesty. Both
// validators must agree on the row and error counts, or the bench fails.
//
//   node scripts/bench.mjs jsonl        (or: node tests/bench/jsonl.bench.mjs)
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ENDPOINT = "/v1/chat/completions";
const ROWS = 50_000;
const RUNS = 11;
const MAX_LISTED = 100;

/** A deterministic batch input: realistic chat rows, ~1 in 500 broken in some way. */
export function generate(rows) {
  let seed = 0x2545f491;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const words = ["batch", "résumé", "latency", "日本語", "token", "emoji 😀", "reconcile", "webhook", "cache", "naïve", "throughput", "\"quoted\"", "line\\nbreak"];
  const sentence = (n) => Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]).join(" ");
  const lines = [];
  for (let i = 0; i < rows; i++) {
    const body = {
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: "You are a careful assistant. " + sentence(8) },
        { role: "user", content: sentence(20 + Math.floor(rand() * 80)) },
      ],
      max_tokens: 256,
      temperature: Math.round(rand() * 100) / 100,
    };
    const row = { custom_id: `request-${i}`, method: "POST", url: ENDPOINT, body };
    const fault = rand() < 0.002 ? Math.floor(rand() * 4) : -1;
    if (fault === 0) row.method = "GET";
    if (fault === 1) delete row.body.model;
    if (fault === 2) row.custom_id = `request-${i - 1}`;
    let line = JSON.stringify(row);
    if (fault === 3) line = line.slice(0, -1);
    lines.push(line);
  }
  return lines.join("\n") + "\n";
}

/** The straightforward JS validator: the same rules as the core, one JSON.parse per line. */
function validateJs(text, endpoint) {
  const errors = [];
  let errorCount = 0;
  let invalidRows = 0;
  let rows = 0;
  const seen = new Map();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.trim() === "") continue;
    rows++;
    const n = i + 1;
    const before = errorCount;
    const error = (message) => {
      errorCount++;
      if (errors.length < MAX_LISTED) errors.push({ row: n, error: message });
    };
    let value;
    try {
      value = JSON.parse(line);
    } catch (e) {
      error(`row is not valid JSON: ${e.message}`);
      invalidRows++;
      continue;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      error("row must be a JSON object");
    } else {
      const id = value.custom_id;
      if (typeof id !== "string" || id === "") error("custom_id must be a non-empty string");
      else if (seen.has(id)) error(`custom_id ${JSON.stringify(id)} is already used by row ${seen.get(id)}`);
      else seen.set(id, n);
      if (value.method !== "POST") error('method must be "POST"');
      if (value.url !== endpoint) error("url does not match the batch endpoint");
      const body = value.body;
      if (body === null || typeof body !== "object" || Array.isArray(body)) error("body must be a JSON object");
      else if (typeof body.model !== "string" || body.model === "") error("body.model must be a non-empty string");
    }
    if (errorCount > before) invalidRows++;
  }
  return { rows, invalid_rows: invalidRows, error_count: errorCount, errors };
}

async function loadWasm() {
  const glue = join(root, "dist", "client", "client_wasm.js");
  const binary = join(root, "dist", "client", "client_wasm_bg.wasm");
  if (!existsSync(glue) || !existsSync(binary)) {
    throw new Error("dist/client is missing: run `node scripts/build.mjs client` first");
  }
  const wasm = await import(pathToFileURL(glue).href);
  wasm.initSync({ module: readFileSync(binary) });
  for (const name of ["validateJsonlBytes", "JsonlValidator"]) {
    if (!(name in wasm)) throw new Error(`dist/client does not export ${name}: rebuild with the browser feature`);
  }
  return wasm;
}

/** Runs every case once per round, rounds interleaved so a noisy neighbour hits all cases
 * alike; keeps each case's median and best time. */
function measure(cases) {
  const times = cases.map(() => []);
  const results = [];
  for (let round = -2; round < RUNS; round++) {
    cases.forEach(([, fn], i) => {
      const start = performance.now();
      results[i] = fn();
      if (round >= 0) times[i].push(performance.now() - start);
    });
  }
  return cases.map(([name], i) => {
    const sorted = times[i].sort((a, b) => a - b);
    return { name, ms: sorted[Math.floor(sorted.length / 2)], best: sorted[0], result: results[i] };
  });
}

export default async function run() {
  const wasm = await loadWasm();
  const text = generate(ROWS);
  const bytes = new TextEncoder().encode(text);
  const mb = bytes.length / 1e6;
  const chunk = 1 << 20;

  const cases = [
    ["JS: JSON.parse per line (given a string)", () => validateJs(text, ENDPOINT)],
    ["JS: decode bytes + JSON.parse per line", () => validateJs(new TextDecoder().decode(bytes), ENDPOINT)],
    ["wasm: validateJsonlBytes (whole Uint8Array)", () => wasm.validateJsonlBytes(bytes, ENDPOINT)],
    [
      "wasm: JsonlValidator, 1 MiB chunks",
      () => {
        const v = new wasm.JsonlValidator(ENDPOINT);
        for (let i = 0; i < bytes.length; i += chunk) v.feed(bytes.subarray(i, i + chunk));
        const report = v.finish();
        v.free();
        return report;
      },
    ],
  ];
  if (typeof wasm.validateJsonl === "function") {
    cases.push(["wasm: validateJsonl (string in)", () => wasm.validateJsonl(text, ENDPOINT)]);
  }

  const results = measure(cases);
  const [baseline] = results;
  for (const r of results) {
    const a = r.result;
    const b = baseline.result;
    if (a.rows !== b.rows || a.error_count !== b.error_count || a.invalid_rows !== b.invalid_rows) {
      throw new Error(`${r.name} disagrees with the JS validator: ${JSON.stringify([a.rows, a.invalid_rows, a.error_count])} vs ${JSON.stringify([b.rows, b.invalid_rows, b.error_count])}`);
    }
  }

  console.log(`JSONL validation: ${ROWS} rows, ${mb.toFixed(1)} MB, ${baseline.result.error_count} bad rows; ${RUNS} interleaved rounds (Node ${process.versions.node})`);
  const pad = Math.max(...results.map((r) => r.name.length));
  const head = ["median ms", "MB/s", "best ms", "MB/s", "best vs JS"];
  console.log(`${"validator".padEnd(pad)}  ${head.map((h) => h.padStart(10)).join("  ")}`);
  for (const r of results) {
    const cells = [
      r.ms.toFixed(1),
      (mb / (r.ms / 1000)).toFixed(1),
      r.best.toFixed(1),
      (mb / (r.best / 1000)).toFixed(1),
      `${(baseline.best / r.best).toFixed(2)}x`,
    ];
    console.log(`${r.name.padEnd(pad)}  ${cells.map((c) => c.padStart(10)).join("  ")}`);
  }
  const ours = results.find((r) => r.name.startsWith("wasm: validateJsonlBytes"));
  const ratio = baseline.best / ours.best;
  console.log(`target: wasm bytes >= 1.5x the JS string validator (best rounds) -> ${ratio.toFixed(2)}x ${ratio >= 1.5 ? "(met)" : "(NOT met)"}; medians ${(baseline.ms / ours.ms).toFixed(2)}x`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
