// The "Batches" view: the workspace's batches with a status filter (aliases included), cursor
// pagination and auto-refresh.

import { $, el, timeEl, showMessage, describeError } from './ui.js';

const REFRESH_MS = 5000;

export class ListView {
  constructor() {
    this.client = null;
    this.cursors = [undefined];
    this.page = null;
    this.timer = null;
    this.loading = false;

    $('#list-status').addEventListener('change', () => this.restart());
    $('#list-limit').addEventListener('change', () => this.restart());
    $('#list-form').addEventListener('submit', (event) => event.preventDefault());
    $('#list-refresh').addEventListener('click', () => this.load());
    $('#list-auto').addEventListener('change', () => this.schedule());
    $('#list-next').addEventListener('click', () => {
      if (!this.page?.has_more) return;
      this.cursors.push(this.page.last_id);
      this.load();
    });
    $('#list-prev').addEventListener('click', () => {
      if (this.cursors.length < 2) return;
      this.cursors.pop();
      this.load();
    });
  }

  enter(client) {
    this.client = client;
    this.load();
    this.schedule();
  }

  leave() {
    clearInterval(this.timer);
    this.timer = null;
  }

  restart() {
    this.cursors = [undefined];
    this.load();
  }

  schedule() {
    clearInterval(this.timer);
    this.timer = null;
    if (!$('#list-auto').checked) return;
    this.timer = setInterval(() => {
      if (!document.hidden) this.load();
    }, REFRESH_MS);
  }

  async load() {
    if (this.loading) return;
    this.loading = true;
    const error = $('#list-error');
    try {
      const page = await this.client.listPage({
        status: $('#list-status').value || undefined,
        limit: Number($('#list-limit').value),
        after: this.cursors.at(-1),
      });
      this.page = page;
      showMessage(error, '');
      this.render(page);
    } catch (err) {
      showMessage(error, describeError(err, { baseUrl: this.client.baseUrl }));
    } finally {
      this.loading = false;
    }
  }

  render(page) {
    const body = $('#list-table tbody');
    body.replaceChildren(
      ...page.data.map((batch) => {
        const status = batch.lifecycle_status ?? batch.status ?? 'unknown';
        const counts = batch.request_counts ?? {};
        const done = (counts.completed ?? 0) + (counts.failed ?? 0);
        return el(
          'tr',
          {},
          el('td', { 'data-label': 'Batch' }, el('a', { href: `#/batches/${encodeURIComponent(batch.id)}` }, batch.id)),
          el('td', { 'data-label': 'Status' }, el('span', { class: `badge ${status}` }, status.replace('_', ' '))),
          el('td', { 'data-label': 'Progress' }, counts.total ? `${done} / ${counts.total}` : '—'),
          el('td', { 'data-label': 'Endpoint' }, batch.endpoint ?? '—'),
          el('td', { 'data-label': 'Created' }, timeEl(batch.created_at)),
        );
      }),
    );
    $('#list-empty').hidden = page.data.length > 0;
    $('#list-prev').disabled = this.cursors.length < 2;
    $('#list-next').disabled = !page.has_more;
    $('#list-page').textContent = `Page ${this.cursors.length}`;
  }
}
