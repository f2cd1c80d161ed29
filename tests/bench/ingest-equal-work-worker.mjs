// The ingest bench's second reference: a plain-JS Worker doing the SAME storage work as
// batchhook's ledger, statement for statement, written the obvious plain-JS way. It exists as a
// fairness check: the first reference (ingest-reference-worker.mjs, one INSERT per delivery)
// stays the yardstick, but the job batchhook must do (timeline, outbox → index listing,
// ledger state, polling for a batch first seen by webhook, a versioned schema) is much more than
// one insert, so this Worker shows how batchhook compares with JavaScript doing that same job.
// Bundled by tests/bench/ingest.bench.mjs with esbuild; never deployed.
//
// Mirrored from src/worker/ (migrations.rs, ledger_object.rs, apply.rs, store.rs,
// index_object.rs, api/index.rs, api/ledger.rs): the schema and its migrations table, the SQL of
// every statement, which statements run for which delivery, one transactionSync per delivery, the
// RPC hops (Worker → ledger `deliver`, ledger → index `summaries`), and the after-change hook under
// waitUntil. Where batchhook skips work, this does the same, marked "as batchhook" below. The core
// state machine (src/ledger.rs) and the failure classification are small plain-JS equivalents.
import { DurableObject } from "cloudflare:workers";
import { hex, verifiedDelivery } from "./ingest-plain-intake.mjs";

// --- Schema (src/worker/migrations.rs), applied through schema_migrations as `apply` does. ---

const SCHEMA_MIGRATIONS =
  "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)";

const LEDGER = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE batch (id TEXT PRIMARY KEY, status TEXT, object TEXT NOT NULL, created_at INTEGER,
     updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL);
   CREATE TABLE deliveries (webhook_id TEXT PRIMARY KEY, source TEXT NOT NULL, received_at INTEGER NOT NULL,
     signed_at INTEGER, event_id TEXT, event_type TEXT, payload_status TEXT, body_sha256 TEXT NOT NULL,
     size INTEGER NOT NULL, outcome TEXT NOT NULL, detail TEXT, duplicates INTEGER NOT NULL DEFAULT 0,
     last_duplicate_at INTEGER);
   CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, from_status TEXT, to_status TEXT NOT NULL,
     source TEXT NOT NULL, at INTEGER NOT NULL, ref TEXT);
   CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, summary TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE polls (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, http_status INTEGER,
     outcome TEXT NOT NULL, detail TEXT, next_in_ms INTEGER)`,
  `CREATE TRIGGER outbox_keeps_latest AFTER INSERT ON outbox
   BEGIN DELETE FROM outbox WHERE seq < NEW.seq; END`,
  `CREATE TABLE IF NOT EXISTS api_rows (n INTEGER PRIMARY KEY AUTOINCREMENT, custom_id TEXT NOT NULL UNIQUE,
     kind TEXT NOT NULL, line INTEGER NOT NULL, input_row INTEGER, outcome TEXT NOT NULL, status_code INTEGER,
     error_code TEXT, error_message TEXT, request_id TEXT, prompt_tokens INTEGER, completion_tokens INTEGER,
     total_tokens INTEGER, cost_nanos INTEGER, UNIQUE (kind, line))`,
];

const INDEX = [
  `CREATE TABLE batches (id TEXT PRIMARY KEY, status TEXT, created_at INTEGER, updated_at INTEGER NOT NULL,
     object TEXT NOT NULL);
   CREATE INDEX batches_by_created ON batches (created_at DESC, id DESC);
   CREATE TABLE dead_letters (seq INTEGER PRIMARY KEY AUTOINCREMENT, webhook_id TEXT NOT NULL, source TEXT NOT NULL,
     reason TEXT NOT NULL, message TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL,
     received_at INTEGER NOT NULL, replayed_at INTEGER, UNIQUE (webhook_id, source));
   CREATE TABLE rejections (source TEXT NOT NULL, code TEXT NOT NULL, count INTEGER NOT NULL,
     last_at INTEGER NOT NULL, PRIMARY KEY (source, code))`,
  `CREATE TABLE IF NOT EXISTS api_listing (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
     workspace TEXT NOT NULL, status TEXT, updated_at INTEGER NOT NULL, object TEXT NOT NULL);
   CREATE INDEX IF NOT EXISTS api_listing_by_workspace ON api_listing (workspace, seq);
   CREATE TABLE IF NOT EXISTS api_idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, batch_id TEXT,
     reserved_at INTEGER NOT NULL)`,
  "ALTER TABLE api_listing ADD COLUMN paused INTEGER NOT NULL DEFAULT 0",
];

const tableExists = (sql, name) =>
  sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray().length > 0;

/** Applies the migrations newer than the recorded version, in one script; whether it created the schema. */
function migrate(sql, migrations) {
  const exists = tableExists(sql, "schema_migrations");
  const current = exists ? (sql.exec("SELECT MAX(version) AS v FROM schema_migrations").one().v ?? 0) : 0;
  if (!exists || current < migrations.length) {
    const now = Date.now();
    const parts = exists ? [] : [SCHEMA_MIGRATIONS];
    const pending = migrations.slice(current);
    parts.push(...pending);
    if (pending.length > 0) {
      const versions = pending.map((_, i) => `(${current + i + 1}, ${now})`).join(", ");
      parts.push(`INSERT OR IGNORE INTO schema_migrations (version, applied_at) VALUES ${versions}`);
    }
    sql.exec(parts.join(";\n"));
  }
  return !exists;
}

// --- The state machine (src/ledger.rs, src/batch/lifecycle.rs), plain JS. ---

const ALIASES = {
  pending: "pending", queued: "pending", validating: "pending",
  in_progress: "in_progress", running: "in_progress", processing: "in_progress", finalizing: "in_progress",
  paused: "paused", cancelling: "cancelling", canceling: "cancelling", completed: "completed",
  failed: "failed", cancelled: "cancelled", canceled: "cancelled", expired: "expired",
};
const RANK = { pending: 0, in_progress: 1, paused: 1, cancelling: 2, completed: 3, failed: 3, cancelled: 3, expired: 3 };
const known = (raw) => (typeof raw === "string" ? ALIASES[raw.trim().toLowerCase()] : undefined);
const terminal = (status) => RANK[status] === 3;
const lifecycleOf = (batch) => known(batch?.lifecycle_status) ?? known(batch?.status);
const isThin = (batch) => !lifecycleOf(batch) && batch.request_counts == null && batch.output_file_id == null;

function newLedger(batchId) {
  return {
    batch_id: batchId, status: null, status_at: null,
    facts: {
      received: 0, applied: 0, duplicates: 0, stale: 0, reconciles: 0, dead_letters: 0,
      last_received_at: null, last_outcome: null, gateway_attempts: null, gateway_delivered: null,
      gateway_pending_retries: null, last_response_status: null, last_failure_at: null, last_failure_message: null,
    },
  };
}

const newPollState = () => ({
  attempt: 0, next_at: null, consecutive_failures: 0, last_error: null, last_poll_at: null,
  last_http_status: null, last_request_id: null, polls: 0,
});

/** What a delivery not seen before does (LedgerState::decide_delivery). */
function decide(ledger, event, observedAt, webhookId) {
  if (!event) return { outcome: "dead_letter", reason: "invalid_event_payload" };
  if (event.job_id != null && event.data?.id != null && event.job_id !== event.data.id) {
    return { outcome: "dead_letter", reason: "conflicting_batch_ids" };
  }
  const batchId = event.data?.id ?? event.job_id;
  if (batchId !== ledger.batch_id) return { outcome: "dead_letter", reason: batchId ? "wrong_batch" : "missing_batch_id" };
  const observed = known(event.lifecycle_status) ?? lifecycleOf(event.data);
  if (!observed) {
    return terminal(ledger.status) ? { outcome: "stale", reason: "terminal" } : { outcome: "needs_reconcile", reason: "thin" };
  }
  const full = event.data != null && !isThin(event.data);
  const current = ledger.status;
  const newer = ledger.status_at == null || observedAt > ledger.status_at;
  const applied = { outcome: "applied", from: current, to: observed, poll: terminal(observed) && !full, at: observedAt, webhookId };
  if (current == null) return applied;
  if (current === observed) return { outcome: "stale", reason: "unchanged", refresh: newer && full };
  if (terminal(current)) return { outcome: "stale", reason: "terminal" };
  if (RANK[observed] < RANK[current]) return { outcome: "stale", reason: "older" };
  if (RANK[observed] === RANK[current] && !newer) return { outcome: "stale", reason: "older" };
  return applied;
}

/** Counts the decision into the ledger's facts and moves its status (LedgerState::record_delivery). */
function recordDecision(ledger, event, observedAt, receivedAt, decision) {
  const f = ledger.facts;
  f.received += 1;
  f.last_received_at = receivedAt;
  f.last_outcome = decision.outcome;
  const counter = { duplicate: "duplicates", applied: "applied", stale: "stale", needs_reconcile: "reconciles", dead_letter: "dead_letters" };
  f[counter[decision.outcome]] += 1;
  const summary = event?.delivery ?? event?.webhook?.delivery;
  if (summary && decision.outcome !== "duplicate") {
    f.gateway_attempts = summary.total_attempts ?? f.gateway_attempts;
    f.gateway_delivered = summary.delivered_events ?? f.gateway_delivered;
    f.gateway_pending_retries = summary.pending_retries ?? f.gateway_pending_retries;
    f.last_response_status = summary.last_response_status ?? f.last_response_status;
    if (summary.last_failure_at != null) {
      f.last_failure_at = summary.last_failure_at;
      f.last_failure_message = summary.last_error_message ?? null;
    }
  }
  if (decision.outcome === "applied") {
    ledger.status = decision.to;
    ledger.status_at = observedAt;
  } else if (decision.reason === "unchanged") {
    ledger.status_at = Math.max(ledger.status_at ?? observedAt, observedAt);
  }
}

/** Where a failure is, for meta `classification` (reconcile::classify, approximated). */
function classify(batch, cancel, poll) {
  const out = [];
  const counts = batch?.request_counts ?? {};
  const status = lifecycleOf(batch);
  if (status === "failed") {
    out.push({ kind: "upstream_execution", whole_batch: true, message: "the provider failed the batch", failed_requests: counts.failed ?? null, total_requests: counts.total ?? null });
  } else if (status === "completed" && counts.failed > 0) {
    out.push({ kind: "upstream_execution", whole_batch: false, message: `${counts.failed} request(s) failed; see the batch's error file`, failed_requests: counts.failed, total_requests: counts.total ?? null });
  } else if (status === "cancelled") {
    out.push({ kind: "cancelled", by: cancel?.by ?? "unknown", cancel_url_available: cancel?.cancel_url_available ?? null });
  } else if (status === "expired") {
    out.push({ kind: "expired", completed_requests: counts.completed ?? null, total_requests: counts.total ?? null });
  }
  if (poll.consecutive_failures >= 5) {
    out.push({ kind: "reconciliation", consecutive_failures: poll.consecutive_failures, last_error: poll.last_error ?? "" });
  }
  return out;
}

/** The poll delay for `attempt` (reconcile::Schedule::next_delay: within [min, min·2^attempt capped at max]). */
function nextDelay({ min, max }, attempt) {
  const low = Math.min(min, max);
  const high = Math.min(min * 2 ** Math.min(attempt, 31), Math.max(min, max));
  return low + Math.floor(Math.random() * (high - low + 1));
}

// --- SQL, as src/worker/store.rs writes it. ---

const SET_META = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
const UPSERT_BATCH = `INSERT INTO batch (id, status, object, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT(id) DO UPDATE SET status = excluded.status, object = excluded.object,
    created_at = COALESCE(excluded.created_at, batch.created_at),
    updated_at = excluded.updated_at, updated_by = excluded.updated_by`;
/** The stored batch row, if any. */
const storedBatch = (sql) => sql.exec("SELECT status, object, updated_at, updated_by FROM batch LIMIT 1").toArray()[0];
const setMeta = (sql, key, value) => sql.exec(SET_META, key, JSON.stringify(value));
const meta = (sql, key) => {
  const row = sql.exec("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
  return row ? JSON.parse(row.value) : undefined;
};

export class EqLedger extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.schedule = { min: Number(env.POLL_MIN_MS ?? 5000), max: Number(env.POLL_MAX_MS ?? 300000) };
    try {
      // As batchhook: a ledger that created its schema knows its states are empty, so the first
      // delivery skips reading them back.
      this.fresh = ctx.storage.transactionSync(() => migrate(ctx.storage.sql, LEDGER));
    } catch (error) {
      this.schemaError = String(error);
    }
  }

  /** Records and applies one verified delivery (RPC from the Worker); answers what the sender gets. */
  deliver(batchId, facts, body) {
    if (this.schemaError) throw new Error(`the ledger schema could not be applied: ${this.schemaError}`);
    let recorded;
    try {
      recorded = this.record(batchId, facts, body);
    } catch (error) {
      this.afterChangeLater();
      throw error;
    }
    if (recorded.due != null && !recorded.first) {
      return this.wakeAt(recorded.due).then(
        () => this.settle(recorded),
        (error) => {
          this.afterChangeLater();
          throw error;
        },
      );
    }
    if (recorded.due != null) {
      // As batchhook (set_alarm_unawaited): a new ledger has no alarm pending, so the alarm is
      // set without reading it first and without awaiting the write; the output gate holds the
      // answer until it is stored.
      this.ctx.storage.setAlarm(recorded.due).catch(() => {});
    }
    return this.settle(recorded);
  }

  /** The sender's answer; a delivery that may have changed the batch starts the after-change hook. */
  settle(recorded) {
    if (recorded.changed) this.afterChangeLater();
    return recorded.answer;
  }

  record(batchId, facts, body) {
    const sql = this.ctx.storage.sql;
    let event = null;
    try {
      const parsed = JSON.parse(body);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) event = parsed;
    } catch {
      // A body that is no event is dead-lettered by the decision below.
    }
    const now = Date.now();
    const observedAt = facts.signed_at ?? event?.created_at ?? Math.floor(facts.received_at / 1000);
    const fresh = this.fresh;
    this.fresh = false;
    return this.ctx.storage.transactionSync(() => {
      let ledger = newLedger(batchId);
      let poll = newPollState();
      let cancel = null;
      if (!fresh) {
        let stored = false;
        for (const row of sql.exec("SELECT key, value FROM meta WHERE key IN ('ledger', 'poll', 'cancel_request')")) {
          if (row.key === "ledger") [ledger, stored] = [JSON.parse(row.value), true];
          else if (row.key === "poll") poll = JSON.parse(row.value);
          else cancel = JSON.parse(row.value);
        }
        // A ledger stored before its state existed starts from the stored status.
        if (!stored) ledger.status = known(storedBatch(sql)?.status) ?? null;
      }
      const current = ledger.status;
      const unseen = decide(ledger, event, observedAt, facts.webhook_id);
      const data = event?.data;
      const inserted = sql.exec(
        `INSERT OR IGNORE INTO deliveries (webhook_id, source, received_at, signed_at, event_id, event_type,
           payload_status, body_sha256, size, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        facts.webhook_id, facts.source, facts.received_at, facts.signed_at, event?.id ?? null, event?.type ?? null,
        known(event?.lifecycle_status) ?? lifecycleOf(data) ?? null, facts.body_sha256, facts.size,
        unseen.outcome, unseen.reason ?? null,
      ).rowsWritten > 0;
      if (!inserted) {
        sql.exec(
          "UPDATE deliveries SET duplicates = duplicates + 1, last_duplicate_at = ? WHERE webhook_id = ?",
          now, facts.webhook_id,
        );
      }
      const decision = inserted ? unseen : { outcome: "duplicate" };
      recordDecision(ledger, event, observedAt, facts.received_at, decision);
      setMeta(sql, "ledger", ledger);
      const answer = (reason, status) => ({ webhook_id: facts.webhook_id, outcome: decision.outcome, reason, status });
      if (decision.outcome === "duplicate") return { answer: answer(null, current), changed: false, due: null, first: fresh };

      let saved = null;
      if (decision.outcome === "applied") {
        let object = data && !isThin(data) ? data : null;
        if (!object) {
          const stored = storedBatch(sql);
          object = { ...(stored ? JSON.parse(stored.object) : {}), status: decision.to, lifecycle_status: decision.to };
          object.id ??= batchId;
        }
        this.save(sql, batchId, current, decision.to, object, now, facts.webhook_id);
        saved = { status: decision.to, object };
      } else if (decision.outcome === "stale" && decision.refresh && current != null) {
        this.save(sql, batchId, current, current, data, now, facts.webhook_id);
        saved = { status: current, object: data };
      }
      if (current == null) {
        sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('batch_id', ?)", JSON.stringify(batchId));
        if (!saved && storedBatch(sql) === undefined) {
          sql.exec(UPSERT_BATCH, batchId, null, JSON.stringify({ id: batchId }), null, now, "webhook");
        }
      }
      const summary = event?.delivery ?? event?.webhook?.delivery;
      if (summary) setMeta(sql, "webhook_delivery", summary);

      // Polling (apply::ensure_polling_from): a batch first seen by webhook gets its first poll.
      const pollNow = decision.outcome === "needs_reconcile" || (decision.outcome === "applied" && decision.poll);
      const before = poll.next_at;
      let due = before;
      if (pollNow || before == null) {
        let finished;
        if (saved) {
          finished = terminal(saved.status) && !isThin(saved.object);
        } else {
          const row = storedBatch(sql);
          finished = row != null && terminal(known(row.status)) && !isThin(JSON.parse(row.object));
        }
        due = pollNow ? now : finished ? before : (before ?? now + nextDelay(this.schedule, poll.attempt));
        if (due !== before) {
          poll.next_at = due;
          setMeta(sql, "poll", poll);
          const batch = saved ? saved.object : JSON.parse(storedBatch(sql)?.object ?? "{}");
          setMeta(sql, "classification", classify(batch, cancel, poll));
        }
      }
      return {
        answer: answer(decision.reason ?? null, ledger.status),
        changed: decision.outcome !== "stale",
        due: due !== before ? due : null,
        first: fresh,
      };
    });
  }

  /** Stores the batch, appends the timeline entry on a status change and queues the index summary (apply::save). */
  save(sql, batchId, from, status, object, now, ref) {
    const json = JSON.stringify(object);
    const createdAt = Number.isInteger(object.created_at) ? object.created_at : null;
    sql.exec(UPSERT_BATCH, batchId, status, json, createdAt, now, "webhook");
    if (from !== status) {
      sql.exec(
        "INSERT INTO events (from_status, to_status, source, at, ref) VALUES (?, ?, ?, ?, ?)",
        from, status, "webhook", now, ref,
      );
    }
    // As batchhook: the summary embeds the object JSON just written instead of serialising it again.
    const summary = `{"id":${JSON.stringify(batchId)},"status":${JSON.stringify(status)},"created_at":${createdAt},"updated_at":${now},"object":${json}}`;
    sql.exec("INSERT INTO outbox (summary, created_at) VALUES (?, ?)", summary, now);
  }

  /** Sets the alarm to `due` unless one is pending earlier (api::ledger::wake_at). */
  async wakeAt(due) {
    const pending = await this.ctx.storage.getAlarm();
    if (pending == null || pending > due) await this.ctx.storage.setAlarm(due);
  }

  afterChangeLater() {
    this.ctx.waitUntil(this.afterChange().catch((error) => console.warn(`equal-work: after-change failed: ${error}`)));
  }

  /** After a change: the outbox goes to the index, then the operator API's hook (ledger_object::after_change). */
  async afterChange() {
    const flushed = await this.flushOutbox();
    const sql = this.ctx.storage.sql;
    // api::ledger::after_change: push new timeline entries to the operator API's sockets (it
    // stops here when none listen, as in the bench: publishing itself is not mirrored), then
    // make the alarm fire now when the outbox, result ingestion or fan-out has work. Ingestion
    // needs an owner (a batch created through the API) and fan-out a RESULTS_QUEUE binding:
    // the bench has neither, so their further reads are not mirrored.
    this.ctx.getWebSockets();
    const ingestWaiting = meta(sql, "api.owner") !== undefined;
    const fanoutWaiting = this.env.RESULTS_QUEUE !== undefined;
    if (!flushed || ingestWaiting || fanoutWaiting) {
      const pending = await this.ctx.storage.getAlarm();
      if (pending == null || pending > Date.now()) await this.ctx.storage.setAlarm(Date.now());
    }
  }

  /** Sends the queued summaries to the index; false if some remain. */
  async flushOutbox() {
    const sql = this.ctx.storage.sql;
    const rows = sql.exec("SELECT seq, summary FROM outbox ORDER BY seq").toArray();
    if (rows.length === 0) return true;
    const valid = rows.filter((r) => {
      try {
        JSON.parse(r.summary);
        return true;
      } catch {
        return false;
      }
    });
    try {
      const index = this.env.EQ_INDEX.get(this.env.EQ_INDEX.idFromName("index"));
      await index.summaries(`[${valid.map((r) => r.summary).join(",")}]`);
    } catch (error) {
      console.warn(`equal-work: could not reach the index: ${error}`);
      return false;
    }
    sql.exec("DELETE FROM outbox WHERE seq <= ?", rows.at(-1).seq);
    return true;
  }

  /** Never fires in the bench (POLL_MIN_MS is an hour): flushes the outbox and stops, without polling. */
  async alarm() {
    this.fresh = false;
    const sql = this.ctx.storage.sql;
    sql.exec(
      "INSERT INTO meta (key, value) VALUES ('alarm_runs', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
    );
    if (meta(sql, "batch_id") === undefined) return;
    await this.flushOutbox();
  }
}

export class EqIndex extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.transactionSync(() => {
      // batchhook first folds a legacy `api_schema` table into schema_migrations; a bench
      // index never has one, so only the check is mirrored.
      tableExists(ctx.storage.sql, "api_schema");
      migrate(ctx.storage.sql, INDEX);
    });
  }

  /** Upserts a ledger's summaries (a JSON list) in one transaction; an older one never replaces a newer one. */
  summaries(json) {
    const list = JSON.parse(json);
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      for (const s of list) {
        sql.exec(
          `INSERT INTO batches (id, status, created_at, updated_at, object) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET status = excluded.status,
             created_at = COALESCE(excluded.created_at, batches.created_at),
             updated_at = excluded.updated_at, object = excluded.object
           WHERE excluded.updated_at >= batches.updated_at`,
          s.id, s.status ?? null, s.created_at ?? null, s.updated_at, JSON.stringify(s.object),
        );
        // api::index::on_summary: the workspace listing, with the public view of the object.
        const paused = s.paused ?? (sql.exec("SELECT paused FROM api_listing WHERE id = ?", s.id).toArray()[0]?.paused ?? 0) !== 0;
        const status = known(s.status) ?? s.status ?? null;
        const shown = paused && (status == null || !terminal(status)) ? "paused" : status;
        sql.exec(
          `INSERT INTO api_listing (id, workspace, status, paused, updated_at, object) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET status = excluded.status, paused = excluded.paused,
             object = excluded.object, updated_at = excluded.updated_at
           WHERE api_listing.updated_at <= excluded.updated_at`,
          s.id, "", shown, paused ? 1 : 0, s.updated_at, JSON.stringify(publicBatch(s.object)),
        );
      }
    });
    return { upserted: list.length };
  }
}

/** The batch as the operator API shows it (src/public.rs without an API base): no webhook secret. */
function publicBatch(object) {
  if (object?.webhook?.secret === undefined) return object;
  const { secret, ...webhook } = object.webhook;
  return { ...object, webhook };
}

export default {
  async fetch(request, env) {
    const source = new URL(request.url).pathname.match(/^\/webhooks\/([^/]+)$/)?.[1];
    if (!source) return Response.json({ error: { code: "not_found" } }, { status: 404 });
    if (request.method !== "POST") return Response.json({ error: { code: "method_not_allowed" } }, { status: 405 });
    const max = Number(env.MAX_BODY_BYTES ?? 1048576);
    if (Number(request.headers.get("content-length")) > max) {
      return Response.json({ error: { code: "payload_too_large" } }, { status: 413 });
    }
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.length > max) return Response.json({ error: { code: "payload_too_large" } }, { status: 413 });
    const receivedAt = Date.now();
    const body = new TextDecoder().decode(bytes);
    // batchhook dead-letters a verified delivery that names no batch (in the index); the bench
    // sends none, so this answers 400 as the first reference does.
    const { refusal, batchId } = verifiedDelivery(request, body, env.WEBHOOK_SECRET);
    if (refusal) return refusal;
    const facts = {
      webhook_id: request.headers.get("webhook-id"),
      source,
      received_at: receivedAt,
      signed_at: Number(request.headers.get("webhook-timestamp")),
      body_sha256: hex(await crypto.subtle.digest("SHA-256", bytes)),
      size: bytes.length,
    };
    try {
      const stub = env.EQ_LEDGER.get(env.EQ_LEDGER.idFromName(batchId));
      return Response.json(await stub.deliver(batchId, facts, body));
    } catch (error) {
      return Response.json({ error: { code: "storage_unavailable", message: String(error) } }, { status: 503 });
    }
  },
};
