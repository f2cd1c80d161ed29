// Builds the wasm artefacts: the Worker (worker/build/) and the npm entries (dist/webhook/,
// dist/client/).
//
//   node scripts/build.mjs [worker] [webhook] [client] [--simd] [--force]
//
// With no entry named, all three are built; an npm entry whose handwritten wrapper
// (src/browser/js/<entry>.js) does not exist yet is skipped with a note. Naming an entry makes
// a missing wrapper an error. `--simd` (or BATCHHOOK_WASM_SIMD=1) compiles with simd128.
// `--force` redoes every step even when its inputs did not change.
//
// Per entry: cargo (scripts/wasm-cargo.sh, release) → wasm-bindgen (not for the verifier, whose
// raw exports need none) → wasm-opt; then for the Worker, esbuild bundles worker/shim.mjs with
// the wasm-bindgen glue, and for npm entries the handwritten wrapper files are copied next to
// the glue (see copyWrapper) and all their JS is minified. Cargo is skipped when the sources,
// manifests, toolchain and flags are those of the last build of that entry, and
// wasm-bindgen/wasm-opt when the cargo output, flags and tool versions are (stamps in
// target/wasm-stamps/).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);

/** Feature flags every wasm-opt run enables: what rustc emits for wasm32 plus the exception
 * handling wasm-bindgen's catch wrappers use; listed explicitly so that no newer encoding
 * workerd or browsers might not accept is ever turned on. */
const WASM_OPT_FEATURES = [
  "mutable-globals",
  "sign-ext",
  "nontrapping-float-to-int",
  "bulk-memory",
  "multivalue",
  "reference-types",
  "exception-handling",
].map((f) => `--enable-${f}`);

const ENTRIES = {
  worker: {
    feature: "worker",
    bindgen: [
      "--target",
      "module",
      "--out-name",
      "index",
      "--no-typescript",
      "--experimental-reset-state-function",
      "--force-enable-abort-handler",
    ],
    // Speed over size for the Worker: opt-level 3 and wasm-opt -O3 measured ~5 % less workerd
    // CPU per ingested delivery than z/-Oz (tests/bench/ingest.bench.mjs), for 1.3 MB instead
    // of 0.95 MB of wasm (515 KB gzipped, far inside the Workers size limit).
    cargoEnv: { BATCHHOOK_WASM_OPT_LEVEL: "3" },
    optimize: ["-O3"],
    outDir: "worker/build",
  },
  webhook: {
    feature: "verifier",
    // opt-level 2: as fast as 3 and smaller after wasm-opt; measured against it (8.1 KB gzip),
    // s is 0.2 % smaller but 4.5 % slower to verify and z 5 % smaller but 13 % slower. See
    // scripts/wasm-cargo.sh for the settings.
    cargoEnv: { BATCHHOOK_WASM_OPT_LEVEL: "2", BATCHHOOK_WASM_IMMEDIATE_ABORT: "1" },
    // Only the cdylib: compiled next to the manifest's rlib, the crate's code is generated for
    // both, with fewer functions inlined or merged into the cdylib (measured 0.45 KB gzip more).
    cdylibOnly: true,
    // No wasm-bindgen: the verifier exports a plain ABI (src/browser/exports.rs) and the
    // wrapper's `abi.js` is its glue.
    wasmName: "webhook.wasm",
    // The module defines (not imports) its memory, which wasm zero-fills: data segments of
    // zeros can go. Measured: 0.3 KB gzip less than plain -Oz. Nothing addresses the memory's
    // first KB (wasm-ld puts the 1 MB stack first, growing down from its top, and the data
    // after it), so `--low-memory-unused` may fold constant offsets into loads and stores:
    // 35 B gzip less.
    optimize: ["-Oz", "--converge", "--zero-filled-memory", "--low-memory-unused", "--strip-target-features"],
    outDir: "dist/webhook",
    wrapper: "webhook",
  },
  client: {
    feature: "browser",
    // A panic traps without formatting a message (nothing shows it in a browser anyway).
    cargoEnv: { BATCHHOOK_WASM_IMMEDIATE_ABORT: "1" },
    bindgen: ["--target", "web", "--out-name", "client_wasm"],
    optimize: ["-Oz"],
    outDir: "dist/client",
    wrapper: "client",
  },
};

class BuildError extends Error {}

function run(cmd, args, opts = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  if (result.error) throw new BuildError(`${cmd}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new BuildError(`${cmd} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
  }
  return result;
}

function output(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : "";
}

const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const rel = (p) => relative(root, p);

/** Runs `fn` (sync or async) and prints how long the step took. */
async function timed(label, fn) {
  const start = performance.now();
  const value = await fn();
  console.log(`build: ${label} ${((performance.now() - start) / 1000).toFixed(1)}s`);
  return value;
}

function sizeLine(path) {
  const data = readFileSync(path);
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  return `${rel(path).padEnd(36)} ${kb(data.length).padStart(11)} raw ${kb(gzipSync(data, { level: 9 }).length).padStart(10)} gzip`;
}

/** Writes `data` to `path` atomically, so a concurrently starting workerd never sees half a file. */
function writeAtomic(path, data) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Hash of everything the crate's wasm is compiled from: sources, manifests, toolchain, flags. */
function cargoInputKey(entry, simd) {
  const hash = createHash("sha256");
  const files = (dir) =>
    readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
      .filter((d) => d.isFile())
      .map((d) => join(d.parentPath ?? d.path, d.name));
  for (const file of [...files("src"), join(root, "Cargo.toml"), join(root, "Cargo.lock")].sort()) {
    hash.update(rel(file)).update(readFileSync(file));
  }
  hash.update(JSON.stringify({
    feature: entry.feature,
    cargoEnv: entry.cargoEnv,
    cdylibOnly: entry.cdylibOnly ?? false,
    simd,
    path: output("bash", ["scripts/wasm-cargo.sh", "--which"]),
    rustc: [output("rustc", ["--version"]), output("/usr/bin/rustc", ["--version"])],
    // Only variables that change what rustc produces (not e.g. CARGO_TERM_COLOR).
    env: Object.entries(process.env)
      .filter(([k]) => /^(RUSTFLAGS|CARGO_ENCODED_RUSTFLAGS|RUSTC|CARGO_PROFILE_|CARGO_BUILD_|CARGO_TARGET_WASM32)/.test(k))
      .sort(),
  }));
  return hash.digest("hex");
}

async function cargoBuild(name, entry, { simd, force }) {
  const label = `${name}: cargo (feature ${entry.feature}${simd ? ", simd128" : ""})`;
  // Features share one output file name: each entry keeps its own copy after its cargo run.
  const kept = join(root, "target/wasm-stamps", `${name}${simd ? "-simd" : ""}.cargo.wasm`);
  const stamp = `${kept}.key`;
  const key = cargoInputKey(entry, simd);
  // Cargo would recompile the crate here even with nothing changed (another feature set
  // overwrote its output), so skip it when the inputs are those of the kept copy.
  if (!force && existsSync(kept) && existsSync(stamp) && readFileSync(stamp, "utf8") === key) {
    console.log(`build: ${label} skipped (sources unchanged)`);
    return kept;
  }
  const env = { ...process.env, BATCHHOOK_WASM_SIMD: simd ? "1" : "0", ...entry.cargoEnv };
  const command = entry.cdylibOnly ? ["rustc", "--crate-type", "cdylib"] : ["build"];
  await timed(label, () =>
    run("bash", ["scripts/wasm-cargo.sh", ...command, "--release", "--lib", "--features", entry.feature], { env }),
  );
  const targetDir = spawnSync("bash", ["scripts/wasm-cargo.sh", "--target-dir"], { cwd: root, env, encoding: "utf8" }).stdout.trim();
  const wasm = join(targetDir, "wasm32-unknown-unknown/release/batchhook.wasm");
  writeAtomic(kept, readFileSync(wasm));
  writeAtomic(stamp, key);
  return kept;
}

/** The glue JS wasm-bindgen writes for `entry`, or `null` for an entry without wasm-bindgen. */
function bindgenGlue(entry, glueDir) {
  if (!entry.bindgen) return null;
  return join(glueDir, `${entry.bindgen[entry.bindgen.indexOf("--out-name") + 1]}.js`);
}

/** wasm-bindgen (for entries that use it) then wasm-opt into `glueDir`; skipped when nothing
 * that feeds them changed. */
async function bindAndOptimize(name, entry, cargoWasm, glueDir, { simd, force }) {
  const glue = bindgenGlue(entry, glueDir);
  const wasmOut = glue ? glue.replace(/\.js$/, "_bg.wasm") : join(glueDir, entry.wasmName);
  const key = sha256(
    JSON.stringify({
      wasm: sha256(readFileSync(cargoWasm)),
      bindgen: entry.bindgen ?? null,
      optimize: entry.optimize,
      tools: [output("wasm-bindgen", ["--version"]), output(bin("wasm-opt"), ["--version"])],
    }),
  );
  const stamp = join(root, "target/wasm-stamps", `${name}.key`);
  if (!force && existsSync(wasmOut) && existsSync(stamp) && readFileSync(stamp, "utf8") === key) {
    console.log(`build: ${name}: ${glue ? "wasm-bindgen + " : ""}wasm-opt skipped (input unchanged)`);
    return wasmOut;
  }
  rmSync(glueDir, { recursive: true, force: true });
  if (glue) {
    await timed(`${name}: wasm-bindgen`, () =>
      run("wasm-bindgen", [cargoWasm, "--out-dir", glueDir, ...entry.bindgen]),
    );
    // npm entries ship their glue minified; done here, once per fresh glue (minifying is not
    // idempotent with keepNames).
    // Its names are internal (the wrapper re-exports nothing of it), so they need not survive.
    if (entry.wrapper) await minify([glue], { keepNames: false });
  } else {
    mkdirSync(glueDir, { recursive: true });
    copyFileSync(cargoWasm, wasmOut);
  }
  await timed(`${name}: wasm-opt ${entry.optimize.join(" ")}`, () =>
    run(bin("wasm-opt"), [wasmOut, "-o", wasmOut, ...entry.optimize, "--strip-debug", "--strip-producers", ...WASM_OPT_FEATURES, ...(simd ? ["--enable-simd"] : [])]),
  );
  writeAtomic(stamp, key);
  return wasmOut;
}

async function bundleWorker(glueDir, outDir) {
  const esbuild = await import("esbuild");
  const gluePath = join(glueDir, "index.js");
  // The module target imports the wasm as `import source`; workerd (and wrangler's
  // CompiledWasm rule) take a plain default import of a .wasm file as a WebAssembly.Module.
  const glue = readFileSync(gluePath, "utf8").replace(/^import source /m, "import ");
  writeFileSync(gluePath, glue);
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ["worker/shim.mjs"],
    bundle: true,
    format: "esm",
    minify: true,
    write: false,
    external: ["./index_bg.wasm", "cloudflare:*"],
    logLevel: "warning",
    plugins: [
      {
        name: "batchhook-glue",
        setup(build) {
          build.onResolve({ filter: /^batchhook:glue$/ }, () => ({ path: gluePath }));
        },
      },
    ],
  });
  writeAtomic(join(outDir, "index.js"), result.outputFiles[0].contents);
  writeAtomic(join(outDir, "index_bg.wasm"), readFileSync(join(glueDir, "index_bg.wasm")));
}

/**
 * Copies the handwritten wrapper files of an npm entry next to its wasm-bindgen output:
 * `<entry>.js` and `<entry>.d.ts` become `index.js`/`index.d.ts`, and a variant
 * `<entry>.<variant>.js` (e.g. `webhook.workerd.js`, for an export condition) `<variant>.js`.
 */
function copyWrapper(wrapper, outDir) {
  const dir = join(root, "src/browser/js");
  const copied = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.startsWith(`${wrapper}.`)) continue;
    const rest = file.slice(wrapper.length + 1);
    const target = rest === "js" || rest === "d.ts" ? `index.${rest}` : rest;
    copyFileSync(join(dir, file), join(outDir, target));
    if (target.endsWith(".js")) copied.push(join(outDir, target));
  }
  return copied;
}

/** Minifies the npm entries' JS in place (what a plain `<script type="module">` downloads;
 * the `.d.ts` files document the API). Names are kept, so exported classes keep theirs. */
async function minify(files, { keepNames = true } = {}) {
  const esbuild = await import("esbuild");
  for (const file of files) {
    const { code } = await esbuild.transform(readFileSync(file, "utf8"), {
      minify: true,
      // `abi.js` is internal glue (nothing of it is exported from the package): its names need
      // not survive, and keeping them costs a tenth of its size.
      keepNames: keepNames && !file.endsWith("abi.js"),
      format: "esm",
      target: "esnext",
    });
    writeAtomic(file, code);
  }
}

async function buildEntry(name, { explicit, simd, force }) {
  const entry = ENTRIES[name];
  const outDir = join(root, entry.outDir);
  if (entry.wrapper) {
    const missing = ["js", "d.ts"]
      .map((ext) => join(root, "src/browser/js", `${entry.wrapper}.${ext}`))
      .filter((p) => !existsSync(p));
    if (missing.length > 0) {
      const msg = `${name}: handwritten wrapper missing (${missing.map(rel).join(", ")})`;
      if (explicit) throw new BuildError(msg);
      console.log(`build: ${msg}; entry skipped`);
      return [];
    }
  }
  const cargoWasm = await cargoBuild(name, entry, { simd, force });
  if (entry.wrapper) {
    const wasmOut = await bindAndOptimize(name, entry, cargoWasm, outDir, { simd, force });
    const js = copyWrapper(entry.wrapper, outDir);
    await minify(js);
    const glue = bindgenGlue(entry, outDir);
    return [wasmOut, ...(glue ? [glue] : []), ...js];
  }
  const glueDir = join(root, "target/wasm-stamps", `${name}-glue`);
  await bindAndOptimize(name, entry, cargoWasm, glueDir, { simd, force });
  await timed(`${name}: esbuild bundle`, () => bundleWorker(glueDir, outDir));
  return [join(outDir, "index_bg.wasm"), join(outDir, "index.js")];
}

/** The page (www/, the Worker's static assets) imports the package from www/pkg/: a copy of
 * dist/client and dist/webhook side by side, so the client's `../webhook/index.js` re-export
 * resolves the same way as in the npm package. The copy is git-ignored. */
function copyPackageIntoPage() {
  for (const name of ["client", "webhook"]) {
    const from = join(root, "dist", name);
    if (!existsSync(join(from, "index.js"))) continue;
    const to = join(root, "www", "pkg", name);
    rmSync(to, { recursive: true, force: true });
    mkdirSync(to, { recursive: true });
    cpSync(from, to, { recursive: true });
  }
}

async function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !a.startsWith("--") && !(a in ENTRIES));
  if (unknown.length > 0) {
    console.error(`build: unknown entry ${unknown.join(", ")} (entries: ${Object.keys(ENTRIES).join(", ")})`);
    process.exit(2);
  }
  const named = args.filter((a) => a in ENTRIES);
  const simd = args.includes("--simd") || process.env.BATCHHOOK_WASM_SIMD === "1";
  const force = args.includes("--force");
  const names = named.length > 0 ? named : Object.keys(ENTRIES);

  const produced = [];
  const failed = [];
  for (const name of names) {
    try {
      produced.push(...(await buildEntry(name, { explicit: named.length > 0, simd, force })));
    } catch (error) {
      if (!(error instanceof BuildError)) throw error;
      console.error(`build: ${name} FAILED: ${error.message}`);
      failed.push(name);
    }
  }
  copyPackageIntoPage();
  if (produced.length > 0) {
    console.log("build: sizes");
    for (const path of produced) console.log(`  ${sizeLine(path)}`);
  }
  if (failed.length > 0) {
    console.error(`build: failed entries: ${failed.join(", ")}`);
    process.exit(1);
  }
}

await main();
