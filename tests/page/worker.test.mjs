// The page as `npm start` serves it: the Worker's static assets in real workerd, its /v1 API in
// front of the gateway emulator, live updates over the Worker's WebSocket. Covers what only
// the Worker provides (timeline sources, pause/resume) and a Worker restart mid-run, which the
// page must survive by reconnecting. Screenshots go to test-artifacts/page/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStack, OPERATOR_TOKEN } from '../worker/helpers.mjs';
import { launchChromium, screenshot, collectPageErrors, missingPrerequisite, WWW } from './harness.mjs';

const skip = missingPrerequisite() ?? false;
let stack;
let browser;

before(async () => {
  if (skip) return;
  [stack, browser] = await Promise.all([startStack({ speed: 3, seed: 31 }), launchChromium()]);
});

after(async () => {
  await browser?.close();
  await stack?.worker.stop();
  await stack?.emu.stop();
});

async function signedIn() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(new URL('/', stack.worker.url).toString());
  await page.locator('#view-signin:not([hidden])').waitFor();
  assert.equal(await page.getByLabel('API base URL').inputValue(), new URL(stack.worker.url).origin, 'defaults to the page origin');
  await page.getByLabel('API token').fill(OPERATOR_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view-list:not([hidden])').waitFor();
  return { context, page, errors };
}

async function submitDemo(page) {
  await page.getByRole('link', { name: 'New batch' }).click();
  await page.locator('#new-file').setInputFiles(join(WWW, 'demo.jsonl'));
  await page.getByText('All 12 rows are valid requests').waitFor();
  await page.locator('#new-submit').click();
  await page.locator('#view-batch:not([hidden])').waitFor();
}

test('served by the Worker: the demo completes live, with the timeline sources and monitoring signals', { skip }, async () => {
  const { context, page, errors } = await signedIn();
  await submitDemo(page);
  await page.locator('#batch-transport', { hasText: 'Live updates' }).waitFor({ timeout: 10_000 });
  await page.evaluate(() => {
    window.__progress = [];
    const bar = document.querySelector('#batch-progress');
    new MutationObserver(() => window.__progress.push(Number(bar.getAttribute('aria-valuenow')))).observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
  });
  await page.locator('#batch-status.in_progress').waitFor({ timeout: 20_000 });
  await screenshot(page, '11-worker-running');
  await page.locator('#batch-status.completed').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('#batch-progress').getAttribute('aria-valuenow'), '100');
  const seen = await page.evaluate(() => window.__progress);
  assert.ok(seen.some((v) => v > 0 && v < 100), `intermediate progress: ${seen}`);
  const sources = await page.locator('#batch-timeline .source').allTextContents();
  assert.ok(sources.length >= 2 && sources.every((s) => ['webhook', 'poll', 'api'].includes(s)), sources.join());
  assert.match(await page.locator('#batch-monitoring').textContent(), /Paused \(batchhook\)\s*no/);
  await page.locator('#batch-totals', { hasText: /Result rows stored\s*12/ }).waitFor({ timeout: 20_000 });
  // The ingestion is a timeline entry that changes no status: shown in words, not as
  // "completed → completed".
  const ingested = page.locator('#batch-timeline li', { hasText: 'results ingested: 12 rows' });
  await ingested.waitFor({ timeout: 20_000 });
  assert.match(await ingested.textContent(), /api/);
  assert.ok(!(await page.locator('#batch-timeline').textContent()).includes('completed → completed'));
  // Delivery facts are labelled rows: counts as numbers, the receipt time as a date like the
  // page's other times, never a raw millisecond count ("1,795,652,996,636").
  const facts = page.locator('#batch-monitoring dt:text-is("Delivery facts") + dd > dl');
  await facts.waitFor({ timeout: 20_000 });
  assert.match(await facts.textContent(), /Received\s*[1-9]\d*\s*Applied\s*\d+/);
  // The gateway's delivery report is the fresher of the last poll's and the deliveries' own:
  // webhooks arrived, so the gateway made attempts (the last poll, before them, said none).
  assert.match(await page.locator('#batch-monitoring').textContent(), /Webhook deliveries \(gateway report\)\s*[1-9]\d* delivered in [1-9]/);
  const received = facts.locator('dt:text-is("Last received at") + dd > time');
  assert.ok(!Number.isNaN(Date.parse(await received.getAttribute('datetime'))));
  assert.doesNotMatch(await page.locator('#batch-monitoring').textContent(), /\d{1,3}(,\d{3}){4}/);
  await screenshot(page, '12-worker-completed');
  assert.deepEqual(errors, []);
  await context.close();
});

test('pause and resume from the page, and a Worker restart mid-run is survived by reconnecting', { skip }, async () => {
  const { context, page, errors } = await signedIn();
  await submitDemo(page);
  await page.locator('#batch-transport', { hasText: 'Live updates' }).waitFor({ timeout: 10_000 });

  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('dialog', { name: 'Pause this batch?' }).getByRole('button', { name: 'Pause' }).click();
  await page.locator('#action-message', { hasText: 'Paused.' }).waitFor();
  await page.locator('#batch-monitoring', { hasText: /Paused \(batchhook\)\s*yes/ }).waitFor();
  await page.locator('#batch-status.paused', { hasText: 'paused by batchhook' }).waitFor();
  assert.ok(await page.getByRole('button', { name: 'Resume' }).isEnabled());
  assert.ok(await page.getByRole('button', { name: 'Pause' }).isDisabled());
  await screenshot(page, '13-worker-paused');
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('dialog', { name: 'Resume this batch?' }).getByRole('button', { name: 'Resume' }).click();
  await page.locator('#action-message', { hasText: 'Resumed.' }).waitFor();

  await page.evaluate(() => {
    window.__transport = [];
    const node = document.querySelector('#batch-transport');
    new MutationObserver(() => window.__transport.push(node.textContent)).observe(node, { childList: true, characterData: true, subtree: true });
  });
  const status = await page.locator('#batch-status').getAttribute('class');
  assert.ok(!/completed|cancelled|failed|expired/.test(status), `still running before the restart (${status})`);
  await stack.worker.restart();
  await page.locator('#batch-status.completed').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('#batch-progress').getAttribute('aria-valuenow'), '100');
  const transports = await page.evaluate(() => window.__transport);
  const lost = transports.indexOf('Connection lost — reconnecting…');
  assert.ok(lost >= 0, `the page noticed the restart: ${transports}`);
  assert.ok(transports.slice(lost).includes('Live updates'), `and reconnected its WebSocket: ${transports}`);
  assert.ok(!transports.includes(TRANSPORT_POLLING), `without falling back to polling: ${transports}`);
  await screenshot(page, '14-worker-after-restart');
  assert.deepEqual(errors.filter((e) => !/net::ERR|ERR_CONNECTION/.test(e)), []);
  await context.close();
});

const TRANSPORT_POLLING = 'Checking for updates every few seconds';
