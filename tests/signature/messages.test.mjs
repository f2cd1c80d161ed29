// The npm verifier's error sentences are written in JS (src/browser/js/webhook.js) from the
// numbers the wasm returns. tests/fixtures/signature/messages.json holds the Rust core's
// sentence for every kind of error (pinned by tests/signature_messages.rs); this test makes the
// built entry throw every one of them and holds its sentences to exactly those.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";
import { webhook } from "./support.mjs";

const { Webhook, StripeWebhook, GitHubWebhook } = webhook;
const fixture = JSON.parse(readFileSync(new URL("../fixtures/signature/messages.json", import.meta.url), "utf8"));
const SPEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** The fixture's entry for `code` with exactly `fields`. */
function pinned(code, fields) {
  const entry = fixture.find((e) => e.code === code && JSON.stringify(e.fields) === JSON.stringify(fields));
  assert.ok(entry, `no fixture entry for ${code} ${JSON.stringify(fields)}`);
  return entry;
}

/** Calls that make the built entry throw, each with the fixture entry it must reproduce. */
const at = (secs) => ({ now: new Date(secs * 1000) });
const std = (headers, options) => () => new Webhook(SPEC).verify("{}", headers, options);
const ok = { "webhook-id": "m", "webhook-timestamp": "1000" };
const CASES = [
  [std({}), "missing_header", { header: "webhook-id" }],
  [std({ "webhook-id": "m" }), "missing_header", { header: "webhook-timestamp" }],
  [std(ok), "missing_header", { header: "webhook-signature" }],
  [() => new StripeWebhook(SPEC).verify("{}", {}), "missing_header", { header: "stripe-signature" }],
  [() => new GitHubWebhook(SPEC).verify("{}", {}), "missing_header", { header: "x-hub-signature-256" }],
  [std({ ...ok, "webhook-id": "", "webhook-signature": "v1,x" }, at(1000)), "malformed_header", { header: "webhook-id", expected: "a non-empty message id" }],
  [std({ ...ok, "webhook-timestamp": "soon", "webhook-signature": "v1,x" }), "malformed_header", { header: "webhook-timestamp", expected: "unix seconds as plain decimal digits" }],
  [std({ ...ok, "webhook-signature": " " }, at(1000)), "malformed_header", { header: "webhook-signature", expected: 'space-separated "v1,<base64>" signatures' }],
  [() => new StripeWebhook(SPEC).verify("{}", { "stripe-signature": "v1=00" }), "malformed_header", { header: "stripe-signature", expected: 'comma-separated "t=<unix seconds>" and "v1=<hex>" pairs' }],
  [() => new GitHubWebhook(SPEC).verify("{}", { "x-hub-signature-256": "sha1=00" }), "malformed_header", { header: "x-hub-signature-256", expected: '"sha256=" followed by 64 hex digits' }],
  [std({ ...ok, "webhook-signature": "v2,x" }, at(1000)), "no_supported_signature", { header: "webhook-signature" }],
  [() => new StripeWebhook(SPEC).verify("{}", { "stripe-signature": "t=1000,v0=00" }, at(1000)), "no_supported_signature", { header: "stripe-signature" }],
  [() => new GitHubWebhook(SPEC).verify("{}", { "x-hub-signature": "sha1=00" }), "no_supported_signature", { header: "x-hub-signature-256" }],
  [std({ ...ok, "webhook-timestamp": "588", "webhook-signature": "v1,x" }, at(1000)), "timestamp_too_old", { age_secs: 412, tolerance_secs: 300 }],
  [std({ ...ok, "webhook-timestamp": "1300000", "webhook-signature": "v1,x" }, at(1000)), "timestamp_too_new", { ahead_secs: 1299000, tolerance_secs: 300 }],
  [std({ ...ok, "webhook-signature": "v1,x" }, at(1000)), "no_matching_signature", {}],
  [() => new Webhook([SPEC, "whsec_"]), "invalid_secret", { position: 2, problem: "empty" }],
  [() => new StripeWebhook("whsec_abc\n"), "invalid_secret", { position: 1, problem: "surrounding_whitespace" }],
  [() => new Webhook("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), "invalid_secret", { position: 1, problem: "pasted_signature" }],
  [() => new Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!"), "invalid_secret", { position: 1, problem: "base64_invalid_character", at: 31 }],
  [() => new Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-"), "invalid_secret", { position: 1, problem: "base64_url_safe_alphabet", at: 31 }],
  [() => new Webhook("whsec_Zg="), "invalid_secret", { position: 1, problem: "base64_bad_padding" }],
  [() => new Webhook("whsec_Zm9vY"), "invalid_secret", { position: 1, problem: "base64_bad_length" }],
  [() => new Webhook("whsec_Zh=="), "invalid_secret", { position: 1, problem: "base64_non_canonical" }],
  [() => new GitHubWebhook("short-secret"), "invalid_secret", { position: 1, problem: "too_short", len: 12, min: 24 }],
  [() => new Webhook([]), "no_secrets", {}],
];

test("the built entry throws the core's sentence for every fixture error", () => {
  for (const [call, code, fields] of CASES) {
    const { message: expected } = pinned(code, fields);
    assert.throws(call, (e) => {
      assert.equal(e.code, code);
      assert.equal(e.message, expected);
      return true;
    });
  }
  const covered = new Set(CASES.map(([, code, fields]) => `${code} ${JSON.stringify(fields)}`));
  for (const e of fixture) assert.ok(covered.has(`${e.code} ${JSON.stringify(e.fields)}`), `no case throws ${e.code} ${JSON.stringify(e.fields)}`);
});

test("timestamp offsets beyond 2^53 seconds are written exactly (details arrive as BigInt)", () => {
  assert.throws(std({ ...ok, "webhook-timestamp": "999999999999999999", "webhook-signature": "v1,x" }, at(1000)), {
    code: "timestamp_too_new",
    message: /is 999999999999998999 seconds in the future/,
  });
});

test("an unprefixed secret's base64 error names the secret's base64 without claiming a whsec_ prefix", () => {
  assert.throws(() => new Webhook("short"), (e) => {
    assert.equal(e.code, "invalid_secret");
    assert.equal(e.message, pinned("invalid_secret", { position: 1, problem: "base64_bad_length" }).message);
    assert.match(e.message, /the secret's base64 \(after any "whsec_" prefix\) has an impossible length/);
    return true;
  });
});
