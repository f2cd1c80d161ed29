// The bench worker run inside workerd by verifier.bench.mjs. It verifies one signed body
// `n` times with batchhook's verifier (imported through the `workerd` entry, so the wasm is a
// CompiledWasm module): `verifyAsync` as shipped ("ours") or the wasm HMAC alone ("wasm"),
// or with a plain WebCrypto verifier, and answers how many succeeded.
//
// Timers do not advance inside a Worker while it computes, so the caller times the request
// from outside and subtracts an n=0 request's time.
import { Webhook } from "./webhook/workerd.js";

const encoder = new TextEncoder();
const cache = new Map();

/** The case for a size: secret, headers, body, and a pre-imported WebCrypto key. */
async function benchCase(size, secret) {
  if (cache.has(size)) return cache.get(size);
  const body = `{"type":"batch.completed","data":{"pad":"${"x".repeat(Math.max(0, size - 44))}"}}`;
  const wh = new Webhook(secret);
  const wasmOnly = new Webhook(secret, { nativeHmac: false });
  const id = "msg_bench";
  const ts = Math.floor(Date.now() / 1000);
  const signature = wh.sign(id, new Date(ts * 1000), body);
  const headers = new Headers({ "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature });
  const keyBytes = Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const c = { body, wh, wasmOnly, headers, key };
  cache.set(size, c);
  return c;
}

/** What a WebCrypto-based Standard Webhooks verifier does per request. */
async function webcryptoVerify(key, headers, body) {
  const id = headers.get("webhook-id");
  const ts = headers.get("webhook-timestamp");
  const now = Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(ts)) > 300) return false;
  const data = encoder.encode(`${id}.${ts}.${body}`);
  for (const entry of headers.get("webhook-signature").split(" ")) {
    if (!entry.startsWith("v1,")) continue;
    const sig = Uint8Array.from(atob(entry.slice(3)), (c) => c.charCodeAt(0));
    if (await crypto.subtle.verify("HMAC", key, sig, data)) return true;
  }
  return false;
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const size = Number(url.searchParams.get("size"));
    const n = Number(url.searchParams.get("n"));
    const impl = url.searchParams.get("impl");
    const { body, wh, wasmOnly, headers, key } = await benchCase(size, url.searchParams.get("secret"));
    let ok = 0;
    if (impl === "ours") {
      for (let i = 0; i < n; i++) {
        await wh.verifyAsync(body, headers, { jsonParse: false });
        ok++;
      }
    } else if (impl === "wasm") {
      for (let i = 0; i < n; i++) {
        wasmOnly.verify(body, headers, { jsonParse: false });
        ok++;
      }
    } else {
      for (let i = 0; i < n; i++) if (await webcryptoVerify(key, headers, body)) ok++;
    }
    return Response.json({ ok });
  },
};
