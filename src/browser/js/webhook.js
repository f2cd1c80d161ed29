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
// the `workerd` condition (`workerd.js`), which imports the .wasm statically and instantiates it
// before this module's classes are used. The wasm is reached through `abi.js`, its raw exports.
import { Core, SECRET_RULES, instantiate, load } from "./abi.js";

const inWorkerd = typeof navigator !== "undefined" && navigator.userAgent === "Cloudflare-Workers";

if (!inWorkerd) {
  const url = new URL("./webhook.wasm", import.meta.url);
  const node = typeof process !== "undefined" && process.versions != null && process.versions.node != null;
  if (node && url.protocol === "file:") {
    // `getBuiltinModule` (Node ≥ 20.16) reaches `fs` without an import statement, so browser
    // bundlers and Workers' module locators never see a Node-only specifier.
    if (typeof process.getBuiltinModule !== "function") {
      throw new Error("batchhook/webhook needs Node.js 20.16 or newer (process.getBuiltinModule)");
    }
    instantiate(new WebAssembly.Module(process.getBuiltinModule("fs").readFileSync(url)));
  } else {
    await load(url);
  }
}

const SCHEMES = { standard: 0, stripe: 1, github: 2 };

/** Bodies from this size on are MACed by the platform's native HMAC where a synchronous one
 * exists (Node's `crypto`), and by WebCrypto in `verifyAsync`: native SHA-256 outruns wasm
 * there (see tests/bench/verifier.bench.mjs). Parsing, the timestamp check and the
 * constant-time comparison stay in the wasm core either way. */
const NATIVE_MIN_BYTES = 512;

const nodeCrypto =
  typeof process !== "undefined" && typeof process.getBuiltinModule === "function" && !inWorkerd
    ? process.getBuiltinModule("crypto")
    : null;

// Error sentences: the wasm returns an error number, details and texts (src/browser/webhook.rs
// `describe`) and these functions write the same sentence as the Rust core's
// `SignatureError::message`. tests/fixtures/signature/messages.json holds the core's sentences
// (pinned by tests/signature_messages.rs) and tests/signature/messages.test.mjs checks that
// this entry throws exactly those.

const CODES = [
  undefined,
  "missing_header",
  "malformed_header",
  "timestamp_too_old",
  "timestamp_too_new",
  "no_supported_signature",
  "no_matching_signature",
  "invalid_secret",
  "no_secrets",
];

/** The error fields (named as in the Rust `SignatureError`) from the wasm's number, details
 * and texts (the header name, a malformed header's expected form). */
function fromCore(number, detail, text) {
  const code = CODES[number];
  switch (number) {
    case 1:
    case 5:
      return { code, fields: { header: text(0) } };
    case 2:
      return { code, fields: { header: text(0), expected: text(1) } };
    case 3:
      return { code, fields: { age_secs: detail(0), tolerance_secs: detail(1) } };
    case 4:
      return { code, fields: { ahead_secs: detail(0), tolerance_secs: detail(1) } };
    case 7: {
      const kind = Number(detail(1));
      const problem = ["empty", "surrounding_whitespace", "pasted_signature", "base64_invalid_character", "base64_url_safe_alphabet",
        "base64_bad_padding", "base64_bad_length", "base64_non_canonical", "too_short"][kind];
      const fields = { position: detail(0), problem };
      if (kind === 3 || kind === 4) fields.at = detail(2);
      if (kind === 8) Object.assign(fields, { len: detail(2), min: detail(3) });
      return { code, fields };
    }
    default:
      return { code, fields: {} };
  }
}

const SECRET_PROBLEMS = {
  empty: () => "it is empty",
  surrounding_whitespace: () => "it has leading or trailing whitespace (a pasted newline?)",
  pasted_signature: () => 'it starts with "v1,", which is a signature header value, not the signing secret',
  base64_invalid_character: (f) => `the secret's base64 (after any "whsec_" prefix) has an invalid character at offset ${f.at}`,
  base64_url_safe_alphabet: (f) =>
    `the secret's base64 (after any "whsec_" prefix) uses the URL-safe alphabet ('-' or '_') at offset ${f.at}; secrets use the standard alphabet's '+' and '/'`,
  base64_bad_padding: () => `the secret's base64 (after any "whsec_" prefix) has wrong '=' padding`,
  base64_bad_length: () => `the secret's base64 (after any "whsec_" prefix) has an impossible length (truncated?)`,
  base64_non_canonical: () => `the secret's base64 (after any "whsec_" prefix) does not end canonically (truncated or altered?)`,
  too_short: (f) => `the key is ${f.len} bytes long; at least ${f.min} bytes are required`,
};

/** The sentence for an error code and its fields: what failed and what to check. */
function message(code, f) {
  switch (code) {
    case "missing_header":
      return `the ${f.header} header is missing: the request is not signed for this scheme, or a proxy dropped the header`;
    case "malformed_header":
      return `the ${f.header} header is malformed: expected ${f.expected}`;
    case "timestamp_too_old":
      return `the signed timestamp is ${f.age_secs} seconds old, beyond the tolerance of ${f.tolerance_secs} seconds: a replayed or long-delayed delivery, or a clock out of sync`;
    case "timestamp_too_new":
      return `the signed timestamp is ${f.ahead_secs} seconds in the future, beyond the tolerance of ${f.tolerance_secs} seconds: check the sender's and this server's clocks`;
    case "no_supported_signature":
      return `the ${f.header} header has no signature of a supported version (v1 HMAC-SHA256)`;
    case "no_matching_signature":
      return "no signature matched: the body, id or timestamp was changed, or the secret is wrong; verify the raw request bytes, never re-serialised JSON";
    case "invalid_secret":
      return `secret #${f.position} is unusable: ${SECRET_PROBLEMS[f.problem](f)}`;
    case "no_secrets":
      return "no webhook secret is configured: give at least one";
    default:
      return `webhook verification failed (${code})`;
  }
}

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

/** One header value as the wasm takes it: a string without line breaks (it separates values). */
function headerValue(name, value) {
  if (Array.isArray(value)) value = value.join(", ");
  value = String(value);
  if (value.includes("\n")) {
    throw new WebhookVerificationError(`the ${name} header is malformed: it contains a line break`, "malformed_header");
  }
  return value;
}

/** The signed prefix followed by the body's bytes, in one buffer for WebCrypto. A string body
 * is encoded straight into place: one copy instead of encode-then-concatenate (a pure-ASCII
 * body fits the buffer sized by its length; anything else is re-encoded to its exact size). */
function signedMessage(prefix, body) {
  if (typeof body !== "string") {
    const message = new Uint8Array(prefix.length + body.byteLength);
    message.set(prefix);
    message.set(body, prefix.length);
    return message;
  }
  const message = new Uint8Array(prefix.length + body.length);
  message.set(prefix);
  if (encoder.encodeInto(body, message.subarray(prefix.length)).read === body.length) return message;
  return signedMessage(prefix, encoder.encode(body));
}

/** Set by `headerValues`: bit i when the i-th name was sent. */
let present = 0;

/**
 * The values of the headers the core reads (`names`, from the wasm) one per line, in that
 * order, from a Fetch `Headers`/Map-like (has `get`) or a plain object such as Node's
 * `req.headers`; `present` says which were sent. Object keys match case-insensitively: the
 * lowercase key when there is one (Node's own), else the first other casing. `aliasOf[i]` is
 * the slot of the name alias `i` stands in for; an alias is read only when that name is
 * absent (the core prefers the name anyway, and every `get` is a call into the runtime).
 */
function headerValues(headers, names, aliasOf) {
  if (headers == null || typeof headers !== "object") {
    throw new TypeError("headers must be a Headers instance or an object of header values");
  }
  const viaGet = typeof headers.get === "function";
  present = 0;
  let missing = 0; // bit i: names[i] not found under its lowercase key
  let out = "";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += "\n";
    if (aliasOf[i] >= 0 && (present & (1 << aliasOf[i])) !== 0) continue;
    const value = viaGet ? headers.get(names[i]) : Object.hasOwn(headers, names[i]) ? headers[names[i]] : null;
    if (value == null) {
      missing |= 1 << i;
      continue;
    }
    out += headerValue(names[i], value);
    present |= 1 << i;
  }
  return viaGet || missing === 0 ? out : otherCasings(headers, names, aliasOf, out.split("\n"), missing);
}

/** `headerValues`' slow path: the names not found under a lowercase key, in any casing. */
function otherCasings(headers, names, aliasOf, values, missing) {
  for (const key in headers) {
    if (!Object.hasOwn(headers, key) || headers[key] == null) continue;
    const i = names.indexOf(key.toLowerCase());
    if (i < 0 || (missing & (1 << i)) === 0) continue;
    if (aliasOf[i] >= 0 && (present & (1 << aliasOf[i])) !== 0) continue;
    values[i] = headerValue(names[i], headers[key]);
    present |= 1 << i;
    missing &= ~(1 << i);
  }
  return values.join("\n");
}

/** HMAC-SHA256 of `prefix` then `body` under a `node:crypto` key. (A module function, not a
 * closure in `#check`: the minified build keeps function names, which costs a call per
 * closure created.) */
function nodeMac(key, prefix, body) {
  return nodeCrypto.createHmac("sha256", key).update(prefix).update(body).digest();
}

class SchemeWebhook {
  #core;
  #scheme;
  #names;
  #aliasOf;
  #nodeKeys = null;
  #webKeys = null;
  #webCrypto = true;

  constructor(scheme, secret, options = {}, defaultRule) {
    this.#scheme = scheme;
    this.#core = new Core(scheme, options.tolerance === undefined ? 300 : Number(options.tolerance));
    this.#names = this.#core.headerNames();
    // `svix-x` stands in for `webhook-x` (Standard Webhooks' alias names).
    this.#aliasOf = this.#names.map((n) => (n.startsWith("svix-") ? this.#names.indexOf(`webhook-${n.slice(5)}`) : -1));
    const secrets = Array.isArray(secret) ? secret : [secret];
    if (secrets.length === 0) throw new WebhookSecretError(message("no_secrets", {}), "no_secrets");
    for (const s of secrets) {
      let failed;
      if (s instanceof Uint8Array) failed = this.#core.addSecret(SECRET_RULES.bytes, s);
      else if (typeof s !== "string") throw new TypeError("secret must be a string or a Uint8Array");
      else if (options.format === "raw") failed = this.#core.addSecret(SECRET_RULES.bytes, encoder.encode(s));
      else failed = this.#core.addSecret(defaultRule, s);
      if (failed !== 0) throw this.#fail(failed, WebhookSecretError);
    }
    if (nodeCrypto && options.nativeHmac !== false) {
      this.#nodeKeys = this.#core.keys().map((k) => nodeCrypto.createSecretKey(k));
    }
    this.#webCrypto = options.nativeHmac !== false;
  }

  /** The error for wasm error `number` (the core's details are read only on this path). */
  #fail(number, Class = WebhookVerificationError) {
    const { code, fields } = fromCore(
      number,
      (i) => this.#core.errorDetail(i),
      (i) => this.#core.errorText(i),
    );
    return new Class(message(code, fields), code);
  }

  #check(payload, headers, now) {
    const values = headerValues(headers, this.#names, this.#aliasOf);
    const secs = Math.floor((now ?? Date.now()) / 1000);
    const text = typeof payload === "string";
    const body = text ? payload : toBytes(payload);
    let failed;
    if (this.#nodeKeys !== null && (text ? body.length : body.byteLength) >= NATIVE_MIN_BYTES) {
      const prefix = this.#core.prepare(values, present, secs);
      if (prefix === undefined) throw this.#fail(this.#core.error());
      const keys = this.#nodeKeys;
      let macs;
      if (keys.length === 1) macs = nodeMac(keys[0], prefix, body);
      else {
        macs = new Uint8Array(32 * keys.length);
        for (let i = 0; i < keys.length; i++) macs.set(nodeMac(keys[i], prefix, body), 32 * i);
      }
      failed = this.#core.finish(macs);
    } else {
      failed = this.#core.verify(values, present, body, secs);
    }
    if (failed !== 0) throw this.#fail(failed);
  }

  async #checkAsync(payload, headers, now) {
    const text = typeof payload === "string";
    const body = text ? payload : toBytes(payload);
    const size = text ? body.length : body.byteLength;
    if (this.#nodeKeys !== null || !this.#webCrypto || size < NATIVE_MIN_BYTES || !globalThis.crypto?.subtle) {
      return this.#check(body, headers, now);
    }
    const values = headerValues(headers, this.#names, this.#aliasOf);
    const prefix = this.#core.prepare(values, present, Math.floor((now ?? Date.now()) / 1000));
    if (prefix === undefined) throw this.#fail(this.#core.error());
    const message = signedMessage(prefix, body);
    this.#webKeys ??= await Promise.all(
      this.#core.keys().map((k) => crypto.subtle.importKey("raw", k, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])),
    );
    const macs = new Uint8Array(32 * this.#webKeys.length);
    const signed = await Promise.all(this.#webKeys.map((key) => crypto.subtle.sign("HMAC", key, message)));
    signed.forEach((mac, i) => macs.set(new Uint8Array(mac), 32 * i));
    const failed = this.#core.finish(macs);
    if (failed !== 0) throw this.#fail(failed);
  }

  #result(payload, options) {
    if (options.jsonParse === false) return undefined;
    const text = typeof payload === "string" ? payload : decoder.decode(toBytes(payload));
    return text === "" ? undefined : JSON.parse(text);
  }

  /**
   * Verifies `payload` (the raw body) against `headers` and returns the parsed JSON payload
   * (`undefined` for an empty body or with `{ jsonParse: false }`). Throws
   * `WebhookVerificationError` otherwise. `options.now` (a Date) replaces the clock.
   */
  verify(payload, headers, options = {}) {
    this.#check(payload, headers, options.now?.getTime());
    return this.#result(payload, options);
  }

  /**
   * `verify` for runtimes whose only fast native HMAC is asynchronous (Workers, browsers):
   * bodies of 512 bytes or more are MACed with WebCrypto, smaller ones by the wasm core.
   * Same result and errors as `verify`.
   */
  async verifyAsync(payload, headers, options = {}) {
    await this.#checkAsync(payload, headers, options.now?.getTime());
    return this.#result(payload, options);
  }

  /**
   * Like `verify`, and also returns the delivery id (dedupe on it: senders retry with the same
   * id) and the signed timestamp: `{ payload, id, timestamp }` (`id`/`timestamp` are `null`
   * when the scheme has none).
   */
  verifyDelivery(payload, headers, options = {}) {
    const parsed = this.verify(payload, headers, options);
    return { payload: parsed, id: this.#core.verifiedId(), timestamp: this.#core.verifiedTimestamp() };
  }

  /**
   * The signature header value for `payload` sent as `msgId` at `timestamp` (a Date):
   * `v1,<base64>` (one per secret, space-separated), `t=…,v1=<hex>` or `sha256=<hex>`.
   */
  sign(msgId, timestamp, payload) {
    const secs = Math.floor((timestamp instanceof Date ? timestamp.getTime() : Number(timestamp)) / 1000);
    const body = typeof payload === "string" ? payload : toBytes(payload);
    const signature = this.#core.sign(String(msgId), secs, body);
    if (signature === undefined) throw this.#fail(this.#core.error(), WebhookSecretError);
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
    super(SCHEMES.standard, secret, options, SECRET_RULES.base64);
  }
}

/** Stripe's `Stripe-Signature` scheme. The secret (`whsec_…`) is used as text, never decoded. */
export class StripeWebhook extends SchemeWebhook {
  constructor(secret, options = {}) {
    super(SCHEMES.stripe, secret, options, SECRET_RULES.scheme);
  }
}

/** GitHub's `X-Hub-Signature-256` scheme; the secret is used as text. No timestamp is signed. */
export class GitHubWebhook extends SchemeWebhook {
  constructor(secret, options = {}) {
    super(SCHEMES.github, secret, options, SECRET_RULES.scheme);
  }
}
