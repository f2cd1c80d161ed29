// batchhook/webhook under the `workerd` export condition (Cloudflare Workers, miniflare):
// Workers forbid compiling wasm from bytes at runtime, so the module is imported statically
// (bundled by wrangler as a CompiledWasm module) and instantiated synchronously here.
import wasmModule from "./webhook.wasm";
import { instantiate } from "./abi.js";

instantiate(wasmModule);

export * from "./index.js";
