// Small DOM helpers shared by the views: element building, dates, announcements, confirmation,
// and turning errors into sentences (the page never shows raw JSON).

export const $ = (selector, root = document) => root.querySelector(selector);

/** Creates an element: `el('a', { href: '#', class: 'x' }, 'text', child)`. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Tells screen-reader users about something that happened outside their focus. */
export function announce(message) {
  const node = $('#announcer');
  node.textContent = '';
  setTimeout(() => {
    node.textContent = message;
  }, 50);
}

export function showMessage(node, message) {
  node.textContent = message ?? '';
  node.hidden = !message;
}

/** Seconds since the epoch, milliseconds or an ISO string → a `<time>` element. */
export function timeEl(value) {
  const date = toDate(value);
  if (!date) return el('span', {}, '—');
  return el('time', { datetime: date.toISOString() }, date.toLocaleString());
}

export function toDate(value) {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number') return new Date(value < 1e12 ? value * 1000 : value);
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatNumber(n) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString() : '—';
}

/** Words for an error from the client, for the person in front of the page. */
export function describeError(err, { action, baseUrl } = {}) {
  const code = err?.code;
  const status = err?.status ?? 0;
  const server = err?.message ? ` (${err.message.replace(/\.$/, '')}.)` : '';
  if (code === 'network_error') {
    return `Could not reach the API${baseUrl ? ` at ${baseUrl}` : ''}. Check the address and your connection, then try again.`;
  }
  if (status === 401 || code === 'unauthorized' || code === 'invalid_token') {
    return 'The API token was not accepted. Sign out and sign in with a valid token.';
  }
  if (status === 403) return `This token is not allowed to do that.${server}`;
  if (status === 404 && action) {
    return `This API does not offer "${action}" for this batch.${server}`;
  }
  if (status === 404) return `Not found: it does not exist, or it belongs to another workspace.${server}`;
  if (status === 409) {
    const done = { cancel: 'cancelled', pause: 'paused', resume: 'resumed' }[action] ?? 'changed';
    return `The batch cannot be ${done} in its current state.${server}`;
  }
  if (status === 429) return 'Too many requests right now. Wait a moment and try again.';
  if (status >= 500) return `The server had a problem and could not finish this request. Try again shortly.${server}`;
  if (code === 'invalid_jsonl') return 'The file has rows that are not valid batch requests. Nothing was uploaded.';
  return err?.message || 'Something went wrong.';
}

/** A modal yes/no question; resolves true on yes. Focus returns to the caller's button. */
export function confirmDialog({ title, text, yes }) {
  const dialog = $('#confirm');
  $('#confirm-title', dialog).textContent = title;
  $('#confirm-text', dialog).textContent = text;
  $('#confirm-yes', dialog).textContent = yes;
  const opener = document.activeElement;
  dialog.returnValue = '';
  dialog.showModal();
  $('#confirm-no', dialog).focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        opener?.focus?.();
        resolve(dialog.returnValue === 'ok');
      },
      { once: true },
    );
  });
}
