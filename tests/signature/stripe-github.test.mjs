// Cross-implementation: batchhook's wasm `StripeWebhook` against the `stripe` package, and
// `GitHubWebhook` against node:crypto HMAC-SHA256, on seeded random cases.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import Stripe from "stripe";
import { mutateString, rng, seedFromEnv, webhook } from "./support.mjs";

const { StripeWebhook, GitHubWebhook, WebhookVerificationError } = webhook;
const CASES = 1000;
const stripe = new Stripe("sk_test_batchhook_cross_check");

test("stripe-signed cases verify with ours and ours pass stripe.webhooks.constructEvent", () => {
  const r = rng(seedFromEnv("stripe") ^ 0x85ebca6b);
  for (let i = 0; i < CASES; i++) {
    const secret = `whsec_${r.alnum(r.int(24, 48))}`;
    const timestamp = 1_700_000_000 + r.int(0, 100_000_000);
    const now = new Date((timestamp + r.int(-299, 299)) * 1000);
    const payload = JSON.stringify({ id: `evt_${r.alnum(24)}`, object: "event", data: { note: r.text(300) } });
    const ours = new StripeWebhook(secret);
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
    const event = ours.verify(payload, { "Stripe-Signature": header }, { now });
    assert.deepEqual(event, JSON.parse(payload));
    assert.equal(ours.verifyDelivery(Buffer.from(payload), { "stripe-signature": header }, { now }).timestamp, timestamp);

    const ourHeader = ours.sign("unused", new Date(timestamp * 1000), payload);
    assert.equal(ourHeader, header, `case ${i}: headers differ`);
    const theirs = stripe.webhooks.constructEvent(payload, ourHeader, secret, 300, undefined, now.getTime() / 1000);
    assert.equal(theirs.id, event.id);

    assert.throws(
      () => ours.verify(mutateString(r, payload), { "stripe-signature": header }, { now }),
      (e) => e instanceof WebhookVerificationError && e.code === "no_matching_signature",
    );
  }
});

test("stripe tolerance is checked in both directions", () => {
  const secret = "whsec_0123456789abcdefghijklmnopqrstuv";
  const payload = '{"id":"evt_1"}';
  const timestamp = 1_700_000_000;
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
  const ours = new StripeWebhook(secret, { tolerance: 60 });
  const at = (s) => ({ now: new Date(s * 1000) });
  assert.throws(() => ours.verify(payload, { "stripe-signature": header }, at(timestamp + 61)), { code: "timestamp_too_old" });
  assert.throws(() => ours.verify(payload, { "stripe-signature": header }, at(timestamp - 61)), { code: "timestamp_too_new" });
  ours.verify(payload, { "stripe-signature": header }, at(timestamp + 60));
});

test("github cases match node:crypto HMAC-SHA256 both ways, including raw byte bodies", () => {
  const r = rng(seedFromEnv("github") ^ 0xc2b2ae35);
  for (let i = 0; i < CASES; i++) {
    const secret = r.alnum(r.int(24, 64));
    const body = r.next() < 0.5 ? Buffer.from(r.text(500)) : Buffer.from(r.bytes(r.int(0, 700)));
    const expected = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
    const ours = new GitHubWebhook(secret);
    assert.equal(ours.sign("d", new Date(0), body), expected, `case ${i}`);
    const delivery = `${r.alnum(8)}-${r.alnum(4)}`;
    const got = ours.verifyDelivery(body, { "X-Hub-Signature-256": expected, "X-GitHub-Delivery": delivery }, { jsonParse: false });
    assert.equal(got.id, delivery);
    assert.equal(got.timestamp, null);
    const flipped = Buffer.from(body.length ? body : Buffer.from("x"));
    flipped[r.int(0, flipped.length - 1)] ^= 1 << r.int(0, 7);
    assert.throws(() => ours.verify(flipped, { "x-hub-signature-256": expected }, { jsonParse: false }), {
      code: "no_matching_signature",
    });
  }
});

test("github's documented example verifies", () => {
  const gh = new GitHubWebhook("It's a Secret to Everybody");
  const sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  assert.equal(gh.sign("", new Date(0), "Hello, World!"), sig);
  assert.equal(gh.verify("Hello, World!", new Headers({ "x-hub-signature-256": sig }), { jsonParse: false }), undefined);
  assert.throws(() => gh.verify("Hello, World!", { "x-hub-signature": "sha1=abc" }), { code: "no_supported_signature" });
});
