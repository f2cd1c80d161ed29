// Shared helpers of the signature Node tests: a seeded generator and the built verifier entry.
import { existsSync } from "node:fs";

const entry = new URL("../../dist/webhook/index.js", import.meta.url);
if (!existsSync(entry)) {
  throw new Error("dist/webhook/index.js is missing: run `node scripts/build.mjs webhook` first");
}

/** The built `batchhook/webhook` module. */
export const webhook = await import(entry.href);

/** The seed for random cases: `SIGNATURE_SEED` or a fixed default, printed so a failure replays. */
export function seedFromEnv(name) {
  const seed = Number(process.env.SIGNATURE_SEED ?? 0x5eed2026) >>> 0;
  console.log(`${name}: seed ${seed} (replay with SIGNATURE_SEED=${seed})`);
  return seed;
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const bytes = (n) => Uint8Array.from({ length: n }, () => int(0, 255));
  const pick = (list) => list[int(0, list.length - 1)];
  // ASCII, JSON punctuation, 2-, 3- and 4-byte UTF-8 (é, ü, ☃, 日本, emoji incl. ZWJ sequences).
  const PIECES = ["a", "Z", "0", " ", "\"", "\\", "{", "}", ":", ",", ".", "\n", "é", "ü", "☃", "日本", "🚀", "👩‍💻", "\u{10FFFF}"];
  const text = (maxLen) => {
    let s = "";
    const n = int(0, maxLen);
    for (let i = 0; i < n; i++) s += pick(PIECES);
    return s;
  };
  const alnum = (n) => Array.from({ length: n }, () => pick([..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"])).join("");
  return { next, int, bytes, pick, text, alnum };
}

export const toBase64 = (bytes) => Buffer.from(bytes).toString("base64");

/** A copy of `s` with one character replaced (by a different one). */
export function mutateString(r, s) {
  if (s.length === 0) return "x";
  const chars = [...s];
  const i = r.int(0, chars.length - 1);
  chars[i] = chars[i] === "A" ? "B" : "A";
  return chars.join("");
}
