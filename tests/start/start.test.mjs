// `npm start` as a new user meets it: `node scripts/start.mjs` (after the build) prints the
// page:/api:/token: lines, the page loads from the worker, the token opens the /v1 API, the
// demo file runs to completed through that API and through the page in headless Chromium
// (screenshots in test-artifacts/start/), and SIGINT — to the script alone, or to its whole
// process group as a terminal's Ctrl-C does — leaves no child process behind.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, waitFor } from "../support/worker.mjs";
import { collectPageErrors, launchChromium, missingPrerequisite } from "../page/harness.mjs";

const BUILT = join(ROOT, "worker", "build", "index.js");
const skip = existsSync(BUILT) ? false : `${BUILT} is missing: run node scripts/build.mjs first`;
const TERMINAL = new Set(["completed", "failed", "cancelled", "expired"]);
const started = [];
const ARTIFACTS = join(ROOT, "test-artifacts", "start");

after(() => {
  for (const { child, stateDir } of started) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }
    rmSync(stateDir, { recursive: true, force: true });
  }
});

/**
 * Runs start.mjs in its own process group with a temporary state dir and a free port, and
 * resolves once it prints `ready`, with the `name: value` lines it printed.
 */
async function startStack() {
  const stateDir = mkdtempSync(join(tmpdir(), "batchhook-start-"));
  const child = spawn(process.execPath, ["scripts/start.mjs"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", BATCHHOOK_STATE_DIR: stateDir, EMULATOR_SPEED: "20" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const stack = { child, stateDir, stdout: "", stderr: "" };
  started.push(stack);
  child.stdout.on("data", (d) => (stack.stdout += d));
  child.stderr.on("data", (d) => (stack.stderr += d));
  stack.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  await Promise.race([
    waitFor(() => /^ready\b/m.test(stack.stdout), { timeoutMs: 150_000, intervalMs: 100, what: "the ready line" }),
    stack.exited.then(({ code }) => {
      throw new Error(`start.mjs exited with ${code} before ready:\n${stack.stdout}\n${stack.stderr}`);
    }),
  ]);
  stack.lines = Object.fromEntries(
    [...stack.stdout.matchAll(/^(gateway|page|api|token): (\S+)$/gm)].map((m) => [m[1], m[2]]),
  );
  return stack;
}

/** Live descendants of `pid` as {pid, comm}, read from /proc (zombies count as gone). */
function descendants(pid) {
  const parents = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const [, state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).match(/^(\S) (\d+)/);
      if (state !== "Z") parents.set(Number(name), Number(ppid));
    } catch {}
  }
  const found = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift();
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push({ pid: child, comm: comm(child) });
        queue.push(child);
      }
    }
  }
  return found;
}

function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** The emulator and workerd among the stack's children (so the "all gone" check is not vacuous). */
function servicePids(stack) {
  const children = descendants(stack.child.pid);
  const names = children.map((c) => c.comm);
  assert.ok(names.some((n) => n.startsWith("gateway-emul")), `an emulator child: ${names}`);
  assert.ok(names.includes("workerd"), `a workerd child: ${names}`);
  return children.map((c) => c.pid);
}

/** Sends `signal` to `target` and checks the script exits 0 with every child gone. */
async function stopAndCheck(stack, target, pids) {
  process.kill(target, "SIGINT");
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`start.mjs still running 20 s after SIGINT:\n${stack.stderr}`)), 20_000).unref(),
  );
  const { code, signal } = await Promise.race([stack.exited, timeout]);
  assert.equal(signal, null, `exited by ${signal}, not by its own handler`);
  assert.equal(code, 0, stack.stderr);
  assert.doesNotMatch(stack.stderr, /error while stopping/);
  await waitFor(() => pids.every((pid) => !alive(pid)), {
    timeoutMs: 5_000,
    what: `children ${pids.filter(alive).map((p) => `${p} (${comm(p)})`)} to end`,
  });
}

async function api(stack, path, init = {}) {
  const res = await fetch(`${stack.lines.api}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${stack.lines.token}`, ...init.headers },
  });
  return { status: res.status, body: await res.json() };
}

test(
  "prints page, api and token, serves the page, runs the demo file to completed through the API and the page, and SIGINT stops every child",
  { skip, timeout: 240_000 },
  async () => {
    const stack = await startStack();
    const { page, api: apiUrl, token, gateway } = stack.lines;
    assert.match(page, /^http:\/\/127\.0\.0\.1:\d+\/$/, stack.stdout);
    assert.match(apiUrl, /^http:\/\/127\.0\.0\.1:\d+$/, stack.stdout);
    assert.match(gateway, /^http:\/\/127\.0\.0\.1:\d+$/, stack.stdout);
    assert.match(token, /^demo_[0-9a-f]{32}$/);
    assert.equal(readFileSync(join(stack.stateDir, "api-token"), "utf8").trim(), token, "token kept in the state dir");
    assert.match(stack.stdout, /use the demo file/);
    assert.match(stack.stdout, /file=@www\/demo\.jsonl/);
    const pids = servicePids(stack);

    // The page: the app's HTML from the worker's static assets, and the package it loads.
    const html = await fetch(page);
    assert.equal(html.status, 200);
    assert.match(html.headers.get("content-type"), /text\/html/);
    const text = await html.text();
    assert.match(text, /<script type="module" src="\.\/app\.js"><\/script>/);
    assert.match(text, /id="view-signin"/);
    for (const asset of ["app.js", "pkg/client/index.js", "demo.jsonl"]) {
      const res = await fetch(new URL(asset, page));
      assert.equal(res.status, 200, asset);
      await res.arrayBuffer();
    }

    // The token opens the API; no token does not.
    const unauthorised = await fetch(`${apiUrl}/v1/batches`);
    assert.equal(unauthorised.status, 401);
    await unauthorised.arrayBuffer();
    const list = await api(stack, "/v1/batches");
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.equal(list.body.object, "list");
    assert.ok(Array.isArray(list.body.data));
    assert.equal(typeof list.body.has_more, "boolean");

    // The demo batch, as the printed curl commands run it.
    const form = new FormData();
    form.append("purpose", "batch");
    form.append("file", new Blob([readFileSync(join(ROOT, "www", "demo.jsonl"))]), "demo.jsonl");
    const file = await api(stack, "/v1/files", { method: "POST", body: form });
    assert.equal(file.status, 200, JSON.stringify(file.body));
    const created = await api(stack, "/v1/batches", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input_file_id: file.body.id, endpoint: "/v1/chat/completions", completion_window: "24h" }),
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const done = await waitFor(
      async () => {
        const { body } = await api(stack, `/v1/batches/${created.body.id}`);
        return TERMINAL.has(body.status) && body;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: `demo batch ${created.body.id} to finish` },
    );
    assert.equal(done.status, "completed");
    assert.deepEqual(done.request_counts, { total: 12, completed: 12, failed: 0 });
    const listed = await waitFor(
      async () => {
        const { body } = await api(stack, "/v1/batches?status=completed");
        return body.data.find((b) => b.id === created.body.id);
      },
      { timeoutMs: 20_000, what: "the demo batch in the completed list" },
    );
    assert.equal(listed.status, "completed");

    if (!missingPrerequisite()) await demoInThePage(stack);

    await stopAndCheck(stack, stack.child.pid, pids);
  },
);

/** What the demo line says, in headless Chromium: sign in, use the demo file, submit, watch. */
async function demoInThePage(stack) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(stack.lines.page);
    await page.getByLabel("API token").fill(stack.lines.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: "New batch" }).click();
    await page.getByRole("button", { name: "use the demo file" }).click();
    await page.getByText("All 12 rows are valid requests").waitFor();
    await page.getByRole("button", { name: "Submit batch" }).click();
    await page.locator("#view-batch:not([hidden])").waitFor();
    await page.locator("#batch-status.completed").waitFor({ timeout: 60_000 });
    assert.equal(await page.locator("#batch-progress").getAttribute("aria-valuenow"), "100");
    await page.locator("#batch-totals", { hasText: /Result rows stored\s*12/ }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, "demo-completed.png"), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
}

test("Ctrl-C (SIGINT to the whole process group) stops every child", { skip, timeout: 200_000 }, async () => {
  const stack = await startStack();
  const pids = servicePids(stack);
  await stopAndCheck(stack, -stack.child.pid, pids);
});
