// How `Webhook.verify` reads headers: plain objects match names case-insensitively (the
// lowercase key first), `svix-*` names stand in for absent `webhook-*` ones (the `webhook-*`
// name wins when both are sent), Node's array values are joined, and a line break in a value
// is refused. Signatures come from npm `standardwebhooks`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Webhook as StdWebhook } from "standardwebhooks";
import { Webhook } from "../../dist/webhook/index.js";

const secret = `whsec_${Buffer.from("a test secret of thirty-two bytes!").toString("base64")}`;
const body = JSON.stringify({ type: "batch.completed", data: { id: "batch_1" } });
const id = "msg_headers";
const now = new Date();
const ts = String(Math.floor(now.getTime() / 1000));
const good = new StdWebhook(secret).sign(id, now, body);
const bad = new StdWebhook(secret).sign(id, now, `${body} `);
const wh = new Webhook(secret);
const verifies = (headers) => wh.verify(body, headers, { jsonParse: false }) === undefined;
const refuses = (headers, code) => assert.throws(() => wh.verify(body, headers), (e) => e.code === code);

test("object keys match in any casing, a lowercase key before other casings", () => {
  assert.ok(verifies({ "Webhook-Id": id, "WEBHOOK-TIMESTAMP": ts, "Webhook-Signature": good }));
  assert.ok(verifies({ "Webhook-Signature": bad, "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": good }));
  refuses({ "Webhook-Signature": good, "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": bad }, "no_matching_signature");
});

test("svix-* names stand in for absent webhook-* names, and lose to present ones", () => {
  const svix = { "svix-id": id, "svix-timestamp": ts, "svix-signature": good };
  assert.ok(verifies(svix));
  assert.ok(verifies(new Headers(svix)));
  assert.ok(verifies({ "Svix-Id": id, "svix-timestamp": ts, "webhook-signature": good }));
  const mixed = { "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": bad, "svix-signature": good };
  refuses(mixed, "no_matching_signature");
  refuses(new Headers(mixed), "no_matching_signature");
  assert.ok(verifies({ ...mixed, "webhook-signature": good, "svix-signature": bad }));
});

test("array values are joined as Node joins repeated headers, and line breaks are refused", () => {
  assert.ok(verifies({ "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": [bad, good] }));
  refuses({ "webhook-id": `${id}\nx`, "webhook-timestamp": ts, "webhook-signature": good }, "malformed_header");
  refuses({ "webhook-id": id, "webhook-timestamp": ts }, "missing_header");
  refuses({ "webhook-id": "", "webhook-timestamp": ts, "webhook-signature": good }, "malformed_header");
});
