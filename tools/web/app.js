/*
 * The Email Logs page of `mtalog serve`: a search form whose state lives in
 * the URL, a results table with a quick filter and a "More" button that
 * follows the API's cursor, status tooltips, and the message page /m/ID.
 * When the server has users (--users), a log-in form first; then the
 * user's name and a log-out button (the server decides what they see).
 * Plain DOM; every text from the logs goes in with textContent.
 */
'use strict';

const MEANING = {
  delivered: 'Delivered: accepted by the next hop or the mailbox.',
  delayed: 'Delayed: a temporary failure; still queued and retried.',
  bounced: 'Bounced: a permanent failure; the sender was notified.',
  expired: 'Expired: retried until the queue lifetime ran out, then returned.',
  queued: 'Queued: accepted; no delivery attempt logged yet.',
  quarantined: 'Quarantined: held by a filter; may be released.',
  blocked: 'Blocked: rejected or discarded; never delivered.',
};
const API_PARAMS = ['to', 'from', 'subject', 'status', 'direction', 'since', 'until'];
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

function showTime(t) {
  return t ? t.replace('T', ' ').replace(/Z$/, '') : '';
}

function delayText(d) {
  if (d === null || d === undefined) return '';
  if (d < 60) return `${+d.toFixed(2)} s`;
  if (d < 3600) return `${(d / 60).toFixed(1)} min`;
  return `${(d / 3600).toFixed(1)} h`;
}

async function getJSON(url, init) {
  const r = await fetch(url, { headers: { Accept: 'application/json' }, ...(init || {}) });
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  /* the session ended (logout elsewhere, expiry): back to the form */
  if (r.status === 401 && !url.startsWith('/login')) showLogin();
  if (!r.ok) {
    const err = new Error((body && body.error) || `${r.status} ${r.statusText}`);
    err.status = r.status;
    err.parameter = body && body.parameter;
    throw err;
  }
  return body;
}

/* ---- status tooltip ---- */

const tip = $('#tip');
let tipOwner = null;

function statusBadge(row) {
  const b = el('span', { class: `status st-${row.status}`, tabindex: '0', text: row.status });
  b.tipRow = row;
  b.setAttribute('aria-describedby', 'tip');
  return b;
}

function showTip(badge) {
  const row = badge.tipRow;
  tip.replaceChildren();
  tip.append(el('strong', { text: MEANING[row.status] || row.status }));
  const facts = [
    ['Reason', row.reason], ['DSN', row.dsn], ['Relay', row.relay], ['Delay', delayText(row.delay)],
  ];
  const dl = el('dl');
  for (const [k, v] of facts) {
    if (!v) continue;
    dl.append(el('dt', { text: k }), el('dd', { text: v }));
  }
  if (dl.childElementCount) tip.append(dl);
  tip.hidden = false;
  tipOwner = badge;
  const r = badge.getBoundingClientRect();
  const w = Math.min(420, window.innerWidth - 16);
  tip.style.maxWidth = `${w}px`;
  const left = Math.max(8, Math.min(r.left + window.scrollX, window.scrollX + window.innerWidth - w - 8));
  tip.style.left = `${left}px`;
  /* below the badge, or above it when the window ends first */
  const below = r.bottom + 6;
  const h = tip.offsetHeight;
  const top = below + h > window.innerHeight && r.top - h - 6 > 0 ? r.top - h - 6 : below;
  tip.style.top = `${top + window.scrollY}px`;
}

function hideTip() {
  tip.hidden = true;
  tipOwner = null;
}

for (const ev of ['mouseover', 'focusin']) {
  document.addEventListener(ev, (e) => {
    const b = e.target.closest && e.target.closest('.status');
    if (b && b.tipRow) showTip(b);
    else if (ev === 'focusin' && tipOwner) hideTip();
  });
}
document.addEventListener('mouseout', (e) => {
  const b = e.target.closest && e.target.closest('.status');
  if (b && b === tipOwner && !b.contains(e.relatedTarget) && document.activeElement !== b) hideTip();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && tipOwner) hideTip();
});

/* ---- the search page ---- */

const form = $('#search');
const tbody = $('#rows tbody');
const quick = $('#quick');
const moreBtn = $('#more');
let loaded = [];      /* { row, tr, text } */
let nextCursor = null;
let apiQuery = '';
let searchSeq = 0;

/* The form as URL parameters (the page's and, converted, the API's). */
function formParams() {
  const p = new URLSearchParams();
  for (const name of API_PARAMS) {
    const v = form.elements[name].value.trim();
    if (v) p.set(name, v);
  }
  return p;
}

function apiParams(pageParams) {
  const p = new URLSearchParams();
  for (const [k, v] of pageParams) {
    if (!API_PARAMS.includes(k) || !v) continue;
    /* datetime-local is "YYYY-MM-DDTHH:MM[:SS]"; the page means UTC */
    if ((k === 'since' || k === 'until') && /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(v))
      p.set(k, `${v.length === 16 ? `${v}:00` : v}Z`);
    else p.set(k, v);
  }
  return p;
}

function fillForm(pageParams) {
  for (const name of API_PARAMS) {
    const f = form.elements[name];
    const v = pageParams.get(name) || '';
    if (f.tagName === 'SELECT') {
      const opt = Array.from(f.options).find((o) => o.value === v);
      f.selectedIndex = opt ? opt.index : 0;
    } else {
      f.value = v;
    }
  }
}

function rowText(r) {
  return [showTime(r.time), r.direction, r.from, r.to, r.orig_to, r.subject, r.status, r.reason,
    r.host, r.queue_id, r.message_id, r.client_ip, r.relay, r.dsn].join(' ').toLowerCase();
}

function rowElement(r) {
  const tr = el('tr', { tabindex: '0', 'data-id': r.id });
  const cell = (label, content, cls) => {
    const td = el('td', { 'data-label': label });
    if (cls) td.className = cls;
    td.append(content);
    return td;
  };
  tr.append(
    cell('Time', showTime(r.time), 'time'),
    cell('Direction', r.direction || '', 'dir'),
    cell('Sender', r.from || '<>', 'addr'),
    cell('Recipient', r.to || '', 'addr'),
    cell('Subject', r.subject || '', 'subject'),
    cell('Status', statusBadge(r), 'st'),
  );
  if (r.orig_to && r.orig_to !== r.to) tr.children[3].title = `originally to ${r.orig_to}`;
  return tr;
}

function applyQuick() {
  const terms = quick.value.toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const item of loaded) {
    const ok = terms.every((t) => item.text.includes(t));
    item.tr.hidden = !ok;
    if (ok) shown++;
  }
  const total = loaded.length;
  const more = nextCursor ? '+' : '';
  $('#count').textContent = terms.length
    ? `${shown} of ${total}${more} rows`
    : `${total}${more} row${total === 1 ? '' : 's'}`;
  $('#empty').hidden = total !== 0;
}

function addRows(rows) {
  const frag = document.createDocumentFragment();
  for (const r of rows) {
    const tr = rowElement(r);
    loaded.push({ row: r, tr, text: rowText(r) });
    frag.append(tr);
  }
  tbody.append(frag);
}

/* A search that stopped at its time budget, or whose pattern gave up on
 * some subjects: say so, and that More goes on where it stopped. */
function showPartial(res) {
  const box = $('#partial');
  if (res.complete !== false) {
    box.hidden = true;
    return;
  }
  box.textContent = res.stopped === 'deadline'
    ? `This search stopped at its time limit after reading ${res.examined} messages: the rows shown are those found so far, newest first.${res.next ? ' More searches on from there;' : ''} a recipient, sender, subject word or status finds rows faster.`
    : `The subject pattern was too costly on ${res.regex_gave_up} subjects (too much backtracking): rows may be missing. Simplify the pattern.`;
  box.hidden = false;
}

function showError(box, err) {
  box.textContent = err ? err.message : '';
  box.hidden = !err;
  form.querySelectorAll('[aria-invalid]').forEach((f) => f.removeAttribute('aria-invalid'));
  if (err && err.parameter && form.elements[err.parameter])
    form.elements[err.parameter].setAttribute('aria-invalid', 'true');
}

async function runSearch(pageParams) {
  const seq = ++searchSeq;
  const api = apiParams(pageParams);
  apiQuery = api.toString();
  $('#csv').href = `/api/search.csv${apiQuery ? `?${apiQuery}` : ''}`;
  showError($('#error'), null);
  document.body.classList.add('busy');
  try {
    const res = await getJSON(`/api/search${apiQuery ? `?${apiQuery}` : ''}`);
    if (seq !== searchSeq) return;
    loaded = [];
    tbody.replaceChildren();
    addRows(res.rows);
    nextCursor = res.next;
    moreBtn.hidden = !nextCursor;
    showPartial(res);
    $('#results').hidden = false;
    applyQuick();
  } catch (err) {
    if (seq !== searchSeq) return;
    $('#results').hidden = true;
    showError($('#error'), err);
  } finally {
    if (seq === searchSeq) document.body.classList.remove('busy');
  }
}

async function loadMore() {
  if (!nextCursor) return;
  moreBtn.disabled = true;
  const seq = searchSeq;
  try {
    const q = new URLSearchParams(apiQuery);
    q.set('cursor', nextCursor);
    const res = await getJSON(`/api/search?${q}`);
    if (seq !== searchSeq) return;
    addRows(res.rows);
    nextCursor = res.next;
    moreBtn.hidden = !nextCursor;
    showPartial(res);
    applyQuick();
  } catch (err) {
    showError($('#error'), err);
  } finally {
    moreBtn.disabled = false;
  }
}

function openRow(tr) {
  if (!tr || !tr.dataset.id) return;
  /* the message page's "back" returns to this search */
  try { sessionStorage.setItem('mtalog.search', window.location.search); } catch (e) { /* private mode */ }
  window.location.href = `/m/${encodeURIComponent(tr.dataset.id)}`;
}

function initSearch() {
  const params = new URLSearchParams(window.location.search);
  fillForm(params);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = formParams();
    const url = `/${p.toString() ? `?${p}` : ''}`;
    history.pushState(null, '', url);
    quick.value = '';
    runSearch(p);
  });
  $('#clear').addEventListener('click', () => {
    form.reset();
    fillForm(new URLSearchParams());
    form.elements.to.focus();
  });
  window.addEventListener('popstate', () => {
    const p = new URLSearchParams(window.location.search);
    fillForm(p);
    runSearch(p);
  });
  quick.addEventListener('input', applyQuick);
  moreBtn.addEventListener('click', loadMore);
  tbody.addEventListener('click', (e) => {
    if (e.target.closest('.status')) return;
    openRow(e.target.closest('tr'));
  });
  tbody.addEventListener('keydown', (e) => {
    const tr = e.target.closest('tr');
    if (!tr) return;
    if (e.key === 'Enter' && e.target === tr) {
      openRow(tr);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      let n = e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
      while (n && n.hidden) n = e.key === 'ArrowDown' ? n.nextElementSibling : n.previousElementSibling;
      if (n) n.focus();
    }
  });
  document.addEventListener('keydown', (e) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (e.key === '/' && !typing) {
      e.preventDefault();
      ($('#results').hidden ? form.elements.to : quick).focus();
    }
  });
  runSearch(params);
}

/* ---- the message page ---- */

async function initMessage(id) {
  $('#search-view').hidden = true;
  $('#message-view').hidden = false;
  document.title = `Message ${id} · Email Logs`;
  let back = '';
  try { back = sessionStorage.getItem('mtalog.search') || ''; } catch (e) { back = ''; }
  if (/^\?/.test(back)) $('#back').href = `/${back}`;
  let m;
  try {
    m = await getJSON(`/api/messages/${encodeURIComponent(id)}`);
  } catch (err) {
    showError($('#msg-error'), err.status === 404 ? new Error(`No message ${id} in this database.`) : err);
    return;
  }
  $('#msg-subject').textContent = m.subject || '(no subject)';
  const fields = [
    ['Received', showTime(m.time)], ['Last seen', showTime(m.last_time)], ['Sender', m.from || '<>'],
    ['Direction', m.direction], ['Host', m.host], ['Queue ID', m.queue_id], ['Message-ID', m.message_id],
    ['Client', [m.client_name, m.client_ip ? `[${m.client_ip}]` : ''].filter(Boolean).join(' ')],
    ['SASL user', m.sasl_username], ['HELO', m.helo], ['Size', m.size ? `${m.size} bytes` : ''],
    ['Recipients', String(m.recipients.length)], ['Bounce', m.bounce_queue_id],
    ['Bounce of', m.original_queue_id], ['State', m.flags], ['ID', m.id],
  ];
  const dl = $('#msg-fields');
  for (const [k, v] of fields) {
    if (!v) continue;
    dl.append(el('div', {}, el('dt', { text: k }), el('dd', { text: v })));
  }
  const tb = $('#msg-rcpts tbody');
  for (const r of m.recipients) {
    const to = el('td', { 'data-label': 'Recipient', class: 'addr', text: r.to || '(none)' });
    if (r.orig_to && r.orig_to !== r.to) to.append(el('div', { class: 'orig', text: `originally ${r.orig_to}` }));
    tb.append(el('tr', {},
      to,
      el('td', { 'data-label': 'Status', class: 'st' }, statusBadge(r)),
      el('td', { 'data-label': 'DSN', text: r.dsn || '' }),
      el('td', { 'data-label': 'Relay', class: 'addr', text: r.relay || '' }),
      el('td', { 'data-label': 'Delay', text: delayText(r.delay) }),
      el('td', { 'data-label': 'Reason', class: 'reason', text: r.reason || '' })));
  }
  const ol = $('#msg-events');
  for (const ev of m.events) {
    ol.append(el('li', {},
      el('time', { text: showTime(ev.time) }),
      el('span', { class: 'prog', text: ev.program || '' }),
      el('span', { class: 'text', text: ev.text })));
  }
  $('#msg-raw').textContent = m.raw.join('\n');
  $('#message').hidden = false;
}

/* ---- who is logged in ---- */

function showLogin() {
  $('#search-view').hidden = true;
  $('#message-view').hidden = true;
  $('#who').hidden = true;
  $('#login-view').hidden = false;
  $('#login').elements.name.focus();
}

function initLogin() {
  const f = $('#login');
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const box = $('#login-error');
    box.hidden = true;
    try {
      await getJSON('/login', {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: f.elements.name.value, password: f.elements.password.value }),
      });
      window.location.reload();
    } catch (err) {
      f.elements.password.value = '';
      box.textContent = err.status === 401 ? 'Wrong name or password.' : err.message;
      box.hidden = false;
    }
  });
  $('#logout').addEventListener('click', async () => {
    try { await getJSON('/logout', { method: 'POST' }); } catch (e) { /* gone already */ }
    window.location.href = '/';
  });
}

async function start() {
  initLogin();
  let me;
  try {
    me = await getJSON('/api/me');
  } catch (err) {
    if (err.status === 401) return; /* the form is shown */
    me = { users: false };
  }
  if (me.users) {
    $('#who-name').textContent = me.name;
    $('#who').hidden = false;
  }
  const mm = window.location.pathname.match(/^\/m\/([^/]+)$/);
  if (mm) initMessage(decodeURIComponent(mm[1]));
  else initSearch();
}

start();
