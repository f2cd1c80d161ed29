// The "New batch" view: choose or drop a JSONL file, see its rows validated locally, pick the
// endpoint, completion window and metadata, and submit exactly once.

import { $, el, announce, showMessage, describeError } from './ui.js';

export class SubmitView {
  constructor(pkg) {
    this.pkg = pkg;
    this.client = null;
    this.file = null;
    this.text = null;
    this.report = null;
    this.submitting = false;
    // One idempotency key per chosen file: a double click, or a retry after a lost answer,
    // returns the batch that was already created instead of creating a second one.
    this.jobId = null;

    const input = $('#new-file');
    input.addEventListener('change', () => input.files[0] && this.choose(input.files[0]));
    const drop = $('#drop');
    drop.addEventListener('dragover', (event) => {
      event.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (event) => {
      event.preventDefault();
      drop.classList.remove('over');
      const file = event.dataTransfer?.files?.[0];
      if (file) this.choose(file);
    });
    $('#use-demo').addEventListener('click', async () => {
      const response = await fetch(new URL('./demo.jsonl', import.meta.url));
      this.choose(new File([await response.blob()], 'demo.jsonl', { type: 'application/jsonl' }));
    });
    $('#new-endpoint').addEventListener('change', () => this.validate());
    $('#metadata-add').addEventListener('click', () => this.addMetadataRow('', '', true));
    $('#new-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  enter(client) {
    this.client = client;
    if (!$('#metadata-rows').children.length) this.addMetadataRow('', '', false);
  }

  leave() {}

  addMetadataRow(key, value, focus) {
    const n = (this.rowSeq = (this.rowSeq ?? 0) + 1);
    const row = el(
      'div',
      { class: 'metadata-row' },
      el('div', { class: 'field' }, el('label', { for: `meta-key-${n}` }, 'Key'), el('input', { id: `meta-key-${n}`, type: 'text', class: 'meta-key', value: key, spellcheck: 'false' })),
      el('div', { class: 'field' }, el('label', { for: `meta-value-${n}` }, 'Value'), el('input', { id: `meta-value-${n}`, type: 'text', class: 'meta-value', value })),
      el('button', { type: 'button', 'aria-label': `Remove metadata entry ${n}`, onclick: () => row.remove() }, 'Remove'),
    );
    $('#metadata-rows').append(row);
    if (focus) row.querySelector('input').focus();
  }

  metadata() {
    const out = {};
    for (const row of document.querySelectorAll('#metadata-rows .metadata-row')) {
      const key = row.querySelector('.meta-key').value.trim();
      if (key) out[key] = row.querySelector('.meta-value').value;
    }
    return out;
  }

  async choose(file) {
    this.file = file;
    this.jobId = crypto.randomUUID();
    $('#file-name').textContent = `${file.name} (${file.size.toLocaleString()} bytes)`;
    showMessage($('#new-error'), '');
    this.text = await file.text();
    this.validate();
  }

  validate() {
    const box = $('#validation');
    box.replaceChildren();
    if (this.text === null) return this.updateButton();
    const report = this.pkg.validateJsonl(this.text, { endpoint: $('#new-endpoint').value });
    this.report = report;
    if (report.valid) {
      box.append(el('p', { class: 'validation-ok' }, `All ${report.rows.toLocaleString()} rows are valid requests for ${$('#new-endpoint').value}.`));
    } else {
      const count = report.error_count ?? report.errors.length;
      box.append(
        el('div', { class: 'banner banner-error', id: 'validation-summary' },
          el('strong', {}, `This file cannot be submitted: ${count.toLocaleString()} problem${count === 1 ? '' : 's'} found. Nothing has been uploaded.`),
          report.file_error ? el('span', {}, capitalise(report.file_error)) : null),
      );
      if (report.errors.length) {
        box.append(
          el('table', { class: 'errors', 'aria-describedby': 'validation-summary' },
            el('caption', { class: 'visually-hidden' }, 'Problems by row'),
            el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Row'), el('th', { scope: 'col' }, 'Problem'))),
            el('tbody', {}, report.errors.map((e) => el('tr', {}, el('td', {}, e.row), el('td', {}, capitalise(e.error))))),
          ),
        );
        if (count > report.errors.length) {
          box.append(el('p', { class: 'hint' }, `Showing the first ${report.errors.length} of ${count} problems.`));
        }
      }
    }
    announce(report.valid ? 'The file is valid.' : 'The file has errors; see the list of problems.');
    this.updateButton();
  }

  updateButton() {
    const button = $('#new-submit');
    button.disabled = this.submitting || !this.report?.valid;
    button.textContent = this.submitting ? 'Submitting…' : 'Submit batch';
    button.setAttribute('aria-busy', String(this.submitting));
  }

  async submit() {
    if (this.submitting || !this.report?.valid || !this.file) return;
    this.submitting = true;
    this.updateButton();
    const error = $('#new-error');
    showMessage(error, '');
    try {
      const endpoint = $('#new-endpoint').value;
      const file = await this.client.uploadFile(this.file, { endpoint });
      const batch = await this.client.createBatch({
        inputFileId: file.id,
        endpoint,
        completionWindow: $('#new-window').value,
        metadata: this.metadata(),
        clientJobId: this.jobId,
      });
      announce(`Batch ${batch.id} created.`);
      this.reset();
      location.hash = `#/batches/${encodeURIComponent(batch.id)}`;
    } catch (err) {
      if (err.code === 'invalid_jsonl' && err.rows) {
        this.report = { valid: false, rows: 0, errors: err.rows, error_count: err.rows.length };
      }
      showMessage(error, describeError(err, { baseUrl: this.client.baseUrl }));
      error.focus?.();
    } finally {
      this.submitting = false;
      this.updateButton();
    }
  }

  reset() {
    this.file = null;
    this.text = null;
    this.report = null;
    this.jobId = null;
    $('#new-file').value = '';
    $('#file-name').textContent = '';
    $('#validation').replaceChildren();
  }
}

function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}
