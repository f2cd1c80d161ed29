// The reference the ingest bench compares batchhook with: a plain-JS Worker doing the same job
// the obvious way — npm `standardwebhooks` to verify, the batch id from the parsed payload, and
// the same Durable Object SQLite insert keyed by webhook-id before answering 2xx.
// Bundled by tests/bench/ingest.bench.mjs with esbuild; never deployed.
import { DurableObject } from "cloudflare:workers";
import { hex, verifiedDelivery } from "./ingest-plain-intake.mjs";

export class RefLedger extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS deliveries (
         webhook_id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, signed_at INTEGER,
         event_type TEXT, payload_status TEXT, body_sha256 TEXT NOT NULL, size INTEGER NOT NULL,
         outcome TEXT NOT NULL)`,
    );
  }

  async fetch(request) {
    const facts = JSON.parse(request.headers.get("x-facts"));
    const cursor = this.ctx.storage.sql.exec(
      `INSERT OR IGNORE INTO deliveries (webhook_id, received_at, signed_at, event_type, payload_status, body_sha256, size, outcome)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'applied')`,
      facts.id, facts.received_at, facts.signed_at, facts.type, facts.status, facts.sha256, facts.size,
    );
    return Response.json({ webhook_id: facts.id, outcome: cursor.rowsWritten > 0 ? "applied" : "duplicate" });
  }
}

export default {
  async fetch(request, env) {
    if (request.method !== "POST") return Response.json({ error: { code: "method_not_allowed" } }, { status: 405 });
    const body = await request.text();
    const { refusal, payload, batchId } = verifiedDelivery(request, body, env.WEBHOOK_SECRET);
    if (refusal) return refusal;
    const bytes = new TextEncoder().encode(body);
    const facts = {
      id: request.headers.get("webhook-id"),
      received_at: Date.now(),
      signed_at: Number(request.headers.get("webhook-timestamp")),
      type: payload.type ?? null,
      status: payload.lifecycle_status ?? payload.data?.status ?? null,
      sha256: hex(await crypto.subtle.digest("SHA-256", bytes)),
      size: bytes.length,
    };
    const stub = env.REF_LEDGER.get(env.REF_LEDGER.idFromName(batchId));
    return stub.fetch("https://do/deliveries", { method: "POST", headers: { "x-facts": JSON.stringify(facts) }, body });
  },
};
