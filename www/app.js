// The page's entry: loads the batchhook package, keeps the sign-in for this tab, and routes
// between the three views (#/new, #/batches, #/batches/<id>).

import { $, showMessage, describeError } from './ui.js';

const STORE = { base: 'batchhook.baseUrl', token: 'batchhook.token' };

let pkg;
let client = null;
let current = null;

const views = {};

async function boot() {
  try {
    pkg = await import('./pkg/client/index.js');
  } catch (err) {
    $('#loading').textContent =
      'The batchhook package could not be loaded. Build it with "npm run build" and reload this page.';
    console.error(err);
    return;
  }
  const [{ SubmitView }, { ListView }, { BatchView }] = await Promise.all([
    import('./submit.js'),
    import('./list.js'),
    import('./batch.js'),
  ]);
  views.new = new SubmitView(pkg);
  views.list = new ListView();
  views.batch = new BatchView(pkg);
  $('#loading').hidden = true;

  setUpSignIn();
  $('#sign-out').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  const saved = { baseUrl: sessionStorage.getItem(STORE.base), token: sessionStorage.getItem(STORE.token) };
  if (saved.baseUrl && saved.token) client = new pkg.BatchClient(saved);
  route();
}

function defaultBaseUrl() {
  const fromQuery = new URLSearchParams(location.search).get('api');
  if (fromQuery) return fromQuery;
  return location.protocol.startsWith('http') ? location.origin : '';
}

function setUpSignIn() {
  const form = $('#signin-form');
  $('#signin-base').value = sessionStorage.getItem(STORE.base) || defaultBaseUrl();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = $('#signin-error');
    const baseUrl = $('#signin-base').value.trim();
    const token = $('#signin-token').value.trim();
    if (!baseUrl || !token) {
      showMessage(error, !baseUrl ? 'Enter the API base URL.' : 'Enter your API token.');
      (!baseUrl ? $('#signin-base') : $('#signin-token')).focus();
      return;
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    showMessage(error, '');
    try {
      const candidate = new pkg.BatchClient({ baseUrl, token });
      await candidate.listPage({ limit: 1 });
      client = candidate;
      sessionStorage.setItem(STORE.base, baseUrl);
      sessionStorage.setItem(STORE.token, token);
      $('#signin-token').value = '';
      location.hash = '#/batches';
      route();
    } catch (err) {
      showMessage(error, describeError(err, { baseUrl }));
      $('#signin-token').focus();
    } finally {
      button.disabled = false;
    }
  });
}

function signOut() {
  sessionStorage.removeItem(STORE.token);
  client = null;
  location.hash = '#/signin';
  route();
}

function show(name) {
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${name}`;
  $('#nav').hidden = name === 'signin';
  for (const link of document.querySelectorAll('#nav a')) {
    const active = location.hash.startsWith(link.getAttribute('href'));
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Shows the view the hash names; the previous view stops its timers and sockets. */
function route() {
  const hash = location.hash || '#/batches';
  current?.leave?.();
  current = null;
  if (!client) {
    show('signin');
    document.title = 'Sign in — batchhook';
    $('#signin-base').focus();
    return;
  }
  const match = /^#\/batches\/(.+)$/.exec(hash);
  if (match) {
    show('batch');
    current = views.batch;
    current.enter(client, decodeURIComponent(match[1]));
  } else if (hash === '#/new') {
    show('new');
    current = views.new;
    current.enter(client);
  } else {
    show('list');
    current = views.list;
    current.enter(client);
  }
  const heading = document.querySelector('.view:not([hidden]) h2');
  document.title = `${heading?.textContent ?? 'batchhook'} — batchhook`;
  $('#main').focus({ preventScroll: true });
}

boot();
