// Cross-implementation: batchhook's wasm `Webhook` against npm `standardwebhooks` and npm `svix`,
// on seeded random (secret, id, timestamp, body) cases including multibyte UTF-8 bodies.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Webhook as StdWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { mutateString, rng, seedFromEnv, toBase64, webhook } from "./support.mjs";

const { Webhook, WebhookVerificationError } = webhook;
const CASES = 1000;

/** One random case; timestamps stay inside the libraries' fixed 5-minute window around now. */
function randomCase(r) {
  const key = r.bytes(r.int(24, 64));
  const secret = r.next() < 0.5 ? `whsec_${toBase64(key)}` : toBase64(key);
  const id = `msg_${r.alnum(r.int(1, 40))}`;
  const date = new Date((Math.floor(Date.now() / 1000) + r.int(-240, 240)) * 1000);
  const body = r.next() < 0.3 ? JSON.stringify({ type: "batch.completed", data: { note: r.text(200) } }) : r.text(600);
  return { secret, id, date, body };
}

const headersOf = (prefix, id, date, signature) => ({
  [`${prefix}-id`]: id,
  [`${prefix}-timestamp`]: String(Math.floor(date.getTime() / 1000)),
  [`${prefix}-signature`]: signature,
});

test("standardwebhooks-signed cases verify with ours and ours verify with standardwebhooks", () => {
  const r = rng(seedFromEnv("standardwebhooks"));
  for (let i = 0; i < CASES; i++) {
    const { secret, id, date, body } = randomCase(r);
    const theirs = new StdWebhook(secret);
    const ours = new Webhook(secret);
    const theirSig = theirs.sign(id, date, body);
    const ourSig = ours.sign(id, date, body);
    assert.equal(ourSig, theirSig, `case ${i}: signatures differ`);
    const headers = headersOf("webhook", id, date, theirSig);
    assert.equal(ours.verify(body, headers, { jsonParse: false }), undefined);
    ours.verify(new TextEncoder().encode(body), new Headers(headers), { jsonParse: false });
    theirs.verify(body, headersOf("webhook", id, date, ourSig), { jsonParse: false });
    // Any change of the body or id must fail in both.
    const tampered = mutateString(r, body);
    assert.throws(() => ours.verify(tampered, headers, { jsonParse: false }), WebhookVerificationError);
    assert.throws(() => theirs.verify(tampered, headers, { jsonParse: false }));
    const otherId = { ...headers, "webhook-id": mutateString(r, id) };
    assert.throws(() => ours.verify(body, otherId, { jsonParse: false }), (e) => e.code === "no_matching_signature");
  }
});

test("svix-signed cases verify with ours (svix-* headers) and ours verify with svix", () => {
  const r = rng(seedFromEnv("svix") ^ 0x9e3779b9);
  for (let i = 0; i < CASES; i++) {
    const { secret, id, date, body } = randomCase(r);
    const theirs = new SvixWebhook(secret);
    const ours = new Webhook(secret);
    const theirSig = theirs.sign(id, date, body);
    ours.verify(body, headersOf("svix", id, date, theirSig), { jsonParse: false });
    theirs.verify(body, headersOf("svix", id, date, ours.sign(id, date, body)));
    theirs.verify(body, headersOf("webhook", id, date, ours.sign(id, date, body)));
    const stale = headersOf("svix", id, new Date(date.getTime() - 600_000), theirSig);
    assert.throws(() => ours.verify(body, stale, { jsonParse: false }), (e) => e.code === "timestamp_too_old");
  }
});

test("verify returns the parsed JSON payload like standardwebhooks does", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const body = JSON.stringify({ type: "batch.completed", data: { id: "batch_1", note: "naïve ✓ 🚀" } });
  const date = new Date();
  const sig = new StdWebhook(secret).sign("msg_1", date, body);
  const headers = headersOf("webhook", "msg_1", date, sig);
  assert.deepEqual(new Webhook(secret).verify(body, headers), new StdWebhook(secret).verify(body, headers));
  assert.deepEqual(new Webhook(secret).verify(Buffer.from(body), headers), JSON.parse(body));
  const delivery = new Webhook(secret).verifyDelivery(body, headers);
  assert.equal(delivery.id, "msg_1");
  assert.equal(delivery.timestamp, Math.floor(date.getTime() / 1000));
});

test("the specification's reference signature is reproduced", () => {
  const wh = new Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  const sig = wh.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", new Date(1614265330 * 1000), '{"test": 2432232314}');
  assert.equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
});

test("errors carry codes and actionable messages, and never the secret", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const wh = new Webhook(secret);
  assert.throws(() => wh.verify("{}", { "webhook-id": "a", "webhook-timestamp": "1" }), {
    name: "WebhookVerificationError",
    code: "missing_header",
    message: /webhook-signature/,
  });
  assert.throws(() => wh.verify("{}", { "webhook-id": "a", "webhook-timestamp": "soon", "webhook-signature": "v1,x" }), {
    code: "malformed_header",
  });
  const future = String(Math.floor(Date.now() / 1000) + 3600);
  assert.throws(() => wh.verify("{}", { "webhook-id": "a", "webhook-timestamp": future, "webhook-signature": "v1,x" }), {
    code: "timestamp_too_new",
    message: /seconds in the future/,
  });
  for (const bad of ["whsec_", "whsec_abc$", "v1,abcdefghijklmnopqrstuvwxyz0123456789", "whsec_c2hvcnQ="]) {
    const material = bad.slice(6);
    assert.throws(
      () => new Webhook(bad),
      (e) => e.name === "WebhookSecretError" && e.code === "invalid_secret" && (material === "" || !e.message.includes(material)),
    );
  }
});

test("rotation: an array of secrets accepts either, and signs with both", () => {
  const a = `whsec_${toBase64(new Uint8Array(32).fill(1))}`;
  const b = `whsec_${toBase64(new Uint8Array(32).fill(2))}`;
  const date = new Date();
  const sigB = new StdWebhook(b).sign("m", date, "x");
  new Webhook([a, b]).verify("x", headersOf("webhook", "m", date, sigB), { jsonParse: false });
  const both = new Webhook([a, b]).sign("m", date, "x");
  assert.equal(both.split(" ").length, 2);
  new StdWebhook(a).verify("x", headersOf("webhook", "m", date, both), { jsonParse: false });
  new StdWebhook(b).verify("x", headersOf("webhook", "m", date, both), { jsonParse: false });
});
