// The batch page in real headless Chromium: sign in, submit the demo file and watch it complete
// through live updates, an invalid file shows its row errors and uploads nothing, cancel
// mid-run ends cancelled with the right banner, plus the list and a narrow screen. Screenshots
// of each state go to test-artifacts/page/.
//
// The page is served from www/ by a static server and talks to the gateway emulator (CORS open,
// the same /v1 API as the worker, a WebSocket per batch).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, jsonlRows, createBatch } from '../support/emulator.mjs';
import { serveWww, launchChromium, screenshot, collectPageErrors, missingPrerequisite, WWW } from './harness.mjs';

const skip = missingPrerequisite() ?? false;
let emu;
let www;
let browser;
let files;

before(async () => {
  if (skip) return;
  [emu, www, browser] = await Promise.all([startEmulator({ speed: 5, seed: 11 }), serveWww(), launchChromium()]);
  files = mkdtempSync(join(tmpdir(), 'batchhook-page-'));
});

after(async () => {
  await browser?.close();
  await www?.close();
  await emu?.stop();
  if (files) rmSync(files, { recursive: true, force: true });
});

/** A signed-in page on the given view, failing the test on page errors. */
async function signedIn(context, hash = '#/batches') {
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${www.url}/?api=${encodeURIComponent(emu.url)}`);
  await page.getByLabel('API token').fill(emu.apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view-list:not([hidden])').waitFor();
  await page.evaluate((h) => (location.hash = h), hash);
  return { page, errors };
}

async function batchCount() {
  const res = await emu.api('GET', '/v1/batches?limit=100');
  return res.body.data.length;
}

test('sign-in refuses a wrong token in words and accepts the right one', { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${www.url}/?api=${encodeURIComponent(emu.url)}`);
  await page.locator('#view-signin:not([hidden])').waitFor();
  assert.equal(await page.getByLabel('API base URL').inputValue(), emu.url);
  await page.getByLabel('API token').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.locator('#signin-error');
  await alert.waitFor();
  assert.match(await alert.textContent(), /token was not accepted/);
  assert.doesNotMatch(await alert.textContent(), /[{}]/, 'no raw JSON');
  await screenshot(page, '01-signin-error');
  await page.getByLabel('API token').fill(emu.apiKey);
  await page.keyboard.press('Enter');
  await page.locator('#view-list:not([hidden])').waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('the demo file is validated, submitted once on a double click, and completes with the bar at 100% through live updates', { skip }, async () => {
  const context = await browser.newContext();
  const { page, errors } = await signedIn(context, '#/new');
  await page.locator('#view-new:not([hidden])').waitFor();
  await page.locator('#new-file').setInputFiles(join(WWW, 'demo.jsonl'));
  await page.getByText('All 12 rows are valid requests').waitFor();
  await page.getByLabel('Key').first().fill('job');
  await page.getByLabel('Value').first().fill('page-test');
  await screenshot(page, '02-submit-valid');

  const before = await batchCount();
  let uploads = 0;
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/v1/files')) uploads++;
  });
  await page.locator('#new-submit').dblclick();
  await page.locator('#view-batch:not([hidden])').waitFor();
  const id = decodeURIComponent((await page.evaluate(() => location.hash)).replace('#/batches/', ''));
  assert.match(id, /^batch_/);

  // Record every value the progress bar takes, as the page renders it.
  await page.evaluate(() => {
    window.__progress = [];
    const bar = document.querySelector('#batch-progress');
    new MutationObserver(() => window.__progress.push(Number(bar.getAttribute('aria-valuenow')))).observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
  });
  await page.locator('#batch-transport', { hasText: 'Live updates' }).waitFor({ timeout: 10_000 });
  await page.locator('#batch-status.in_progress').waitFor({ timeout: 15_000 });
  await screenshot(page, '03-batch-running');
  await page.locator('#batch-status.completed').waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('#batch-progress').getAttribute('aria-valuenow'), '100');
  const seen = await page.evaluate(() => window.__progress);
  assert.ok(seen.some((v) => v > 0 && v < 100), `intermediate progress shown live: ${seen}`);
  assert.match(await page.locator('#batch-counts').textContent(), /12 of 12 requests done/);
  assert.ok(await page.locator('#batch-banner').isHidden(), 'no failure banner for a clean completion');
  assert.ok(await page.locator('#action-cancel').isDisabled());
  assert.match(await page.locator('#batch-totals').textContent(), /Total tokens\s*[1-9]/);
  const timeline = await page.locator('#batch-timeline li').allTextContents();
  assert.ok(timeline.some((t) => /completed/.test(t)), `timeline: ${timeline}`);
  const monitoring = await page.locator('#batch-monitoring').textContent();
  assert.match(monitoring, /Lifecycle status\s*completed/);

  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download results (JSONL)' }).click();
  const file = await download;
  assert.equal(file.suggestedFilename(), `${id}-results.jsonl`);
  await page.getByText('Downloaded 12 result rows.').waitFor();
  await screenshot(page, '04-batch-completed');

  assert.equal(uploads, 1, 'one upload for a double click');
  assert.equal(await batchCount(), before + 1, 'one batch for a double click');
  assert.deepEqual(errors, []);
  await context.close();
});

test('an invalid file shows its row errors and uploads nothing', { skip }, async () => {
  const context = await browser.newContext();
  const { page, errors } = await signedIn(context, '#/new');
  const path = join(files, 'broken.jsonl');
  writeFileSync(
    path,
    `${jsonlRows(1)}{"custom_id":"row-0","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}\n{"custom_id":"x","method":"GET","url":"/v1/embeddings","body":{}}\nnot json at all\n`,
  );
  let requests = 0;
  page.on('request', (r) => {
    if (r.url().startsWith(emu.url) && r.method() !== 'GET') requests++;
  });
  await page.locator('#new-file').setInputFiles(path);
  const rows = page.locator('#validation table.errors tbody tr');
  await rows.first().waitFor();
  const cells = await rows.evaluateAll((trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
  assert.deepEqual(cells.map(([row]) => row), ['2', '3', '3', '3', '4']);
  assert.match(cells[0][1], /already used by row 1/);
  assert.match(cells[4][1], /not valid JSON/);
  assert.match(await page.locator('#validation').textContent(), /5 problems found\. Nothing has been uploaded\./);
  assert.ok(await page.locator('#new-submit').isDisabled());
  await screenshot(page, '05-invalid-file');
  await page.locator('#new-form').evaluate((form) => form.requestSubmit());
  await page.waitForTimeout(300);
  assert.equal(requests, 0, 'nothing was uploaded');
  assert.deepEqual(errors, []);
  await context.close();
});

test('cancel mid-run asks for confirmation and ends cancelled with the cancellation banner', { skip }, async () => {
  const context = await browser.newContext();
  const { page, errors } = await signedIn(context, '#/new');
  const path = join(files, 'long.jsonl');
  writeFileSync(path, jsonlRows(200, { prefix: 'long' }));
  await page.locator('#new-file').setInputFiles(path);
  await page.getByText('All 200 rows are valid requests').waitFor();
  await page.locator('#new-submit').click();
  await page.locator('#batch-status.in_progress').waitFor({ timeout: 15_000 });

  await page.getByRole('button', { name: 'Cancel batch' }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel this batch?' });
  await dialog.waitFor();
  await screenshot(page, '06-cancel-confirm');
  // Escape keeps it running.
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.ok(!(await page.locator('#batch-status').getAttribute('class')).includes('cancel'));

  await page.getByRole('button', { name: 'Cancel batch' }).click();
  await dialog.getByRole('button', { name: 'Cancel batch' }).click();
  await page.getByText('Cancellation requested').waitFor();
  await page.locator('#batch-status.cancelled').waitFor({ timeout: 20_000 });
  const banner = page.locator('#batch-banner');
  await banner.waitFor();
  assert.match(await banner.textContent(), /Stopped by cancellation, not by a failure/);
  assert.ok(Number(await page.locator('#batch-progress').getAttribute('aria-valuenow')) < 100);
  await screenshot(page, '07-cancelled');

  // A second cancel is refused by the server with 409: the page says so in words.
  await page.locator('#action-cancel').evaluate((b) => (b.disabled = false));
  await page.locator('#action-cancel').click();
  await dialog.getByRole('button', { name: 'Cancel batch' }).click();
  await page.locator('#action-message', { hasText: 'cannot be cancelled in its current state' }).waitFor();
  const message = await page.locator('#action-message').textContent();
  assert.match(message, /already cancelled/);
  assert.doesNotMatch(message, /[{}]/);
  await screenshot(page, '08-cancel-409');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the list filters by status aliases, pages with the cursor and fits a narrow screen', { skip }, async () => {
  for (let i = 0; i < 12; i++) await createBatch(emu, { rows: 1 });
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const { page, errors } = await signedIn(context, '#/batches');
  await page.locator('#list-table tbody tr').first().waitFor();
  await page.getByLabel('Per page').selectOption('10');
  await page.getByLabel('Status').selectOption('canceled');
  await page.waitForFunction(() => [...document.querySelectorAll('#list-table tbody tr')].every((tr) => /cancelled/.test(tr.textContent)));
  assert.ok((await page.locator('#list-table tbody tr').count()) >= 1);
  await page.getByLabel('Status').selectOption('');
  await page.waitForFunction(() => document.querySelectorAll('#list-table tbody tr').length === 10);
  const first = await page.locator('#list-table tbody tr td a').allTextContents();
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.locator('#list-page', { hasText: 'Page 2' }).waitFor();
  const second = await page.locator('#list-table tbody tr td a').allTextContents();
  assert.ok(second.length >= 1 && second.every((id) => !first.includes(id)));
  await page.getByRole('button', { name: 'Previous page' }).click();
  await page.locator('#list-page', { hasText: 'Page 1' }).waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `no horizontal scrolling of the page (scrollWidth ${width})`);
  await screenshot(page, '09-list-narrow');
  await page.evaluate(() => (location.hash = '#/new'));
  await page.locator('#view-new:not([hidden])').waitFor();
  await screenshot(page, '10-submit-narrow');
  assert.deepEqual(errors, []);
  await context.close();
});
