// The Durable Object path under the real workerd runtime: a BatchLedger with SQLite storage
// and an alarm, whose state and pending alarm survive a workerd restart on the same
// persistence directory. Uses the worker's test routes (var BATCHHOOK_TEST_ROUTES=1):
//   POST /_test/ledger/:name/alarm {"in_ms"}  schedules the ledger's alarm
//   GET  /_test/ledger/:name                  {"alarm_runs","alarm_pending","schema_version"}
//   GET  /_test/index/test/schema             the index's applied migrations and tables
//   POST /_test/index/test/legacy-schema      gives the index the older two-table version record
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startWorker, waitFor } from "../support/worker.mjs";

let worker;

before(async () => {
  worker = await startWorker({ bindings: { BATCHHOOK_TEST_ROUTES: "1" } });
});

after(async () => {
  await worker?.stop();
});

async function ledger(name) {
  const res = await worker.fetch(`/_test/ledger/${name}`);
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

async function scheduleAlarm(name, inMs) {
  const res = await worker.fetch(`/_test/ledger/${name}/alarm`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ in_ms: inMs }),
  });
  assert.equal(res.status, 200, await res.clone().text());
}

test("a fresh ledger has its SQLite schema and no alarm", async () => {
  const state = await ledger("fresh");
  assert.equal(state.alarm_runs, 0);
  assert.equal(state.alarm_pending, null);
  assert.ok(state.schema_version >= 1, `schema_version ${state.schema_version}`);
});

test("an alarm fires and its SQLite write is visible afterwards", async () => {
  await scheduleAlarm("fires", 100);
  const state = await waitFor(async () => {
    const s = await ledger("fires");
    return s.alarm_runs === 1 && s;
  }, { what: "the alarm to run once" });
  assert.equal(state.alarm_pending, null);
});

test("ledger state survives a workerd restart on the same persistence dir", async () => {
  await scheduleAlarm("survives", 50);
  await waitFor(async () => (await ledger("survives")).alarm_runs === 1, { what: "the first alarm" });

  await worker.restart();

  const state = await ledger("survives");
  assert.equal(state.alarm_runs, 1);
  assert.ok(state.schema_version >= 1);
});

test("an alarm set before a stop fires after the restart", async () => {
  await scheduleAlarm("pending", 2_000);
  const before = await ledger("pending");
  assert.equal(before.alarm_runs, 0, "alarm must not have fired before the stop");
  assert.notEqual(before.alarm_pending, null, "alarm must be pending before the stop");

  await worker.halt();
  await worker.start(Number(new URL(worker.url).port));

  const state = await waitFor(async () => {
    const s = await ledger("pending");
    return s.alarm_runs === 1 && s;
  }, { timeoutMs: 15_000, what: "the alarm scheduled before the restart" });
  assert.equal(state.alarm_pending, null);
});

test("ledgers are isolated per name", async () => {
  assert.equal((await ledger("isolated-other")).alarm_runs, 0);
});

test("an index whose operator-API tables were versioned in their own table adopts that record on restart", async () => {
  const schema = async () => {
    const res = await worker.fetch("/_test/index/test/schema");
    assert.equal(res.status, 200, await res.clone().text());
    return res.json();
  };
  const fresh = await schema();
  assert.deepEqual(fresh.versions, [1, 2, 3]);
  assert.ok(!fresh.tables.includes("api_schema"), fresh.tables.join());

  const res = await worker.fetch("/_test/index/test/legacy-schema", { method: "POST" });
  assert.equal(res.status, 200, await res.clone().text());
  const legacy = await res.json();
  assert.deepEqual(legacy.versions, [1]);
  assert.ok(legacy.tables.includes("api_schema"));

  // A new instance applies migrations: without adopting the old record it would run v3's
  // ALTER TABLE again and fail on the existing column.
  await worker.restart();
  const adopted = await schema();
  assert.deepEqual(adopted.versions, [1, 2, 3]);
  assert.ok(!adopted.tables.includes("api_schema"), adopted.tables.join());
  assert.equal((await worker.fetch("/_test/index/batches")).status, 200);
});
