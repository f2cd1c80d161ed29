// The verifier's wasm boundary (src/browser/exports.rs + webhook.abi.js): arguments and results
// share one buffer inside the wasm memory, which grows for large bodies and moves the views JS
// holds, and every Webhook is a numbered core in the wasm.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Webhook as StdWebhook } from "standardwebhooks";
import { webhook } from "./support.mjs";

const { Webhook } = webhook;
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const date = new Date(Math.floor(Date.now() / 1000) * 1000);

function signed(body, id = "msg_abi") {
  const signature = new StdWebhook(SECRET).sign(id, date, body);
  return { "webhook-id": id, "webhook-timestamp": String(date.getTime() / 1000), "webhook-signature": signature };
}

test("a multi-megabyte multibyte body verifies in wasm, and small ones still do after the memory grew", () => {
  const ours = new Webhook(SECRET, { nativeHmac: false });
  const small = '{"n":"é"}';
  assert.deepEqual(ours.verify(small, signed(small)), { n: "é" });
  const big = JSON.stringify({ text: "日本🚀é".repeat(300_000) });
  assert.ok(Buffer.byteLength(big) > 3_000_000);
  assert.equal(ours.verify(big, signed(big), { jsonParse: false }), undefined);
  assert.equal(ours.verify(new TextEncoder().encode(big), signed(big), { jsonParse: false }), undefined);
  assert.throws(() => ours.verify(`${big} `, signed(big)), (e) => e.code === "no_matching_signature");
  assert.deepEqual(ours.verify(small, signed(small)), { n: "é" });
  assert.equal(ours.sign("msg_abi", date, big), signed(big)["webhook-signature"]);
});

test("header values and a string body share one write: non-ASCII values and bodies land where the wasm reads them", () => {
  const ours = new Webhook(SECRET, { nativeHmac: false });
  for (const [id, body] of [["msg_é", '{"n":1}'], ["msg_é", '{"n":"日本"}'], ["msg_a", '{"n":"日本"}'], ["msg_a", '{"n":1}']]) {
    const headers = signed(body, id);
    assert.deepEqual(ours.verifyDelivery(body, headers), { payload: JSON.parse(body), id, timestamp: date.getTime() / 1000 });
    assert.equal(ours.verify(new TextEncoder().encode(body), headers, { jsonParse: false }), undefined);
    assert.throws(() => ours.verify(`${body} `, headers), (e) => e.code === "no_matching_signature");
    assert.throws(() => ours.verify(body, { ...headers, "webhook-id": `${id}x` }), (e) => e.code === "no_matching_signature");
  }
});

test("many verifiers live side by side, each with its own secrets and last result", () => {
  const others = Array.from({ length: 500 }, (_, i) => new Webhook(`whsec_${Buffer.alloc(32, i).toString("base64")}`));
  const ours = new Webhook(SECRET);
  const body = '{"ok":true}';
  const first = ours.verifyDelivery(body, signed(body, "msg_first"));
  assert.equal(first.id, "msg_first");
  for (const other of others) assert.throws(() => other.verify(body, signed(body)), (e) => e.code === "no_matching_signature");
  assert.equal(others[7].sign("m", date, body), new StdWebhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`).sign("m", date, body));
  assert.equal(ours.verifyDelivery(body, signed(body, "msg_second")).id, "msg_second");
});
