// batchhook under the `workerd` export condition (Cloudflare Workers, miniflare): Workers forbid
// compiling wasm from bytes at runtime, so the client's module is imported statically (bundled
// by wrangler as a CompiledWasm module) and instantiated synchronously here; the re-exported
// webhook entry initialises its own module the same way.
import wasmModule from './client_wasm_bg.wasm';
import { initSync } from './client_wasm.js';
import '../webhook/workerd.js';

initSync({ module: wasmModule });

export * from './index.js';
