// The batch view: live progress over the batch's WebSocket (polling when there is none), the
// lifecycle timeline with the source of each change, the monitoring signals, a banner saying
// where a failure is, cancel/pause/resume with confirmation, results and usage/cost totals.
//
// It reads the worker's `batchhook` block when present and otherwise the gateway's own fields,
// so it also works pointed straight at a gateway.

import { $, el, timeEl, toDate, formatNumber, announce, showMessage, describeError, confirmDialog } from './ui.js';

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'expired']);

const TRANSPORT_TEXT = {
  websocket: 'Live updates',
  reconnecting: 'Connection lost — reconnecting…',
  polling: 'Checking for updates every few seconds',
};

export class BatchView {
  constructor(pkg) {
    this.pkg = pkg;
    this.client = null;
    this.id = null;
    this.batch = null;
    this.unwatch = null;
    this.busy = false;

    $('#action-cancel').addEventListener('click', () =>
      this.act('cancel', {
        title: 'Cancel this batch?',
        text: 'Requests that have not run yet will not run. Finished requests keep their results. A cancelled batch cannot be resumed.',
        yes: 'Cancel batch',
        run: (id) => this.client.cancelBatch(id),
        done: 'Cancellation requested. The batch stops shortly.',
      }),
    );
    $('#action-pause').addEventListener('click', () =>
      this.act('pause', {
        title: 'Pause this batch?',
        text: 'batchhook stops checking the batch and stops passing on its results until you resume. The batch itself keeps running upstream.',
        yes: 'Pause',
        run: (id) => this.client.pauseBatch(id),
        done: 'Paused.',
      }),
    );
    $('#action-resume').addEventListener('click', () =>
      this.act('resume', {
        title: 'Resume this batch?',
        text: 'batchhook checks the batch again and continues passing on results where it stopped.',
        yes: 'Resume',
        run: (id) => this.client.resumeBatch(id),
        done: 'Resumed.',
      }),
    );
    $('#results-download').addEventListener('click', () => this.download());
  }

  enter(client, id) {
    this.client = client;
    this.id = id;
    this.batch = null;
    $('#batch-title').textContent = `Batch ${id}`;
    $('#batch-status').textContent = 'loading…';
    $('#batch-status').className = 'badge';
    for (const node of ['#batch-banner', '#batch-error']) showMessage($(node), '');
    showMessage($('#action-message'), '');
    showMessage($('#results-message'), '');
    $('#batch-timeline').replaceChildren();
    $('#batch-monitoring').replaceChildren();
    $('#batch-totals').replaceChildren();
    this.renderProgress(null);
    this.unwatch = client.watchBatch(id, (batch) => this.render(batch), {
      onError: (err) => showMessage($('#batch-error'), describeError(err, { baseUrl: client.baseUrl })),
      onTransport: (t) => {
        $('#batch-transport').textContent = TRANSPORT_TEXT[t] ?? '';
      },
    });
  }

  leave() {
    this.unwatch?.();
    this.unwatch = null;
    clearTimeout(this.ingestTimer);
  }

  // The worker keeps ingesting results after the batch is terminal (and the watch has ended):
  // re-read the batch until ingestion is done so the totals fill in.
  followIngestion(batch) {
    clearTimeout(this.ingestTimer);
    const state = block(batch).ingestion?.state;
    if (!TERMINAL.has(statusOf(batch)) || !state || state === 'done' || state === 'paused') return;
    const id = this.id;
    this.ingestTimer = setTimeout(async () => {
      try {
        const next = await this.client.getBatch(id);
        if (this.id === id) this.render(next);
      } catch (err) {
        showMessage($('#results-message'), describeError(err, { baseUrl: this.client.baseUrl }));
      }
    }, 2000);
  }

  render(batch) {
    const previous = this.batch;
    this.batch = batch;
    showMessage($('#batch-error'), '');
    const status = statusOf(batch);
    const badge = $('#batch-status');
    const paused = isPaused(batch) && !TERMINAL.has(status);
    badge.textContent = paused ? `${words(status)} · paused by batchhook` : words(status);
    badge.className = `badge ${status}${paused ? ' paused' : ''}`;
    if (previous && statusOf(previous) !== status) announce(`Batch is now ${words(status)}.`);
    if (TERMINAL.has(status)) $('#batch-transport').textContent = 'Finished — no more updates';
    this.renderProgress(batch);
    this.renderBanner(batch);
    this.renderActions(batch);
    this.renderTimeline(batch);
    this.renderMonitoring(batch);
    this.renderResults(batch);
    this.followIngestion(batch);
  }

  renderProgress(batch) {
    const bar = $('#batch-progress');
    const counts = batch?.request_counts ?? {};
    const status = batch ? statusOf(batch) : null;
    const total = counts.total ?? 0;
    const done = (counts.completed ?? 0) + (counts.failed ?? 0);
    // The core's normalised progress (counts, else the gateway's percentage, else 1 when done).
    const fraction = batch ? this.pkg.jobView(batch).progress ?? 0 : 0;
    const percent = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
    bar.setAttribute('aria-valuenow', String(percent));
    bar.setAttribute('aria-valuetext', `${percent}%`);
    $('#batch-progress-bar').style.width = `${percent}%`;
    bar.classList.toggle('done', status === 'completed');
    bar.classList.toggle('stopped', ['failed', 'cancelled', 'expired', 'cancelling'].includes(status));
    $('#batch-counts').textContent = batch
      ? total > 0
        ? `${percent}% — ${formatNumber(done)} of ${formatNumber(total)} requests done (${formatNumber(counts.completed ?? 0)} succeeded, ${formatNumber(counts.failed ?? 0)} failed).`
        : `${percent}% — waiting for the request count.`
      : '';
  }

  renderBanner(batch) {
    const banner = $('#batch-banner');
    const lines = failuresOf(batch, this.pkg).map((f) => describeFailure(f, batch));
    if (!lines.length) {
      banner.hidden = true;
      return;
    }
    const tone = lines.some((l) => l.tone === 'error') ? 'error' : 'warn';
    banner.className = `banner banner-${tone}`;
    banner.setAttribute('role', tone === 'error' ? 'alert' : 'status');
    banner.replaceChildren(...lines.flatMap((l) => [el('strong', {}, l.title), l.detail ? el('span', {}, l.detail) : null]));
    banner.hidden = false;
  }

  renderActions(batch) {
    const status = statusOf(batch);
    const paused = isPaused(batch);
    const terminal = TERMINAL.has(status);
    $('#action-cancel').disabled = this.busy || terminal || status === 'cancelling';
    $('#action-pause').disabled = this.busy || terminal || paused;
    $('#action-resume').disabled = this.busy || terminal || !paused;
  }

  renderTimeline(batch) {
    const entries = timelineOf(batch);
    $('#batch-timeline').replaceChildren(
      ...(entries.length
        ? entries.map((entry) =>
            el(
              'li',
              {},
              timeEl(entry.at),
              entry.from ? `${words(entry.from)} → ${words(entry.to)}` : entry.to === null ? entry.note : words(entry.to),
              entry.source ? el('span', { class: `source ${entry.source}`, title: `Learned through ${entry.source}` }, entry.source) : null,
              entry.note && entry.to !== null ? el('span', { class: 'hint' }, ` ${entry.note}`) : null,
            ),
          )
        : [el('li', {}, 'No changes recorded yet.')]),
    );
  }

  renderMonitoring(batch) {
    const signals = signalsOf(batch);
    // A group of rows (delivery facts) takes the card's full width, its label above it.
    const wide = (value) => (value instanceof Element && value.classList.contains('nested') ? 'wide' : undefined);
    $('#batch-monitoring').replaceChildren(
      ...signals.flatMap(([label, value]) => [el('dt', { class: wide(value) }, label), el('dd', { class: wide(value) }, value)]),
    );
  }

  renderResults(batch) {
    const status = statusOf(batch);
    const totals = totalsOf(batch, this.pkg.jobView(batch));
    $('#batch-totals').replaceChildren(...totals.flatMap(([label, value]) => [el('dt', {}, label), el('dd', {}, value)]));
    const ready = status === 'completed' || Boolean(batch.output_file_id) || Boolean(batch.error_file_id);
    $('#results-download').disabled = !ready;
    if (!ready && !TERMINAL.has(status)) showMessage($('#results-message'), 'Results can be downloaded once the batch has finished.');
    else if ($('#results-message').textContent.startsWith('Results can')) showMessage($('#results-message'), '');
  }

  async act(action, { title, text, yes, run, done }) {
    if (this.busy) return;
    if (!(await confirmDialog({ title, text, yes }))) return;
    this.busy = true;
    this.renderActions(this.batch ?? {});
    const message = $('#action-message');
    showMessage(message, '');
    try {
      const batch = await run(this.id);
      showMessage(message, done);
      if (batch && batch.id) this.render(batch);
    } catch (err) {
      showMessage(message, describeError(err, { action, baseUrl: this.client.baseUrl }));
    } finally {
      this.busy = false;
      if (this.batch) this.renderActions(this.batch);
    }
  }

  async download() {
    const message = $('#results-message');
    const button = $('#results-download');
    button.disabled = true;
    showMessage(message, 'Downloading results…');
    try {
      const lines = [];
      for await (const row of this.client.results(this.id)) lines.push(JSON.stringify(row));
      const blob = new Blob([lines.join('\n') + (lines.length ? '\n' : '')], { type: 'application/jsonl' });
      const link = el('a', { href: URL.createObjectURL(blob), download: `${this.id}-results.jsonl` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      showMessage(message, `Downloaded ${lines.length.toLocaleString()} result rows.`);
    } catch (err) {
      showMessage(message, describeError(err, { baseUrl: this.client.baseUrl }));
    } finally {
      button.disabled = false;
    }
  }
}

function statusOf(batch) {
  return String(batch?.lifecycle_status ?? batch?.status ?? 'unknown').toLowerCase();
}

function words(status) {
  return String(status ?? '').replaceAll('_', ' ');
}

function block(batch) {
  return batch?.batchhook && typeof batch.batchhook === 'object' ? batch.batchhook : {};
}

function isPaused(batch) {
  const b = block(batch);
  return b.paused === true || b.state === 'paused' || statusOf(batch) === 'paused';
}

/**
 * Where the failures are: the worker's classification (it knows who cancelled and how polling
 * went), else the core's classification of the batch object alone.
 */
function failuresOf(batch, pkg) {
  const b = block(batch);
  const list = b.failures ?? b.classification ?? b.failure;
  if (Array.isArray(list)) return list;
  if (list && typeof list === 'object') return [list];
  try {
    return pkg.classifyFailures(batch);
  } catch {
    return [];
  }
}

const WHO = { operator: 'an operator', automation: 'automation' };

/** One banner line per failure, saying where it is. */
function describeFailure(f, batch) {
  const counts = (done, total) => (total ? ` ${formatNumber(done ?? 0)} of ${formatNumber(total)} requests had finished.` : '');
  switch (f.kind) {
    case 'upstream_execution':
      return f.whole_batch
        ? { tone: 'error', title: 'Execution failed upstream (at the gateway or its provider).', detail: capitalise(f.message ?? '') }
        : { tone: 'warn', title: `Completed, but ${formatNumber(f.failed_requests)} of ${formatNumber(f.total_requests)} requests failed upstream.`, detail: 'Their errors are in the results download.' };
    case 'cancelled': {
      const by = WHO[f.by] ? `Cancelled by ${WHO[f.by]}.` : 'Who asked is not recorded (the cancel did not go through the batchhook worker).';
      const url = f.cancel_url_available === true ? ' The cancel URL was still available when it was requested.' : f.cancel_url_available === false ? ' The cancel URL was no longer available when it was requested.' : '';
      return { tone: 'warn', title: 'Stopped by cancellation, not by a failure.', detail: `${by}${url}` };
    }
    case 'expired':
      return { tone: 'error', title: 'Expired: the batch did not finish within its completion window.', detail: counts(f.completed_requests, f.total_requests).trim() };
    case 'webhook_delivery': {
      const status = f.last_response_status ? `last attempt answered HTTP ${f.last_response_status}` : 'the last attempt got no answer';
      const retries = f.pending_retries ? ` ${f.pending_retries} retries are still scheduled.` : ' The gateway has stopped retrying.';
      return {
        tone: 'warn',
        title: `Webhook delivery failed after the batch had ${words(f.after ?? 'finished')}.`,
        detail: `The batch itself is fine; its webhook was not delivered (${status}${f.message ? `: ${f.message}` : ''}).${retries}`,
      };
    }
    case 'reconciliation':
      return {
        tone: 'warn',
        title: 'Reconciliation problem: batchhook cannot confirm this batch with the gateway.',
        detail: `${formatNumber(f.consecutive_failures)} status checks in a row failed${f.last_error ? `; the last one said: ${f.last_error}` : ''}. The state shown may be out of date.`,
      };
    default:
      return { tone: 'warn', title: capitalise(words(f.kind ?? f.where ?? 'problem')), detail: f.message ?? '' };
  }
}

const STAMPS = [
  ['created_at', 'pending'],
  ['in_progress_at', 'in_progress'],
  ['finalizing_at', 'finalizing'],
  ['cancelling_at', 'cancelling'],
  ['completed_at', 'completed'],
  ['failed_at', 'failed'],
  ['cancelled_at', 'cancelled'],
  ['expired_at', 'expired'],
];

/** Words for a timeline entry's `ref` where it records an event rather than its cause (the
 * cause, a delivery or poll id, is not shown). */
function refNote(ref) {
  const ingested = /^results_ingested:(\d+) missing:(\d+) duplicates:(\d+)$/.exec(String(ref ?? ''));
  if (ingested) {
    const [, rows, missing, duplicates] = ingested.map(Number);
    const extra = [missing ? `${missing} missing` : '', duplicates ? `${duplicates} duplicated` : ''].filter(Boolean);
    return `results ingested: ${rows} row${rows === 1 ? '' : 's'}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  }
  if (ref === 'pause' || ref === 'resume') return `${ref}d by an operator`;
  return null;
}

/** The worker's timeline (with sources), else the gateway's timestamps. */
function timelineOf(batch) {
  const list = block(batch).timeline ?? block(batch).events;
  if (Array.isArray(list) && list.length) {
    return list.map((e) => {
      const from = e.from ?? e.from_status ?? null;
      const to = e.to ?? e.to_status ?? e.status ?? e.type ?? '';
      const note = e.note ?? e.reason ?? refNote(e.ref);
      // An entry that changes no status (results ingested) is shown by what happened.
      const same = from !== null && from === to && note !== null;
      return {
        at: e.at ?? e.recorded_at ?? e.time ?? e.created_at,
        from: same ? null : from,
        to: same ? null : to,
        source: String(e.source ?? '').toLowerCase() || null,
        note,
      };
    });
  }
  return STAMPS.filter(([field]) => batch[field])
    .map(([field, to]) => ({ at: batch[field], to, source: null, note: 'gateway timestamp' }))
    .sort((a, b) => (toDate(a.at) ?? 0) - (toDate(b.at) ?? 0));
}

function fmt(value) {
  if (value === undefined || value === null || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => `${words(k)}: ${fmt(v)}`)
      .join(', ');
  }
  return String(value);
}

function dateOrDash(value) {
  return toDate(value) ? timeEl(value) : '—';
}

/**
 * A signal's value for display: `*_at` fields as dates (like every other time on the page), a
 * nested object such as `delivery_facts` as labelled rows of its own, anything else via `fmt`.
 */
function signalValue(key, value) {
  if (key.endsWith('_at')) return dateOrDash(value);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return '—';
    return el('dl', { class: 'signals nested' }, ...entries.flatMap(([k, v]) => [el('dt', {}, capitalise(words(k))), el('dd', {}, signalValue(k, v))]));
  }
  return fmt(value);
}

function deliveriesText(delivered, attempts, pending) {
  if (delivered === null && attempts === null && pending === null) return 'none reported (no webhook on this batch yet)';
  return `${fmt(delivered ?? 0)} delivered in ${fmt(attempts ?? 0)} attempts, ${fmt(pending ?? 0)} retries pending`;
}

/** The recipe §7 signals: lifecycle, correlation ids, webhook delivery, failures, cancel_url. */
function signalsOf(batch) {
  const b = block(batch);
  const s = b.signals ?? b.monitoring ?? {};
  const delivery = { ...(batch.webhook?.delivery ?? {}), ...(s.gateway_delivery ?? {}), ...(s.delivery ?? {}) };
  const pick = (...keys) => {
    for (const key of keys) {
      const v = s[key] ?? delivery[key] ?? batch[key];
      if (v !== undefined && v !== null) return v;
    }
    return null;
  };
  const rows = [
    ['Lifecycle status', words(statusOf(batch))],
    ['Paused (batchhook)', isPaused(batch) ? 'yes' : 'no'],
    ['Provider', fmt(pick('provider'))],
    ['Request id', fmt(pick('request_id'))],
    ['Provider batch id', fmt(pick('native_batch_id'))],
    ['Webhook deliveries (gateway report)', deliveriesText(pick('delivered_events', 'deliveries_succeeded', 'delivery_success_count'), pick('total_attempts', 'delivery_attempts'), pick('pending_retries', 'retry_count', 'delivery_retry_count'))],
    ['Last delivery HTTP status', fmt(pick('last_delivery_http_status', 'last_response_status', 'last_delivery_status'))],
    ['Last failure', dateOrDash(pick('last_failure_at'))],
    ['Last failure message', fmt(pick('last_error_message', 'last_failure_message'))],
    pick('cancel_url_available_at_cancel', 'cancel_url_available') !== null
      ? ['Cancel URL available at cancel time', fmt(pick('cancel_url_available_at_cancel', 'cancel_url_available'))]
      : ['Cancellable now (cancel URL)', batch.cancel_url ? 'yes' : 'no'],
  ];
  for (const [key, value] of Object.entries(s)) {
    const known = ['provider', 'request_id', 'native_batch_id', 'delivery', 'gateway_delivery', 'last_delivery_http_status', 'lifecycle_status', 'last_failure_at', 'last_error_message', 'last_failure_message',
      'last_response_status', 'last_delivery_status', 'delivered_events', 'deliveries_succeeded', 'delivery_success_count', 'total_attempts', 'delivery_attempts',
      'pending_retries', 'retry_count', 'delivery_retry_count', 'cancel_url_available_at_cancel', 'cancel_url_available'];
    if (known.includes(key)) continue;
    rows.push([capitalise(words(key)), signalValue(key, value)]);
  }
  return rows;
}

/** Requests, tokens and cost: the worker's result totals, else the core's view of the batch. */
function totalsOf(batch, view) {
  const b = block(batch);
  const t = b.totals ?? b.ingestion?.totals ?? {};
  const counts = batch.request_counts ?? {};
  const nanos = t.cost_nanos ?? view.cost?.nanos;
  const currency = t.currency ?? view.cost?.currency ?? 'USD';
  const cost = typeof t.cost_usd === 'number' ? `$${t.cost_usd.toFixed(6)}` : typeof nanos === 'number' ? `${(nanos / 1e9).toFixed(6)} ${currency}` : '—';
  const rows = [
    ['Requests', `${fmt(counts.total)} total, ${fmt(counts.completed)} succeeded, ${fmt(counts.failed)} failed`],
    ['Input tokens', fmt(t.usage?.prompt_tokens ?? view.input_tokens)],
    ['Output tokens', fmt(t.usage?.completion_tokens ?? view.output_tokens)],
    ['Total tokens', fmt(t.usage?.total_tokens ?? view.total_tokens)],
    ['Cost', cost],
  ];
  if (t.rows !== undefined) rows.push(['Result rows stored', `${fmt(t.rows)} (${fmt(t.succeeded)} succeeded, ${fmt(t.failed)} failed)`]);
  return rows;
}

function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}
