// The intake step both plain-JS bench Workers share (ingest-reference-worker.mjs and
// ingest-equal-work-worker.mjs): verification with npm `standardwebhooks` and the batch id from
// the parsed payload, so the two references differ only in what their Durable Objects store.
import { Webhook } from "standardwebhooks";

/** Lowercase hex of an ArrayBuffer (a SHA-256 digest). */
export const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Verifies `body` under `request`'s headers with `secret` and finds its batch id (`data.id`, else
 * `job_id`). Answers `{ payload, batchId }`, or `{ refusal }` with the Response to send: 401 for a
 * delivery that does not verify, 400 for one naming no batch.
 */
export function verifiedDelivery(request, body, secret) {
  let payload;
  try {
    payload = new Webhook(secret).verify(body, Object.fromEntries(request.headers));
  } catch {
    return { refusal: Response.json({ error: { code: "invalid_signature" } }, { status: 401 }) };
  }
  const batchId = payload?.data?.id ?? payload?.job_id;
  if (!batchId) return { refusal: Response.json({ error: { code: "missing_batch_id" } }, { status: 400 }) };
  return { payload, batchId };
}
