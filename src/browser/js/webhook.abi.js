// The verifier wasm's raw exports (src/browser/exports.rs) as a small class. Every argument
// and result goes through one buffer inside the wasm memory: arguments are written into it
// (strings with `encodeInto`, bytes with `set`) and passed by length; a call that returns
// bytes leaves them at the start of the buffer and returns their length (-1 for none). The
// wasm imports nothing.

let wasm = null;
let bytes = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Instantiates the compiled verifier module (synchronously: Node, Workers). */
export function instantiate(module) {
  wasm = new WebAssembly.Instance(module, {}).exports;
}

/** Fetches, compiles and instantiates the verifier wasm at `url` (browsers). */
export async function load(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`batchhook/webhook: fetching ${url} failed with HTTP ${response.status}`);
  // Streaming compilation needs the wasm MIME type; a server that sends another gets the
  // buffered path instead of an error.
  const streaming =
    typeof WebAssembly.instantiateStreaming === "function" &&
    (response.headers.get("content-type") ?? "").startsWith("application/wasm");
  const { instance } = streaming
    ? await WebAssembly.instantiateStreaming(response, {})
    : await WebAssembly.instantiate(await response.arrayBuffer(), {});
  wasm = instance.exports;
}

/** The wasm memory as bytes. Growing the memory detaches the old view, so it is renewed. */
function memory() {
  if (bytes.buffer !== wasm.memory.buffer) bytes = new Uint8Array(wasm.memory.buffer);
  return bytes;
}

let tailView = bytes;
let tailAt = -1;

/** The memory from `at` on, as a view kept between calls while the memory and `at` stay the
 * same: a fresh view per call measured 0.03 µs, half the cost of the `encodeInto` into it. */
function tail(at) {
  const mem = memory();
  if (tailView.buffer !== mem.buffer || tailAt !== at) {
    tailView = mem.subarray(at);
    tailAt = at;
  }
  return tailView;
}

/** The most bytes `part` (a string or a Uint8Array) can take in the buffer. */
const room = (part) => (part === undefined ? 0 : typeof part === "string" ? part.length * 3 : part.byteLength);

/** Set by `write`: the byte lengths of the parts written. */
const lengths = [0, 0];

/** Writes `first` and then `second` (if given) into the buffer. */
function write(first, second) {
  const at = wasm.bh_io(room(first) + room(second));
  const mem = memory();
  lengths[0] = put(mem, at, first);
  lengths[1] = second === undefined ? 0 : put(mem, at + lengths[0], second);
}

function put(mem, at, part) {
  if (typeof part === "string") return encoder.encodeInto(part, mem.subarray(at)).written;
  mem.set(part, at);
  return part.byteLength;
}

/** A copy of a call's result bytes, or `undefined` for -1. */
function result(len) {
  return view(len)?.slice();
}

/** A call's result bytes in place, valid until the next call into the wasm; or `undefined`. */
function view(len) {
  if (len < 0) return undefined;
  const at = wasm.bh_io(0);
  return memory().subarray(at, at + len);
}

function text(len) {
  if (len < 0) return undefined;
  const at = wasm.bh_io(0);
  return decoder.decode(memory().subarray(at, at + len));
}

/** Lists `bh_item` reads from (`HEADER_NAMES` … in exports.rs). */
const HEADER_NAMES = 0;
const KEYS = 1;
const ERROR_TEXTS = 2;
const VERIFIED_ID = 3;

/** Every item of list `list` of core `n`, each read from the buffer by `read`. */
function items(n, list, read) {
  const all = [];
  for (let item; (item = read(wasm.bh_item(n, list, all.length))) !== undefined; ) all.push(item);
  return all;
}

/** Frees a core whose wrapper was garbage-collected. */
const finalizer = typeof FinalizationRegistry === "undefined" ? null : new FinalizationRegistry((n) => wasm.bh_free(n));

/** Secret rules of `addSecret`: the scheme's text rule, npm `standardwebhooks`' base64 rule, raw bytes. */
export const SECRET_RULES = { scheme: 0, base64: 1, bytes: 2 };

/** One verifier core in the wasm (`WebhookCore` in src/browser/webhook.rs). */
export class Core {
  #n;

  constructor(scheme, toleranceSecs) {
    this.#n = wasm.bh_new(scheme, toleranceSecs);
    finalizer?.register(this, this.#n);
  }

  /** Adds a secret (a string, or bytes for rule `bytes`); returns the error number. */
  addSecret(rule, secret) {
    write(secret);
    return wasm.bh_add_secret(this.#n, rule, lengths[0]);
  }

  /** The header names the scheme reads: the slots of `values` in `verify` and `prepare`. */
  headerNames() {
    return items(this.#n, HEADER_NAMES, text);
  }

  /** Verifies `body` (a string or bytes); returns the error number. The values, a line break
   * and a string body are written with one `encodeInto` into a kept view (`tail`): each call
   * costs about as much as encoding a 256-byte body. */
  verify(values, present, body, nowSecs) {
    const text = typeof body === "string";
    const head = text ? `${values}\n${body}` : `${values}\n`;
    const into = tail(wasm.bh_io(room(head) + room(text ? undefined : body)));
    const { read, written } = encoder.encodeInto(head, into);
    // All ASCII (one byte per UTF-16 unit): the values' bytes are their length. Otherwise
    // encoding the values alone again (over the same bytes) measures them.
    const valuesLen = read === written ? values.length : encoder.encodeInto(values, into).written;
    let bodyLen = written - valuesLen - 1;
    if (!text) {
      into.set(body, written);
      bodyLen = body.byteLength;
    }
    return wasm.bh_verify(this.#n, valuesLen, bodyLen, present, nowSecs);
  }

  /** The signed prefix of a verification whose MACs are made outside, or `undefined`: a view
   * into the wasm memory, valid until the next call into any core (no copy on the hot path). */
  prepare(values, present, nowSecs) {
    write(values);
    return view(wasm.bh_prepare(this.#n, lengths[0], present, nowSecs));
  }

  /** Finishes a prepared verification with one 32-byte MAC per secret; the error number. */
  finish(macs) {
    write(macs);
    return wasm.bh_finish(this.#n, lengths[0]);
  }

  /** The signature header value, or `undefined` (error recorded). */
  sign(id, timestampSecs, body) {
    write(id, body);
    return text(wasm.bh_sign(this.#n, lengths[0], lengths[1], timestampSecs));
  }

  /** Copies of the key bytes of every secret, in the order they were added. */
  keys() {
    return items(this.#n, KEYS, result);
  }

  /** The last call's error number (0: success) and its detail `i` (see `describe`). */
  error() {
    return wasm.bh_error(this.#n);
  }

  errorDetail(i) {
    return BigInt.asUintN(64, wasm.bh_error_detail(this.#n, i));
  }

  /** Text `i` of the last error (see `error_text`), or `undefined`. */
  errorText(i) {
    return text(wasm.bh_item(this.#n, ERROR_TEXTS, i));
  }

  /** The last verified delivery id, or `null`. */
  verifiedId() {
    return text(wasm.bh_item(this.#n, VERIFIED_ID, 0)) ?? null;
  }

  /** The last verified signed timestamp, or `null`. */
  verifiedTimestamp() {
    const t = wasm.bh_verified_timestamp(this.#n);
    return Number.isNaN(t) ? null : t;
  }
}
