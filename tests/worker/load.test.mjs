// Load: 2,000 distinct signed deliveries over 50 emulator batches, sent by 16 concurrent
// senders in shuffled order with duplicates (2,600 requests). Every delivery must be accounted
// for exactly once (one row per webhook-id, its retries counted), and every batch's final state
// must equal the emulator's. Bounded: the test fails if it does not finish within its timeout.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createBatch } from "../support/emulator.mjs";
import { send, startStack, TERMINAL } from "./helpers.mjs";

const BATCHES = 50;
const PER_BATCH = 40;
const SENDERS = 16;
let stack;

before(async () => {
  stack = await startStack({ speed: 1000, seed: 5, bindings: { POLL_MIN_MS: "200", POLL_MAX_MS: "2000" } });
});

after(async () => {
  await stack?.stop();
});

/** A deterministic shuffle (xorshift) so a failure can be replayed. */
function shuffle(list, seed = 42) {
  let x = seed;
  const next = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

test("2,000 deliveries over 50 batches from 16 concurrent senders are each applied exactly once", { timeout: 180_000 }, async () => {
  const batches = [];
  for (let i = 0; i < BATCHES; i++) {
    batches.push(await createBatch(stack.emu, { rows: 3, metadata: { "load.index": String(i) } }));
  }
  const finals = await Promise.all(
    batches.map(async (b) => {
      for (;;) {
        const res = await stack.emu.api("GET", `/v1/batches/${b.id}`);
        if (res.status === 200 && TERMINAL.has(res.body.status)) return res.body;
        await new Promise((r) => setTimeout(r, 20));
      }
    }),
  );

  // Per batch: 39 progress events (in_progress, counts growing) and the terminal event with the
  // emulator's final object. Every 4th delivery is sent twice, every 10th three times.
  const deliveries = [];
  for (const final of finals) {
    for (let k = 0; k < PER_BATCH; k++) {
      const terminal = k === PER_BATCH - 1;
      const data = terminal
        ? final
        : { id: final.id, object: "batch", status: "in_progress", request_counts: { total: 3, completed: Math.min(2, k % 3), failed: 0 } };
      const id = `msg_load_${final.id}_${k}`;
      const payload = {
        id: `evt_${id}`,
        object: "event",
        type: terminal ? `batch.${final.status}` : "batch.progress",
        created_at: Math.floor(Date.now() / 1000),
        job_id: final.id,
        lifecycle_status: data.status,
        data,
      };
      const copies = k % 10 === 0 ? 3 : k % 4 === 0 ? 2 : 1;
      for (let c = 0; c < copies; c++) deliveries.push({ id, batch: final.id, payload });
    }
  }
  const distinct = new Set(deliveries.map((d) => d.id));
  assert.equal(distinct.size, BATCHES * PER_BATCH);
  assert.ok(deliveries.length >= 2_500, `${deliveries.length} requests`);
  const queue = shuffle(deliveries);

  const answers = new Map();
  let cursor = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (cursor < queue.length) {
        const d = queue[cursor++];
        let res;
        // A 503 asks the sender to retry; anything else is final.
        for (let attempt = 0; attempt < 5; attempt++) {
          res = await send(stack.worker, stack.secret, d.id, d.payload);
          if (res.status !== 503) break;
        }
        assert.equal(res.status, 200, `${d.id}: ${res.text}`);
        const list = answers.get(d.id) ?? [];
        list.push(res.body.outcome);
        answers.set(d.id, list);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(`# load: ${queue.length} requests (${distinct.size} distinct) in ${seconds.toFixed(1)} s with ${SENDERS} senders`);

  for (const [id, outcomes] of answers) {
    const firsts = outcomes.filter((o) => o !== "duplicate");
    assert.equal(firsts.length, 1, `${id} was processed as new ${firsts.length} times: ${outcomes}`);
  }

  let rows = 0;
  for (const final of finals) {
    const view = await stack.waitView(final.id, (v) => v.status === final.status && v.batchhook?.polling?.active === false, {
      timeoutMs: 30_000,
      what: `${final.id} to settle at ${final.status}`,
    });
    const mine = view.batchhook.deliveries;
    rows += mine.length;
    assert.equal(mine.length, PER_BATCH, `${final.id} has ${mine.length} delivery rows`);
    for (const row of mine) {
      const sent = deliveries.filter((d) => d.id === row.webhook_id).length;
      assert.equal(row.duplicates, sent - 1, `${row.webhook_id} duplicates`);
    }
    assert.equal(view.status, final.status);
    assert.deepEqual(view.request_counts, final.request_counts);
    assert.equal(view.output_file_id ?? null, final.output_file_id ?? null);
    let last = -1;
    const rank = (s) => ({ pending: 0, in_progress: 1, cancelling: 2 })[s] ?? 3;
    for (const t of view.batchhook.timeline) {
      assert.ok(rank(t.to_status) >= last, `${final.id} went backwards`);
      last = rank(t.to_status);
    }
  }
  assert.equal(rows, BATCHES * PER_BATCH, "every delivery accounted for exactly once");
});
