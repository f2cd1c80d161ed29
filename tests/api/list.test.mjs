// GET /v1/batches from the BatchIndex across 260 batches: the reference's limit rules, status
// filters with aliases, cursor paging that sees every batch exactly once, newest first.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { BETA, jsonlRows, startApi, waitFor } from "./helpers.mjs";

const COUNT = 260;
const WAVE = 13;
let stack;
let created = []; // oldest first
const waves = []; // ids of each wave of concurrent creates, oldest wave first
let expected; // id -> final status
const figures = {};

before(async () => {
  // Slow polling keeps 260 ledgers from flooding the emulator; webhooks carry the changes.
  // At 100x a 24h completion window lasts 14 real minutes, so the long-running batches stay
  // in progress for the whole test.
  stack = await startApi({ speed: 100, bindings: { POLL_MIN_MS: "2000", POLL_MAX_MS: "10000" } });
  const file = (await stack.upload(jsonlRows(2))).body.id;
  const kinds = ["complete", "fail", "complete", "expire", "run"];
  const started = Date.now();
  for (let i = 0; i < COUNT; i += WAVE) {
    const wave = [];
    for (let j = i; j < Math.min(i + WAVE, COUNT); j++) {
      const kind = kinds[j % kinds.length];
      const metadata = { n: String(j) };
      if (kind === "fail") metadata["emulator.fail"] = "validating";
      if (kind === "expire") metadata["emulator.expire"] = "1";
      if (kind === "run") metadata["emulator.run_s"] = "100000000";
      wave.push(
        stack.call("POST", "/v1/batches", {
          body: { input_file_id: file, endpoint: "/v1/chat/completions", completion_window: "24h", metadata },
        }),
      );
    }
    // Created one wave at a time, so the order of waves (the list order) is known.
    const ids = new Set();
    for (const res of await Promise.all(wave)) {
      assert.equal(res.status, 200, res.text);
      ids.add(res.body.id);
    }
    waves.push(ids);
  }
  figures.create_ms = Date.now() - started;
  // List order is registration order: waves newest first; inside a wave, the order in which
  // the concurrent creates landed.
  const all = await pageAll("/v1/batches?limit=100");
  created = all.reverse();
  let at = 0;
  for (const ids of waves) {
    const slice = created.slice(at, at + ids.size).map((b) => b.id);
    assert.deepEqual(new Set(slice), ids, "waves are listed in creation order");
    at += ids.size;
  }
  assert.equal(at, COUNT);
  expected = new Map();
  await waitFor(
    async () => {
      for (const b of created) {
        if (expected.has(b.id)) continue;
        const up = (await stack.emu.api("GET", `/v1/batches/${b.id}`)).body;
        if (["completed", "failed", "expired"].includes(up.status) || b.metadata["emulator.run_s"]) {
          expected.set(b.id, up.status === "in_progress" || up.status === "validating" ? "in_progress" : up.status);
        }
      }
      return expected.size === COUNT;
    },
    { timeoutMs: 60_000, intervalMs: 200, what: "every batch settled upstream" },
  );
  // Wait until the index agrees with the emulator for every settled batch.
  let behind = [];
  await waitFor(
    async () => {
      const listed = await pageAll("/v1/batches?limit=100");
      behind = listed.filter((b) => b.status !== expected.get(b.id)).map((b) => [b.id, b.status, expected.get(b.id)]);
      return behind.length === 0;
    },
    { timeoutMs: 90_000, intervalMs: 500, what: "the index to converge" },
  ).catch((e) => {
    throw new Error(`${e.message}; behind: ${JSON.stringify(behind.slice(0, 5))} (${behind.length})`);
  });
}, { timeout: 240_000 });
after(async () => {
  console.log(`# list figures: ${JSON.stringify(figures)}`);
  await stack?.stop();
});

async function pageAll(path, token) {
  const out = [];
  let url = path;
  for (let pages = 0; pages < 100; pages++) {
    const res = await stack.call("GET", url, { token });
    assert.equal(res.status, 200, res.text);
    out.push(...res.body.data);
    if (!res.body.has_more) return out;
    assert.equal(res.body.last_id, res.body.data.at(-1).id);
    const u = new URL(url, "http://x");
    u.searchParams.set("after", res.body.last_id);
    url = u.pathname + u.search;
  }
  throw new Error("too many pages");
}

test("the default page is 20 newest-first batches in the list envelope", { timeout: 30_000 }, async () => {
  const res = await stack.call("GET", "/v1/batches");
  assert.equal(res.body.object, "list");
  assert.equal(res.body.data.length, 20);
  assert.equal(res.body.has_more, true);
  const newest = created.slice(-20).reverse().map((b) => b.id);
  assert.deepEqual(res.body.data.map((b) => b.id), newest);
  assert.equal(res.body.first_id, newest[0]);
  assert.equal(res.body.last_id, newest[19]);
});

test("limit is 1..=100 and anything else is a 400 naming the range", { timeout: 30_000 }, async () => {
  assert.equal((await stack.call("GET", "/v1/batches?limit=1")).body.data.length, 1);
  assert.equal((await stack.call("GET", "/v1/batches?limit=100")).body.data.length, 100);
  for (const bad of ["0", "101", "-1", "abc", "1e2"]) {
    const res = await stack.call("GET", `/v1/batches?limit=${bad}`);
    assert.equal(res.status, 400, bad);
    assert.equal(res.body.error.code, "invalid_limit");
    assert.match(res.body.error.message, /1 to 100/);
  }
});

test("paging with after visits every batch exactly once, newest first", { timeout: 60_000 }, async () => {
  for (const limit of [100, 37, 7]) {
    const started = Date.now();
    const all = await pageAll(`/v1/batches?limit=${limit}`);
    figures[`page_all_limit_${limit}_ms`] = Date.now() - started;
    assert.equal(all.length, COUNT);
    assert.deepEqual(all.map((b) => b.id), created.map((b) => b.id).reverse());
  }
  const bad = await stack.call("GET", "/v1/batches?after=batch_unknown");
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, "invalid_cursor");
  assert.deepEqual((await stack.call("GET", "/v1/batches", { token: BETA })).body.data, []);
});

test("status filters accept aliases, repeats, commas and statuses=, and page exactly", { timeout: 60_000 }, async () => {
  const want = (...statuses) => created.filter((b) => statuses.includes(expected.get(b.id))).map((b) => b.id).reverse();
  const cases = [
    ["status=completed", ["completed"]],
    ["status=failed", ["failed"]],
    ["status=expired", ["expired"]],
    ["status=running", ["in_progress"]],
    ["status=processing", ["in_progress"]],
    ["status=in_progress", ["in_progress"]],
    ["status=failed&status=expired", ["failed", "expired"]],
    ["status=failed,expired", ["failed", "expired"]],
    ["statuses=completed,canceled", ["completed", "cancelled"]],
    ["status=queued", ["pending"]],
  ];
  for (const [query, statuses] of cases) {
    const got = await pageAll(`/v1/batches?limit=25&${query}`);
    assert.deepEqual(got.map((b) => b.id), want(...statuses), query);
    assert.ok(got.every((b) => statuses.includes(b.status)), query);
  }
  figures.completed = want("completed").length;
  figures.failed = want("failed").length;
  figures.expired = want("expired").length;
  figures.in_progress = want("in_progress").length;
  const unknown = await stack.call("GET", "/v1/batches?status=done");
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error.code, "invalid_status");
});
