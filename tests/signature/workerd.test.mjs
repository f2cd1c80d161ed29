// The `workerd` entry of batchhook/webhook inside real workerd (miniflare's API): the wasm is
// imported as a CompiledWasm module, `verify` (wasm) and `verifyAsync` (WebCrypto from 512
// bytes on) accept what npm `standardwebhooks` signs and refuse tampered bodies, for byte and
// (multibyte) string bodies, under `webhook-*` and `svix-*` header names.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { Miniflare } from "miniflare";
import { Webhook as StdWebhook } from "standardwebhooks";
import { rng, seedFromEnv, toBase64 } from "./support.mjs";

const dist = new URL("../../dist/webhook/", import.meta.url);
const WORKER = `
import { Webhook } from "./webhook/workerd.js";
async function outcome(run) {
  try { const r = await run(); return { ok: true, id: r.id ?? null }; }
  catch (e) { return { ok: false, code: e.code, name: e.name }; }
}
export default {
  async fetch(request) {
    const wh = new Webhook(request.headers.get("x-test-secret"));
    const body = new Uint8Array(await request.arrayBuffer());
    return Response.json({
      sync: await outcome(() => wh.verifyDelivery(body, request.headers, { jsonParse: false })),
      async: await outcome(() => wh.verifyAsync(body, request.headers, { jsonParse: false }).then(() => ({}))),
      asyncText: await outcome(() =>
        wh.verifyAsync(new TextDecoder().decode(body), request.headers, { jsonParse: false }).then(() => ({})),
      ),
      // Two fresh verifiers both wait for their WebCrypto keys: the second's signed prefix (a
      // longer id) passes through the wasm's shared buffer while the first is waiting.
      interleaved: await outcome(async () => {
        const idName = request.headers.has("webhook-id") ? "webhook-id" : "svix-id";
        const other = new Headers(request.headers);
        other.set(idName, request.headers.get(idName) + "-other");
        const secret = request.headers.get("x-test-secret");
        const [mine] = await Promise.allSettled([
          new Webhook(secret).verifyAsync(body, request.headers, { jsonParse: false }),
          new Webhook(secret).verifyAsync(body, other, { jsonParse: false }),
        ]);
        if (mine.status === "rejected") throw mine.reason;
        return {};
      }),
    });
  },
};`;

let mf;
before(async () => {
  mf = new Miniflare({
    modulesRoot: "/t",
    modules: [
      { type: "ESModule", path: "/t/worker.mjs", contents: WORKER },
      { type: "ESModule", path: "/t/webhook/workerd.js", contents: readFileSync(new URL("workerd.js", dist)) },
      { type: "ESModule", path: "/t/webhook/index.js", contents: readFileSync(new URL("index.js", dist)) },
      { type: "ESModule", path: "/t/webhook/abi.js", contents: readFileSync(new URL("abi.js", dist)) },
      { type: "CompiledWasm", path: "/t/webhook/webhook.wasm", contents: readFileSync(new URL("webhook.wasm", dist)) },
    ],
    compatibilityDate: "2025-01-01",
  });
  await mf.ready;
});
after(() => mf?.dispose());

test("inside workerd, verify and verifyAsync accept standardwebhooks signatures and refuse tampering", async () => {
  const r = rng(seedFromEnv("workerd") ^ 0x27d4eb2f);
  for (let i = 0; i < 60; i++) {
    const secret = `whsec_${toBase64(r.bytes(r.int(24, 48)))}`;
    const id = `msg_${r.alnum(12)}`;
    // Mostly multibyte text; every fourth body pure ASCII (verifyAsync encodes those in place).
    const body = i % 4 === 0 ? r.alnum(r.pick([10, 600, 3000])) : r.text(r.pick([10, 100, 400, 3000]));
    const date = new Date();
    const signature = new StdWebhook(secret).sign(id, date, body);
    const names = r.pick(["webhook", "svix"]);
    const send = (payload) =>
      mf
        .dispatchFetch("http://test/", {
          method: "POST",
          body: payload,
          headers: {
            "x-test-secret": secret,
            [`${names}-id`]: id,
            [`${names}-timestamp`]: String(Math.floor(date.getTime() / 1000)),
            [`${names}-signature`]: signature,
          },
        })
        .then((res) => res.json());
    const good = await send(body);
    const accepted = { ok: true, id: null };
    assert.deepEqual(
      good,
      { sync: { ok: true, id }, async: accepted, asyncText: accepted, interleaved: accepted },
      `case ${i} (${body.length} chars, ${names})`,
    );
    const bad = await send(`${body}!`);
    for (const path of ["sync", "async", "asyncText", "interleaved"]) {
      assert.equal(bad[path].code, "no_matching_signature", `case ${i} ${path}`);
      assert.equal(bad[path].name, "WebhookVerificationError");
    }
  }
});
