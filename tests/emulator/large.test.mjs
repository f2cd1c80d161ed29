// A 50,000-row input (the gateway's row limit) uploads, runs and yields a 50,000-row output
// that can also be read in bounded chunks with Range requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, createBatch, waitForBatch, jsonlRows, uploadJsonl } from '../support/emulator.mjs';

let emu;
before(async () => {
  emu = await startEmulator({ speed: 1000, seed: 21 });
});
after(async () => emu?.stop());

const ROWS = 50_000;

test('a 50,000-row batch completes with every row in the output or error file', async () => {
  const failRows = [0, 12_345, 49_999];
  const created = await createBatch(emu, { text: jsonlRows(ROWS, { failRows }), metadata: { 'emulator.run_s': '30' } });
  assert.equal(created.request_counts.total, ROWS);
  const done = await waitForBatch(emu, created.id, undefined, 60_000);
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.request_counts, { total: ROWS, completed: ROWS - 3, failed: 3 });

  const meta = (await emu.api('GET', `/v1/files/${done.output_file_id}`)).body;
  // Read the output in 1 MiB ranges, splitting rows across chunk borders.
  const CHUNK = 1 << 20;
  let carry = '';
  let rows = 0;
  const ids = new Set();
  for (let start = 0; start < meta.bytes; start += CHUNK) {
    const end = Math.min(start + CHUNK, meta.bytes) - 1;
    const res = await emu.api('GET', `/v1/files/${done.output_file_id}/content`, undefined, { range: `bytes=${start}-${end}` });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${meta.bytes}`);
    const lines = (carry + res.text).split('\n');
    carry = lines.pop();
    for (const l of lines) {
      ids.add(JSON.parse(l).custom_id);
      rows++;
    }
  }
  assert.equal(carry, '');
  assert.equal(rows, ROWS - 3);
  assert.equal(ids.size, ROWS - 3);
  const errors = (await emu.api('GET', `/v1/files/${done.error_file_id}/content`)).text.trim().split('\n');
  assert.deepEqual(errors.map((l) => JSON.parse(l).custom_id), failRows.map((i) => `row-${i}`));
  const past = await emu.api('GET', `/v1/files/${done.output_file_id}/content`, undefined, { range: `bytes=${meta.bytes}-` });
  assert.equal(past.status, 416);
});

test('a file over the 50,000-row limit is refused', async () => {
  const res = await uploadJsonl(emu, jsonlRows(ROWS + 1));
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'invalid_file');
  assert.match(res.body.error.message, /50000|50,000/);
});
