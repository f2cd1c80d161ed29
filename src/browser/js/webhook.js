// batchhook/webhook: synchronous webhook verification and signing backed by a small wasm module.
//
// `Webhook` is call-compatible with npm `standardwebhooks`' `Webhook` (constructor(secret,
// options) / verify(payload, headers) → parsed JSON / sign(msgId, date, payload)), so swapping
// the import is enough. `StripeWebhook` and `GitHubWebhook` offer the same surface for those
// schemes. Payloads are verified as raw bytes: strings are UTF-8 encoded exactly once, never
// parsed and re-serialised. JSON parsing happens here in JS to keep the wasm small.
//
// Loading: the module is ready when its import resolves (top-level await). Node reads the .wasm
// file next to this one with `fs`; browsers fetch it (bundlers see the `new URL(…,
// import.meta.url)`); Cloudflare Workers, where compiling wasm from bytes is forbidden, import
// the `workerd` condition (`workerd.js`), which imports the .wasm statically and initialises it
// before this module's classes are used.
import initWasm, { initSync, WebhookCore } from "./webhook_wasm.js";

const inWorkerd = typeof navigator !== "undefined" && navigator.userAgent === "Cloudflare-Workers";

if (!inWorkerd) {
  const url = new URL("./webhook_wasm_bg.wasm", import.meta.url);
  const node = typeof process !== "undefined" && process.versions != null && process.versions.node != null;
  if (node && url.protocol === "file:") {
    // `getBuiltinModule` (Node ≥ 20.16) reaches `fs` without an import statement, so browser
    // bundlers and Workers' module locators never see a Node-only specifier.
    if (typeof process.getBuiltinModule !== "function") {
      throw new Error("batchhook/webhook needs Node.js 20.16 or newer (process.getBuiltinModule)");
    }
    initSync({ module: process.getBuiltinModule("fs").readFileSync(url) });
  } else {
    await initWasm({ module_or_path: url });
  }
}

const SCHEMES = { standard: 0, stripe: 1, github: 2 };

/** The headers each scheme reads, lowercase; the wasm core picks among them. */
const SCHEME_HEADERS = [
  ["webhook-id", "webhook-timestamp", "webhook-signature", "svix-id", "svix-timestamp", "svix-signature"],
  ["stripe-signature"],
  ["x-hub-signature-256", "x-hub-signature", "x-github-delivery"],
];

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Thrown by `verify` when a webhook is refused. `code` is a stable snake_case string. */
export class WebhookVerificationError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "WebhookVerificationError";
    this.code = code;
  }
}

/** Thrown by a constructor when a secret is unusable; the message never contains the secret. */
export class WebhookSecretError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "WebhookSecretError";
    this.code = code;
  }
}

function toBytes(payload) {
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (ArrayBuffer.isView(payload)) return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  throw new TypeError("payload must be a string, Uint8Array, Buffer, ArrayBuffer or ArrayBuffer view");
}

/** Headers of a Fetch `Headers`/Map-like (has get) or a plain object (Node's req.headers). */
function headerLines(headers, names) {
  if (headers == null || typeof headers !== "object") {
    throw new TypeError("headers must be a Headers instance or an object of header values");
  }
  let get;
  if (typeof headers.get === "function") {
    get = (name) => headers.get(name);
  } else {
    const lower = {};
    for (const key of Object.keys(headers)) lower[key.toLowerCase()] = headers[key];
    get = (name) => lower[name];
  }
  let out = "";
  for (const name of names) {
    let value = get(name);
    if (value == null) continue;
    if (Array.isArray(value)) value = value.join(", ");
    value = String(value);
    if (value.includes("\n")) {
      throw new WebhookVerificationError(`the ${name} header is malformed: it contains a line break`, "malformed_header");
    }
    out += out === "" ? `${name}\n${value}` : `\n${name}\n${value}`;
  }
  return out;
}

class SchemeWebhook {
  #core;
  #scheme;

  constructor(scheme, secret, options = {}, defaultRule) {
    this.#scheme = scheme;
    this.#core = new WebhookCore(scheme);
    const secrets = Array.isArray(secret) ? secret : [secret];
    if (secrets.length === 0) throw new WebhookSecretError("no webhook secret was given", "no_secrets");
    for (const s of secrets) {
      let ok;
      if (s instanceof Uint8Array) ok = this.#core.add_secret_bytes(s);
      else if (typeof s !== "string") throw new TypeError("secret must be a string or a Uint8Array");
      else if (options.format === "raw") ok = this.#core.add_secret_bytes(encoder.encode(s));
      else ok = this.#core.add_secret_text(defaultRule, s);
      if (!ok) throw new WebhookSecretError(this.#core.error_message(), this.#core.error_code());
    }
    if (options.tolerance !== undefined) this.#core.set_tolerance(Number(options.tolerance));
  }

  #check(payload, headers, now) {
    const lines = headerLines(headers, SCHEME_HEADERS[this.#scheme]);
    const secs = Math.floor((now ?? Date.now()) / 1000);
    const ok =
      typeof payload === "string"
        ? this.#core.verify_str(lines, payload, secs)
        : this.#core.verify_bytes(lines, toBytes(payload), secs);
    if (!ok) throw new WebhookVerificationError(this.#core.error_message(), this.#core.error_code());
  }

  /**
   * Verifies `payload` (the raw body) against `headers` and returns the parsed JSON payload
   * (`undefined` for an empty body or with `{ jsonParse: false }`). Throws
   * `WebhookVerificationError` otherwise. `options.now` (a Date) replaces the clock.
   */
  verify(payload, headers, options = {}) {
    this.#check(payload, headers, options.now?.getTime());
    if (options.jsonParse === false) return undefined;
    const text = typeof payload === "string" ? payload : decoder.decode(toBytes(payload));
    return text === "" ? undefined : JSON.parse(text);
  }

  /**
   * Like `verify`, and also returns the delivery id (dedupe on it: senders retry with the same
   * id) and the signed timestamp: `{ payload, id, timestamp }` (`id`/`timestamp` are `null`
   * when the scheme has none).
   */
  verifyDelivery(payload, headers, options = {}) {
    const parsed = this.verify(payload, headers, options);
    const timestamp = this.#core.verified_timestamp();
    return { payload: parsed, id: this.#core.verified_id() ?? null, timestamp: Number.isNaN(timestamp) ? null : timestamp };
  }

  /**
   * The signature header value for `payload` sent as `msgId` at `timestamp` (a Date):
   * `v1,<base64>` (one per secret, space-separated), `t=…,v1=<hex>` or `sha256=<hex>`.
   */
  sign(msgId, timestamp, payload) {
    const secs = Math.floor((timestamp instanceof Date ? timestamp.getTime() : Number(timestamp)) / 1000);
    const bytes = typeof payload === "string" ? encoder.encode(payload) : toBytes(payload);
    const signature = this.#core.sign(String(msgId), secs, bytes);
    if (signature === undefined) throw new WebhookSecretError(this.#core.error_message(), this.#core.error_code());
    return signature;
  }
}

/**
 * Standard Webhooks (also Svix's `svix-*` headers and OpenAI). Secret rule, as in npm
 * `standardwebhooks`: base64 with or without the `whsec_` prefix; `{ format: "raw" }` takes a
 * string's UTF-8 bytes or a Uint8Array as the key. An array of secrets accepts a signature
 * made with any of them (rotation). Keys shorter than 24 bytes are refused.
 */
export class Webhook extends SchemeWebhook {
  static prefix = "whsec_";
  constructor(secret, options = {}) {
    super(SCHEMES.standard, secret, options, 1);
  }
}

/** Stripe's `Stripe-Signature` scheme. The secret (`whsec_…`) is used as text, never decoded. */
export class StripeWebhook extends SchemeWebhook {
  constructor(secret, options = {}) {
    super(SCHEMES.stripe, secret, options, 0);
  }
}

/** GitHub's `X-Hub-Signature-256` scheme; the secret is used as text. No timestamp is signed. */
export class GitHubWebhook extends SchemeWebhook {
  constructor(secret, options = {}) {
    super(SCHEMES.github, secret, options, 0);
  }
}
