// `npm run bench`: runs every tests/bench/*.bench.mjs in this one process, one after the other,
// each printing its own table. Not part of `npm test`: numbers depend on the machine.
//
//   node scripts/bench.mjs [name-substring…]   only the bench files whose name contains one
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "tests", "bench");
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.mjs"))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

if (files.length === 0) {
  console.error(`bench: no tests/bench/*.bench.mjs${filters.length ? ` matching ${filters.join(", ")}` : ""}`);
  process.exit(1);
}

let failures = 0;
for (const file of files) {
  console.log(`\n=== bench: ${file}`);
  const start = performance.now();
  try {
    const mod = await import(pathToFileURL(join(dir, file)).href);
    if (typeof mod.default !== "function") throw new Error("does not export a default run() function");
    await mod.default();
    console.log(`=== bench: ${file} done in ${((performance.now() - start) / 1000).toFixed(1)}s`);
  } catch (error) {
    failures += 1;
    console.error(`=== bench: ${file} FAILED: ${error.stack ?? error}`);
  }
}
process.exit(failures === 0 ? 0 : 1);
