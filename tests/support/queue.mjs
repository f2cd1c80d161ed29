// A downstream consumer of batchhook's result fan-out, for tests: a tiny queue consumer Worker
// (run in the same workerd as batchhook, see `startWorker({ queue })`) that forwards every
// message it receives to a collector HTTP server in this Node process. The collector lives
// outside workerd, so it keeps counting across a workerd restart.
import { createServer } from "node:http";

// The consumer Worker: posts each batch's message bodies (with the queue's message id and
// attempt number) to COLLECTOR_URL; a failed post throws, so the queue retries the batch.
const CONSUMER_SCRIPT = `
export default {
  async queue(batch, env) {
    const received = batch.messages.map((m) => ({ queue_id: m.id, attempts: m.attempts, body: m.body }));
    const res = await fetch(env.COLLECTOR_URL, { method: "POST", body: JSON.stringify(received) });
    if (!res.ok) throw new Error("collector answered " + res.status);
  },
};
`;

/**
 * Starts the collector. `received` holds every message in arrival order; `byId` counts
 * arrivals per message `id` (batchhook's stable idempotency id).
 */
export async function startCollector() {
  const received = [];
  const byId = new Map();
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      for (const m of JSON.parse(text)) {
        received.push(m);
        byId.set(m.body.id, (byId.get(m.body.id) ?? 0) + 1);
      }
      res.end("ok");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  return {
    url,
    received,
    byId,
    /** Messages of one batch, in arrival order. */
    forBatch: (batchId) => received.filter((m) => m.body.batch_id === batchId),
    /** Arrivals beyond the first, per batch. */
    duplicates(batchId) {
      const ids = received.filter((m) => m.body.batch_id === batchId).map((m) => m.body.id);
      return ids.length - new Set(ids).size;
    },
    /** The `queue` option of `startWorker`/`startApi` delivering to this collector. */
    queueOption({ maxBatchSize = 100, maxBatchTimeout = 0 } = {}) {
      return {
        consumer: { name: "fanout-consumer", modules: true, script: CONSUMER_SCRIPT, bindings: { COLLECTOR_URL: url } },
        consumerOptions: { maxBatchSize, maxBatchTimeout, maxRetries: 10 },
      };
    },
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}
