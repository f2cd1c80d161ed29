// The intake hashes bodies of 1 KiB and more with WebCrypto (HMAC and the body's SHA-256) and
// smaller ones in wasm. Both paths, in the real workerd, must accept what npm
// `standardwebhooks` signs (with either of two rotated secrets), refuse a tampered body or a
// wrong secret (and say which engine refused it), and store the same body hash node:crypto computes. The test-only response
// header `x-batchhook-test-hashed-by` says which engine did the hashing.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { newSecret } from "../support/emulator.mjs";
import { OPERATOR_AUTH, fullEvent, startWorkerWithoutGateway } from "./helpers.mjs";

const older = newSecret();
const current = newSecret();
let worker;

before(async () => {
  worker = await startWorkerWithoutGateway(`${older} ${current}`);
});

after(async () => {
  await worker?.stop();
});

/** A JSON event of exactly `size` bytes for `batchId` (padded in an extra field). */
function eventOfSize(batchId, size) {
  const event = fullEvent(batchId, "in_progress");
  const bare = JSON.stringify({ ...event, padding: "" });
  assert.ok(bare.length <= size, `${size} B is too small for an event (${bare.length} B)`);
  const body = JSON.stringify({ ...event, padding: "p".repeat(size - bare.length) });
  assert.equal(Buffer.byteLength(body), size);
  return body;
}

/** `body` with one byte of its padding changed (still valid JSON, same length). */
const tamper = (body) => body.replace(/p"}$/, 'q"}');

async function delivery(id) {
  const res = await worker.fetch(`/v1/batches/${id}`, { headers: OPERATOR_AUTH });
  if (res.status === 404) return null;
  const view = await res.json();
  return view.batchhook.deliveries;
}

const CASES = [
  { size: 512, engine: "wasm" },
  { size: 1023, engine: "wasm" },
  { size: 1024, engine: "webcrypto" },
  { size: 64 * 1024, engine: "webcrypto" },
];

for (const { size, engine } of CASES) {
  test(`a ${size} B body is verified and hashed by ${engine}: valid accepted, tampered and wrong-secret refused`, async () => {
    const id = `batch_wc_${size}`;
    const body = eventOfSize(id, size);

    const tampered = await worker.fetch("/webhooks/aistats", signed(current, `msg_${size}_t`, tamper(body), body));
    assert.equal(tampered.status, 401);
    assert.equal((await tampered.json()).error.code, "no_matching_signature");
    assert.equal(tampered.headers.get("x-batchhook-test-hashed-by"), engine);
    const wrong = await worker.fetch("/webhooks/aistats", signed(newSecret(), `msg_${size}_w`, body));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("x-batchhook-test-hashed-by"), engine);
    assert.equal(await delivery(id), null, "nothing is stored from refused deliveries");

    for (const [n, secret] of [older, current].entries()) {
      const webhookId = `msg_${size}_${n}`;
      const res = await worker.fetch("/webhooks/aistats", signed(secret, webhookId, body));
      assert.equal(res.status, 200, await res.text());
      assert.equal(res.headers.get("x-batchhook-test-hashed-by"), engine);
    }
    const stored = await delivery(id);
    assert.equal(stored.length, 2);
    const sha256 = createHash("sha256").update(body).digest("hex");
    for (const d of stored) {
      assert.equal(d.size, size);
      assert.equal(d.body_sha256, sha256, "the stored body hash is the body's SHA-256");
    }
  });
}

/** Request init for `body` carrying a signature over `signedBody` (the body by default). */
function signed(secret, id, body, signedBody = body) {
  const ts = Math.floor(Date.now() / 1000);
  return {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(ts),
      "webhook-signature": signature(secret, id, ts, signedBody),
    },
    body,
  };
}

function signature(secret, id, ts, body) {
  return new Webhook(secret).sign(id, new Date(ts * 1000), body);
}
