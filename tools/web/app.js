/*
 * The Email Logs page of `mtalog serve`: a search form whose state lives in
 * the URL, a results table with a quick filter, sortable columns, a "More"
 * button that follows the API's cursor and a CSV export, status tooltips,
 * the count of the whole match, a timeline of it (/api/histogram, fetched
 * beside the rows: stacked SVG bars by status, a click narrows the dates),
 * and the message page /m/ID with its reports and a Report button.
 * Times: the URL and the API speak UTC ("2026-03-03T10:06:00Z"); what is
 * shown and typed is in the zone of the "Times in" switch (UTC or the
 * browser's own, kept in localStorage), and says which.
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

/* ---- time zones ---- */

const ZONE_KEY = 'mtalog.zone';
let zone = 'utc';   /* 'utc' or 'local' */
try { zone = localStorage.getItem(ZONE_KEY) === 'local' ? 'local' : 'utc'; } catch (e) { /* private mode */ }

function zoneName() {
  if (zone === 'utc') return 'UTC';
  let name = '';
  try { name = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { name = ''; }
  return name && name !== 'UTC' && name !== 'Etc/UTC' ? name : 'local time';
}

const pad = (n) => String(n).padStart(2, '0');

/* An instant as "YYYY-MM-DD HH:MM:SS" in the chosen zone; seconds left off
 * when they are zero and short is set. */
function formatInstant(d, short) {
  const u = zone === 'utc';
  const ymd = [u ? d.getUTCFullYear() : d.getFullYear(), pad((u ? d.getUTCMonth() : d.getMonth()) + 1),
    pad(u ? d.getUTCDate() : d.getDate())].join('-');
  const s = u ? d.getUTCSeconds() : d.getSeconds();
  const hm = `${pad(u ? d.getUTCHours() : d.getHours())}:${pad(u ? d.getUTCMinutes() : d.getMinutes())}`;
  return `${ymd} ${hm}${short && !s ? '' : `:${pad(s)}`}`;
}

/* An API time ("2026-03-03T10:06:00Z") as shown. */
function showTime(t) {
  if (!t) return '';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : formatInstant(d, false);
}

/* A <time> that follows the switch; zoned: the zone's name after it. */
function timeText(e) {
  const t = e.getAttribute('datetime');
  return t ? `${showTime(t)}${e.dataset.zoned ? ` ${zoneName()}` : ''}` : '';
}

function timeEl(t, zoned) {
  const e = el('time', { datetime: t || '' });
  if (zoned) e.dataset.zoned = '1';
  e.textContent = timeText(e);
  return e;
}

/* The switch moved: kept for the next visit. */
function setZone(value) {
  zone = value === 'local' ? 'local' : 'utc';
  try { localStorage.setItem(ZONE_KEY, zone); } catch (e) { /* private mode */ }
}

/* Every time and zone label on the page, after the switch moved. */
function renderZone() {
  for (const e of document.querySelectorAll('time[datetime]')) e.textContent = timeText(e);
  for (const e of document.querySelectorAll('.zone-name')) e.textContent = zoneName();
  $('#zone').value = zone;
  $('#zone').options[1].textContent = zone === 'local' ? `Local (${zoneName()})` : 'Local time';
}

function delayText(d) {
  if (d === null || d === undefined) return '';
  if (d < 60) return `${+d.toFixed(2)} s`;
  if (d < 3600) return `${(d / 60).toFixed(1)} min`;
  return `${(d / 3600).toFixed(1)} h`;
}

async function getJSON(url, init) {
  let r;
  try {
    r = await fetch(url, { headers: { Accept: 'application/json' }, ...(init || {}) });
  } catch (e) {
    throw new Error('The server did not answer (the network or the server is down). Try again.');
  }
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

/* The status, with "released" beside it for a message released from
 * quarantine and "reported" for one reported as spam or phishing. */
function statusCell(row, released, reported) {
  const f = document.createDocumentFragment();
  f.append(statusBadge(row));
  if (released) f.append(' ', el('span', { class: 'released', title: 'Released from quarantine', text: 'released' }));
  if (reported) f.append(' ', el('span', { class: 'reported', title: 'Reported as spam or phishing', text: 'reported' }));
  return f;
}

function showTip(badge) {
  const row = badge.tipRow;
  tip.replaceChildren();
  tip.append(el('strong', { text: MEANING[row.status] || row.status }));
  const cell = badge.parentElement;
  if (cell && cell.querySelector('.released')) tip.append(el('div', { text: 'Released from quarantine by an operator.' }));
  if (cell && cell.querySelector('.reported')) tip.append(el('div', { text: 'Reported as spam or phishing.' }));
  const facts = [
    ['Reason', row.reason], ['DSN', row.dsn], ['Relay', row.relay], ['Delay', delayText(row.delay)],
  ];
  const dl = el('dl');
  for (const [k, v] of facts) {
    if (!v) continue;
    dl.append(el('dt', { text: k }), el('dd', { text: v }));
  }
  if (dl.childElementCount) tip.append(dl);
  placeTip(badge);
}

/* Show the tip, filled already, below its owner (or above it when the
 * window ends first). */
function placeTip(owner) {
  tip.hidden = false;
  tipOwner = owner;
  const r = owner.getBoundingClientRect();
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
    else if (ev === 'focusin' && tipOwner && !e.target.closest('.bucket')) hideTip();
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
let loaded = [];      /* { row, tr, text, seq }, in the order shown */
let nextCursor = null;
let apiQuery = '';
let searchSeq = 0;
let matchTotal = null;   /* { n, exact }: the whole match, as the first page's answer counts it */
let spinnerTimer = null;

/* The form's fields: their names in the URL and the API, and their labels
 * (what an error names). */
const API_PARAMS = ['to', 'from', 'subject', 'status', 'direction', 'since', 'until'];
const LABELS = {
  to: 'Recipient', from: 'Sender', subject: 'Subject', status: 'Status', direction: 'Direction',
  since: 'From date', until: 'To date', cursor: 'More rows',
};

/* The table's columns: label, cell class, and the value sorted by. */
const COLUMNS = [
  { key: 'time', label: 'Time', cls: 'time', value: (r) => r.time || '' },
  { key: 'direction', label: 'Direction', cls: 'dir', value: (r) => r.direction || '' },
  { key: 'from', label: 'Sender', cls: 'addr', value: (r) => r.from || '<>' },
  { key: 'to', label: 'Recipient', cls: 'addr', value: (r) => r.to || '' },
  { key: 'subject', label: 'Subject', cls: 'subject', value: (r) => r.subject || '' },
  { key: 'status', label: 'Status', cls: 'st', value: (r) => r.status || '' },
];
const DEFAULT_SORT = { key: 'time', dir: 'desc' };
let sort = { ...DEFAULT_SORT };
const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

/* ---- dates typed in the form ---- */

const DATE_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d\d)(?::(\d\d))?)?$/;
const RELATIVE_RE = /^\d+[smhdw]$/;
const DATE_HELP = 'write it as 2026-12-04 13:05, 2026-12-04, or 2h / 7d for the last hours or days';

/* A date field's text, in the chosen zone, as the API's value (UTC);
 * throws a plain message.  A day or a minute given as "To date" means up
 * to its end. */
function dateToApi(text, isUntil) {
  const v = text.trim().replace(/\s+/g, ' ');
  if (RELATIVE_RE.test(v)) return v;
  const m = v.match(DATE_RE);
  if (!m) throw new Error(`'${v}' is not a date (${DATE_HELP})`);
  const [y, mo, d] = [+m[1], +m[2], +m[3]];
  const hasTime = m[4] !== undefined;
  const h = hasTime ? +m[4] : (isUntil ? 23 : 0);
  const mi = hasTime ? +m[5] : (isUntil ? 59 : 0);
  const s = m[6] !== undefined ? +m[6] : (isUntil ? 59 : 0);
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (mo < 1 || mo > 12 || check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1)
    throw new Error(`'${v}' is not a date: there is no day ${d} in month ${mo} of ${y}`);
  if (h > 23 || mi > 59 || s > 59) throw new Error(`'${v}' is not a time of day (24-hour clock, 00:00 to 23:59)`);
  const t = zone === 'utc' ? new Date(Date.UTC(y, mo - 1, d, h, mi, s)) : new Date(y, mo - 1, d, h, mi, s);
  return t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/* A URL's date value as the form shows it.  Values without a zone are UTC
 * (the page's older links). */
function apiToDate(v, isUntil) {
  if (!v || RELATIVE_RE.test(v) || /^\d{4}-\d\d-\d\d$/.test(v)) return v || '';
  const plain = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(v);
  const d = new Date(plain ? `${v}Z` : v);
  if (!/^\d{4}-\d\d-\d\dT/.test(v) || Number.isNaN(d.getTime())) return v;
  return formatInstant(d, !isUntil);
}

/* The form as URL and API parameters (one and the same), or the list of
 * what is wrong with it: [{ field, text }]. */
function readForm() {
  const p = new URLSearchParams();
  const errors = [];
  for (const name of API_PARAMS) {
    const v = form.elements[name].value.trim();
    if (!v) continue;
    try {
      if (name === 'since' || name === 'until') p.set(name, dateToApi(v, name === 'until'));
      else if (name === 'subject' && !/[\p{L}\p{N}]/u.test(v))
        throw new Error(`'${v}' has no word to search for: give letters or digits (punctuation is not searched)`);
      else p.set(name, v);
    } catch (e) {
      errors.push({ field: name, text: `${LABELS[name]}: ${e.message}` });
    }
  }
  const since = p.get('since');
  const until = p.get('until');
  if (!errors.length && since && until && /Z$/.test(since) && /Z$/.test(until) && since > until)
    errors.push({ field: 'until', text: 'To date: it is before the From date' });
  return { params: p, errors };
}

function fillForm(pageParams) {
  for (const name of API_PARAMS) {
    const f = form.elements[name];
    const v = pageParams.get(name) || '';
    if (f.tagName === 'SELECT') {
      const opt = Array.from(f.options).find((o) => o.value === v);
      f.selectedIndex = opt ? opt.index : 0;
    } else if (name === 'since' || name === 'until') {
      f.value = apiToDate(v, name === 'until');
    } else {
      f.value = v;
    }
  }
}

/* ---- errors ---- */

/* Show errors [{ field, text }] (an empty list hides the box) and mark
 * their fields. */
function showErrors(box, errors) {
  box.replaceChildren(...errors.map((e) => el('div', { text: e.text })));
  box.hidden = !errors.length;
  form.querySelectorAll('[aria-invalid]').forEach((f) => {
    f.removeAttribute('aria-invalid');
    f.removeAttribute('aria-errormessage');
  });
  for (const e of errors) {
    const f = e.field && form.elements[e.field];
    if (!f) continue;
    f.setAttribute('aria-invalid', 'true');
    f.setAttribute('aria-errormessage', box.id);
  }
}

/* An error of the API in the form's words: "since: 'x' is ..." becomes
 * "From date: 'x' is ...". */
function apiError(err) {
  const param = err.parameter;
  if (!param || !LABELS[param]) return { field: null, text: err.message };
  const rest = err.message.startsWith(`${param}: `) ? err.message.slice(param.length + 2) : err.message;
  return { field: param, text: `${LABELS[param]}: ${rest}` };
}

/* ---- the rows ---- */

function rowText(r) {
  return [showTime(r.time), r.direction, r.from, r.to, r.orig_to, r.subject, r.status, r.released ? 'released' : '',
    r.reported ? 'reported' : '', r.reason, r.host, r.queue_id, r.message_id, r.client_ip, r.relay, r.dsn]
    .join(' ').toLowerCase();
}

function rowElement(r) {
  const tr = el('tr', { tabindex: '0', 'data-id': r.id });
  for (const c of COLUMNS) {
    const td = el('td', { 'data-label': c.key === 'time' ? `Time (${zoneName()})` : c.label, class: c.cls });
    if (c.key === 'time') td.append(timeEl(r.time));
    else if (c.key === 'status') td.append(statusCell(r, r.released === true, r.reported === true));
    else td.append(c.value(r));
    tr.append(td);
  }
  if (r.orig_to && r.orig_to !== r.to) tr.children[3].title = `originally to ${r.orig_to}`;
  return tr;
}

function renderHead() {
  const tr = $('#rows thead tr');
  tr.replaceChildren();
  for (const c of COLUMNS) {
    const on = sort.key === c.key;
    const th = el('th', { scope: 'col' });
    if (on) th.setAttribute('aria-sort', sort.dir === 'asc' ? 'ascending' : 'descending');
    const label = c.key === 'time' ? `Time (${zoneName()})` : c.label;
    const b = el('button', { type: 'button', class: 'sort', 'data-key': c.key, text: label });
    b.append(el('span', { class: 'arrow', 'aria-hidden': 'true', text: on ? (sort.dir === 'asc' ? '▲' : '▼') : '↕' }));
    b.title = `Sort by ${c.label.toLowerCase()}`;
    th.append(b);
    tr.append(th);
  }
  for (const td of tbody.querySelectorAll('td.time')) td.dataset.label = `Time (${zoneName()})`;
}

/* Order the loaded rows by the chosen column; equal values keep the
 * server's order (newest first). */
function applySort() {
  const col = COLUMNS.find((c) => c.key === sort.key);
  const sign = sort.dir === 'asc' ? 1 : -1;
  const cmp = col.key === 'time'
    ? (a, b) => (a < b ? -1 : a > b ? 1 : 0)
    : (a, b) => collator.compare(a, b);
  loaded.sort((a, b) => sign * cmp(col.value(a.row), col.value(b.row)) || a.seq - b.seq);
  tbody.append(...loaded.map((i) => i.tr));
}

function sortBy(key) {
  if (sort.key === key) sort.dir = sort.dir === 'asc' ? 'desc' : 'asc';
  else sort = { key, dir: key === 'time' ? 'desc' : 'asc' };
  renderHead();
  applySort();
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
  $('#count').textContent = countText(shown, total, terms.length > 0);
  $('#empty').hidden = total !== 0;
  $('#results .table-wrap').hidden = total === 0;
  $('#filtered-empty').hidden = !(total && !shown);
  $('#filtered-what').textContent = quick.value.trim();
  $('#csv-shown').firstChild.textContent = `Rows on screen: ${shown} `;
}

const num = (n) => n.toLocaleString('en-US');

/* "14 rows"; "1,000 of 23,456 rows" when more match than are loaded;
 * "1,000 of at least 23,456 rows" when the server's count stopped early
 * (its time for counting is short);
 * with the quick filter, "5 of 14 loaded rows". */
function countText(shown, n, filtered) {
  const s = (k) => (k === 1 ? '' : 's');
  let all = '';
  /* without a next page the loaded rows are the whole match, whatever the count said */
  if (matchTotal && nextCursor) {
    const k = Math.max(matchTotal.n, n);
    all = matchTotal.exact ? num(k) : `at least ${num(k)}`;
  } else if (nextCursor) {
    all = `more than ${num(n)}`;
  }
  if (filtered) return `${num(shown)} of ${num(n)} loaded rows${all ? ` (${all} match)` : ''}`;
  return all ? `${num(n)} of ${all} rows` : `${num(n)} row${s(n)}`;
}

function addRows(rows) {
  const frag = document.createDocumentFragment();
  for (const r of rows) {
    const tr = rowElement(r);
    loaded.push({ row: r, tr, text: rowText(r), seq: loaded.length });
    frag.append(tr);
  }
  tbody.append(frag);
  applySort();
}

/* A search that found nothing: the likely slips, as searches to run.  A
 * subject word is matched whole (invoic finds no "invoice"); an address
 * without @ is a whole address. */
function showHints(params) {
  const hints = [];
  const subject = params.get('subject');
  if (subject && !subject.includes('"')) {
    const words = subject.split(/\s+/);
    const last = words[words.length - 1];
    if (!last.endsWith('*')) hints.push({ field: 'subject', value: [...words.slice(0, -1), `${last}*`].join(' ') });
  }
  for (const f of ['to', 'from']) {
    const v = params.get(f);
    if (v && v !== '<>' && !v.includes('@') && !v.includes('*')) hints.push({ field: f, value: `${v}@*` });
  }
  const list = $('#hint-list');
  list.replaceChildren();
  for (const h of hints) {
    const b = el('button', { type: 'button', class: 'hint', 'data-field': h.field, 'data-value': h.value });
    b.append(`${LABELS[h.field]} `, el('code', { text: h.value }));
    list.append(b, ' ');
  }
  $('#hints').hidden = !hints.length;
}

/* A search shows its state: the old rows dimmed and inert, Search
 * disabled, a spinner once it has taken 150 ms. */
function setLoading(on) {
  document.body.classList.toggle('busy', on);
  $('#results').classList.toggle('loading', on);
  $('#results').setAttribute('aria-busy', on ? 'true' : 'false');
  $('#go').disabled = on;
  $('#export').disabled = on;
  clearTimeout(spinnerTimer);
  $('#spinner').hidden = true;
  if (on) spinnerTimer = setTimeout(() => { $('#spinner').hidden = false; }, 150);
}

/* Shards of a cluster (serve --nats) that did not answer: their names, or ''. */
function missingShards(res) {
  if (!res.partial) return '';
  const ks = res.missing || [];
  return `${ks.length === 1 ? 'Shard' : 'Shards'} ${ks.join(', ')} of the cluster did not answer in time`;
}

/* A search that stopped at its time budget, whose pattern gave up on
 * some subjects, or to which shards of a cluster did not answer: say so,
 * and that More goes on where it stopped. */
function showPartial(res) {
  const box = $('#partial');
  const notes = [];
  const missing = missingShards(res);
  if (missing) notes.push(`${missing}: their rows are missing from this answer. Search again to ask them again.`);
  if (res.complete === false && res.stopped === 'deadline')
    notes.push(`This search stopped at its time limit after reading ${res.examined} messages: the rows shown are those found so far, newest first.${res.next ? ' More searches on from there;' : ''} a recipient, sender, subject word or status finds rows faster.`);
  else if (res.complete === false && res.stopped === 'regex limit')
    notes.push(`The subject pattern was too costly on ${res.regex_gave_up} subjects (too much backtracking): rows may be missing. Simplify the pattern.`);
  box.textContent = notes.join(' ');
  box.hidden = !notes.length;
}

/* ---- the timeline of the match ---- */

/* Bars of the histogram (/api/histogram: the whole match by time and
 * status), stacked in this order from the bottom; an SVG made here. */
const CHART_ORDER = ['delivered', 'delayed', 'queued', 'bounced', 'expired', 'quarantined', 'blocked'];
const SVG_NS = 'http://www.w3.org/2000/svg';
let chartData = null;   /* the answer drawn */
let matchEmpty = false; /* the rows' answer said the match is empty */

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

const countSum = (counts) => Object.values(counts || {}).reduce((a, b) => a + b, 0);

function bucketName(sec) {
  if (sec % 86400 === 0) return sec === 86400 ? 'day' : `${sec / 86400} days`;
  if (sec % 3600 === 0) return sec === 3600 ? 'hour' : `${sec / 3600} hours`;
  return `${sec} seconds`;
}

/* A bucket's statuses in the chart's order, then any other the server has. */
function bucketStatuses(counts) {
  const known = CHART_ORDER.filter((st) => counts[st]);
  return known.concat(Object.keys(counts).filter((st) => !CHART_ORDER.includes(st) && counts[st]));
}

function hideChart() {
  chartData = null;
  $('#chart').hidden = true;
  $('#chart').classList.remove('loading');
  $('#chart-bars').replaceChildren();
  if (tipOwner && tipOwner.classList.contains('bucket')) hideTip();
}

/* The histogram of the search, fetched beside its rows and never holding
 * them up; the answer of an older search is dropped, a failure leaves a
 * line in the chart's place and the rows as they are. */
async function loadChart(seq, query) {
  matchEmpty = false;
  $('#chart').classList.add('loading');
  let h;
  try {
    h = await getJSON(`/api/histogram${query ? `?${query}` : ''}`);
  } catch (err) {
    if (seq !== searchSeq) return;
    hideChart();
    if (matchEmpty) return;
    $('#chart-note').textContent = `The timeline could not be loaded (${err.message}). The rows below are not affected.`;
    $('#chart-note').hidden = false;
    $('#chart-title').textContent = 'Matches over time';
    $('#chart-legend').replaceChildren();
    $('#chart-first').replaceChildren();
    $('#chart-last').replaceChildren();
    $('#chart').hidden = false;
    return;
  }
  if (seq !== searchSeq) return;
  if (!h || !h.total || !Array.isArray(h.buckets) || !h.buckets.length) {
    hideChart();
    return;
  }
  chartData = h;
  drawChart();
}

function drawChart() {
  const h = chartData;
  const n = h.buckets.length;
  const max = Math.max(1, ...h.buckets.map((b) => countSum(b.counts)));
  /* one bar a slot of 10 units, 100 high; stretched to the width, a bar no wider than 48 px */
  const svg = svgEl('svg', {
    viewBox: `0 0 ${n * 10} 100`, preserveAspectRatio: 'none', class: 'chart-svg', role: 'group',
    'aria-label': `Matching rows by ${bucketName(h.bucket_seconds)} and status`,
  });
  h.buckets.forEach((b, i) => {
    const g = svgEl('g', { class: 'bucket', tabindex: '0', role: 'button', 'data-i': String(i) });
    g.append(svgEl('rect', { class: 'hit', x: i * 10, y: 0, width: 10, height: 100 }));
    let y = 100;
    for (const st of bucketStatuses(b.counts)) {
      const hgt = (b.counts[st] / max) * 96;
      y -= hgt;
      g.append(svgEl('rect', { class: `hb hb-${CHART_ORDER.includes(st) ? st : 'other'}`, x: i * 10 + 1.5, y, width: 7, height: hgt, 'data-status': st, 'data-count': String(b.counts[st]) }));
    }
    g.setAttribute('aria-label', bucketLabel(b));
    svg.append(g);
  });
  $('#chart-bars').replaceChildren(svg);
  /* the axis: its two ends under the bars, or "from to" on one line when the bars are too few to hold them */
  const wide = n * 48 >= 420;
  $('#chart-bars').style.maxWidth = `${n * 48}px`;
  const axis = $('#chart .chart-axis');
  axis.style.maxWidth = wide ? `${n * 48}px` : '';
  axis.classList.toggle('single', !wide);
  const first = h.buckets[0].start;
  const end = new Date(new Date(h.buckets[n - 1].start).getTime() + h.bucket_seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  $('#chart-first').replaceChildren(timeEl(first, true));
  $('#chart-last').replaceChildren(timeEl(end, true));
  const partial = h.complete === false;
  $('#chart-title').textContent = `${num(h.total)}${partial ? ' or more' : ''} matching rows over time, a bar a ${bucketName(h.bucket_seconds)}`;
  const totals = {};
  for (const b of h.buckets) for (const [st, c] of Object.entries(b.counts || {})) totals[st] = (totals[st] || 0) + c;
  $('#chart-legend').replaceChildren(...bucketStatuses(totals).map((st) => el('span', { class: 'key' },
    el('span', { class: `swatch hb-${CHART_ORDER.includes(st) ? st : 'other'}`, 'aria-hidden': 'true' }), `${st} ${num(totals[st])}`)));
  const missing = missingShards(h);
  $('#chart-note').textContent = [missing && `${missing}: the bars leave out their rows.`,
    !missing || h.stopped ? 'The count stopped at its time limit: the bars show the rows counted so far.' : ''].filter(Boolean).join(' ');
  $('#chart-note').hidden = !partial;
  $('#chart').classList.remove('loading');
  $('#chart').hidden = false;
}

/* A bucket's time range, [start, end) as Dates. */
function bucketRange(b) {
  const start = new Date(b.start);
  return [start, new Date(start.getTime() + chartData.bucket_seconds * 1000)];
}

function bucketLabel(b) {
  const [start, end] = bucketRange(b);
  const counts = bucketStatuses(b.counts).map((st) => `${b.counts[st]} ${st}`).join(', ');
  return `${formatInstant(start, true)} to ${formatInstant(end, true)} ${zoneName()}: ${countSum(b.counts)} rows${counts ? ` (${counts})` : ''}. Search this time range.`;
}

function showBucketTip(g) {
  const b = chartData.buckets[+g.dataset.i];
  const [start, end] = bucketRange(b);
  tip.replaceChildren(el('strong', { text: `${formatInstant(start, true)} to ${formatInstant(end, true)} ${zoneName()}` }));
  const dl = el('dl');
  for (const st of bucketStatuses(b.counts)) dl.append(el('dt', { text: st }), el('dd', { text: num(b.counts[st]) }));
  dl.append(el('dt', { text: 'all' }), el('dd', { text: num(countSum(b.counts)) }));
  tip.append(dl, el('div', { class: 'sub', text: 'Click to search this time range.' }));
  g.setAttribute('aria-label', bucketLabel(b));
  placeTip(g);
}

/* Narrow the search to a bar's time range (within the range searched),
 * and run it. */
function narrowTo(g) {
  const b = chartData.buckets[+g.dataset.i];
  let [start, end] = bucketRange(b);
  const q = new URLSearchParams(apiQuery);
  const since = q.get('since');
  const until = q.get('until');
  if (since && /Z$/.test(since) && new Date(since) > start) start = new Date(since);
  end = new Date(end.getTime() - 1000);
  if (until && /Z$/.test(until) && new Date(until) < end) end = new Date(until);
  hideTip();
  form.elements.since.value = formatInstant(start, true);
  form.elements.until.value = formatInstant(end, false);
  form.requestSubmit();
}

function initChart() {
  const box = $('#chart-bars');
  for (const ev of ['mouseover', 'focusin']) {
    box.addEventListener(ev, (e) => {
      const g = e.target.closest('.bucket');
      if (g && chartData) showBucketTip(g);
    });
  }
  box.addEventListener('mouseout', (e) => {
    const g = e.target.closest('.bucket');
    if (g && g === tipOwner && !g.contains(e.relatedTarget) && document.activeElement !== g) hideTip();
  });
  box.addEventListener('focusout', (e) => {
    if (e.target === tipOwner) hideTip();
  });
  box.addEventListener('click', (e) => {
    const g = e.target.closest('.bucket');
    if (g && chartData) narrowTo(g);
  });
  box.addEventListener('keydown', (e) => {
    const g = e.target.closest('.bucket');
    if (!g || !chartData) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      narrowTo(g);
    } else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      const n = e.key === 'ArrowRight' ? g.nextElementSibling : g.previousElementSibling;
      if (n) n.focus();
    }
  });
}

/* Search for what the form says; errors in it are shown, not sent. */
async function runSearch() {
  const seq = ++searchSeq;
  const { params, errors } = readForm();
  showErrors($('#error'), errors);
  if (errors.length) {
    setLoading(false);
    $('#results').hidden = true;
    hideChart();
    return;
  }
  apiQuery = params.toString();
  $('#csv-all').href = `/api/search.csv?${apiQuery ? `${apiQuery}&` : ''}all=1`;
  setLoading(true);
  loadChart(seq, apiQuery);
  try {
    const res = await getJSON(`/api/search${apiQuery ? `?${apiQuery}` : ''}`);
    if (seq !== searchSeq) return;
    loaded = [];
    tbody.replaceChildren();
    nextCursor = res.next;
    matchTotal = typeof res.total === 'number' ? { n: res.total, exact: res.total_exact === true } : null;
    if (!res.rows.length && !res.next) {
      matchEmpty = true;
      hideChart();
    }
    addRows(res.rows);
    moreBtn.hidden = !nextCursor;
    showPartial(res);
    showHints(res.rows.length || res.next ? new URLSearchParams() : params);
    $('#results').hidden = false;
    applyQuick();
  } catch (err) {
    if (seq !== searchSeq) return;
    $('#results').hidden = true;
    hideChart();
    showErrors($('#error'), [apiError(err)]);
  } finally {
    if (seq === searchSeq) setLoading(false);
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
    nextCursor = res.next;
    addRows(res.rows);
    moreBtn.hidden = !nextCursor;
    showPartial(res);
    applyQuick();
  } catch (err) {
    showErrors($('#error'), [apiError(err)]);
  } finally {
    moreBtn.disabled = false;
  }
}

/* ---- export ---- */

/* One CSV cell; text a spreadsheet would take for a formula gets a quote
 * before it, as the server's CSV does. */
function csvCell(v) {
  const s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) return `"'${s.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/* The rows on screen (after the quick filter, in their order, with the
 * rows More brought) as a CSV file made here. */
function exportShown() {
  const lines = [COLUMNS.map((c) => (c.key === 'time' ? `Time (${zoneName()})` : c.label))];
  for (const item of loaded) {
    if (item.tr.hidden) continue;
    const r = item.row;
    lines.push(COLUMNS.map((c) => {
      if (c.key === 'time') return showTime(r.time);
      if (c.key === 'status') {
        /* as the cell reads */
        return [r.status, r.released && 'released', r.reported && 'reported'].filter(Boolean).join(' ');
      }
      return c.value(r);
    }));
  }
  const text = `\ufeff${lines.map((l) => l.map(csvCell).join(',')).join('\r\n')}\r\n`;
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const stamp = formatInstant(new Date(), false).replace(/[-:]/g, '').replace(' ', '-');
  const a = el('a', { href: url, download: `mtalog-rows-${stamp}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function toggleMenu(open) {
  $('#export-menu').hidden = !open;
  $('#export').setAttribute('aria-expanded', open ? 'true' : 'false');
}

/* ---- the page's events ---- */

function openRow(tr) {
  if (!tr || !tr.dataset.id) return;
  /* the message page's "back" returns to this search */
  try { sessionStorage.setItem('mtalog.search', window.location.search); } catch (e) { /* private mode */ }
  window.location.href = `/m/${encodeURIComponent(tr.dataset.id)}`;
}

/* Clear: an empty form, no rows, "/" in the address bar. */
function clearView() {
  searchSeq++;
  setLoading(false);
  form.reset();
  fillForm(new URLSearchParams());
  quick.value = '';
  loaded = [];
  tbody.replaceChildren();
  nextCursor = null;
  sort = { ...DEFAULT_SORT };
  renderHead();
  showErrors($('#error'), []);
  $('#partial').hidden = true;
  $('#results').hidden = true;
  hideChart();
}

function initSearch() {
  fillForm(new URLSearchParams(window.location.search));
  renderHead();
  initChart();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const { params, errors } = readForm();
    if (errors.length) {
      showErrors($('#error'), errors);
      form.elements[errors[0].field].focus();
      return;
    }
    history.pushState(null, '', `/${params.toString() ? `?${params}` : ''}`);
    quick.value = '';
    runSearch();
  });
  $('#clear').addEventListener('click', () => {
    clearView();
    history.pushState({ cleared: true }, '', '/');
    form.elements.to.focus();
  });
  window.addEventListener('popstate', (e) => {
    if (e.state && e.state.cleared) {
      clearView();
      return;
    }
    fillForm(new URLSearchParams(window.location.search));
    runSearch();
  });
  $('#zone').addEventListener('change', () => {
    /* the dates typed stay the same instants */
    const typed = readForm().params;
    setZone($('#zone').value);
    for (const name of ['since', 'until']) {
      if (typed.get(name)) form.elements[name].value = apiToDate(typed.get(name), name === 'until');
    }
    renderZone();
    renderHead();
    for (const item of loaded) item.text = rowText(item.row);
  });
  $('#rows thead').addEventListener('click', (e) => {
    const b = e.target.closest('button.sort');
    if (b) sortBy(b.dataset.key);
  });
  quick.addEventListener('input', applyQuick);
  $('#unfilter').addEventListener('click', () => {
    quick.value = '';
    applyQuick();
    quick.focus();
  });
  $('#hint-list').addEventListener('click', (e) => {
    const b = e.target.closest('button.hint');
    if (!b) return;
    form.elements[b.dataset.field].value = b.dataset.value;
    form.requestSubmit();
  });
  $('#export').addEventListener('click', () => {
    toggleMenu($('#export-menu').hidden);
    if (!$('#export-menu').hidden) $('#csv-shown').focus();
  });
  $('#csv-shown').addEventListener('click', () => {
    toggleMenu(false);
    exportShown();
  });
  $('#csv-all').addEventListener('click', () => toggleMenu(false));
  document.addEventListener('click', (e) => {
    if (!e.target.closest('.export')) toggleMenu(false);
  });
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
    if (e.key === 'Escape' && !$('#export-menu').hidden) {
      toggleMenu(false);
      $('#export').focus();
    }
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (e.key === '/' && !typing) {
      e.preventDefault();
      ($('#results').hidden ? form.elements.to : quick).focus();
    }
  });
  runSearch();
}

/* ---- the message page ---- */

/* A queue ID of another message (its bounce, the message it bounces) as a
 * link to that message: the newest with that queue ID in the given time
 * window, when the user may see it; else left as text. */
async function linkQueueId(dd, qid, window_) {
  const q = new URLSearchParams({ queue_id: qid, limit: '20', ...window_ });
  let res;
  try { res = await getJSON(`/api/search?${q}`); } catch (e) { return; }
  const row = res.rows.find((r) => r.queue_id === qid);
  if (!row) return;
  dd.replaceChildren(el('a', { href: `/m/${encodeURIComponent(row.id)}`, text: qid }));
}

async function copyPermalink(id) {
  const url = `${window.location.origin}/m/${encodeURIComponent(id)}`;
  const said = $('#copied');
  try {
    await navigator.clipboard.writeText(url);
    said.textContent = 'Copied';
  } catch (e) {
    /* no clipboard here (an insecure origin): the address, selected */
    const box = el('input', { readonly: '', value: url, 'aria-label': 'Permalink', class: 'permalink' });
    said.replaceChildren(box, ' press Ctrl+C to copy');
    box.select();
  }
}

async function initMessage(id) {
  $('#search-view').hidden = true;
  $('#message-view').hidden = false;
  document.title = `Message ${id} · Email Logs`;
  let back = '';
  try { back = sessionStorage.getItem('mtalog.search') || ''; } catch (e) { back = ''; }
  if (/^\?/.test(back)) $('#back').href = `/${back}`;
  $('#zone').addEventListener('change', () => {
    setZone($('#zone').value);
    renderZone();
  });
  let m;
  try {
    m = await getJSON(`/api/messages/${encodeURIComponent(id)}`);
  } catch (err) {
    showErrors($('#msg-error'), [{ text: err.status === 404 ? `No message ${id} in this database.` : err.message }]);
    return;
  }
  const released = (m.flags || '').split(' ').includes('released');
  $('#msg-subject').textContent = m.subject || '(no subject)';
  $('#copy-link').addEventListener('click', () => copyPermalink(m.id));
  const fields = [
    ['Received', m.time && timeEl(m.time, true)], ['Last seen', m.last_time && timeEl(m.last_time, true)],
    ['Sender', m.from || '<>'],
    ['Direction', m.direction], ['Host', m.host], ['Queue ID', m.queue_id], ['Message-ID', m.message_id],
    ['Client', [m.client_name, m.client_ip ? `[${m.client_ip}]` : ''].filter(Boolean).join(' ')],
    ['SASL user', m.sasl_username], ['HELO', m.helo], ['Size', m.size ? `${m.size} bytes` : ''],
    ['Recipients', m.recipients_total > m.recipients.length
      ? `${m.recipients.length} of ${m.recipients_total} shown` : String(m.recipients.length)],
    ['Bounce', m.bounce_queue_id],
    ['Bounce of', m.original_queue_id], ['State', m.flags], ['ID', m.id],
  ];
  const dl = $('#msg-fields');
  const dds = {};
  for (const [k, v] of fields) {
    if (!v) continue;
    dds[k] = el('dd', {}, v);
    dl.append(el('div', {}, el('dt', { text: k }), dds[k]));
  }
  /* the bounce is written between the message's first and last line; the
   * message a bounce reports on came before it */
  if (dds.Bounce) linkQueueId(dds.Bounce, m.bounce_queue_id, { since: m.time, until: m.last_time });
  if (dds['Bounce of']) linkQueueId(dds['Bounce of'], m.original_queue_id, { until: m.time });
  const tb = $('#msg-rcpts tbody');
  for (const r of m.recipients) {
    const to = el('td', { 'data-label': 'Recipient', class: 'addr', text: r.to || '(none)' });
    if (r.orig_to && r.orig_to !== r.to) to.append(el('div', { class: 'orig', text: `originally ${r.orig_to}` }));
    tb.append(el('tr', {},
      to,
      el('td', { 'data-label': 'Status', class: 'st' }, statusCell(r, released || r.released === true, r.reported === true)),
      el('td', { 'data-label': 'DSN', text: r.dsn || '' }),
      el('td', { 'data-label': 'Relay', class: 'addr', text: r.relay || '' }),
      el('td', { 'data-label': 'Delay', text: delayText(r.delay) }),
      el('td', { 'data-label': 'Reason', class: 'reason', text: r.reason || '' })));
  }
  const others = (m.recipients_total || 0) - m.recipients.length;
  if (others > 0) {
    $('#msg-hidden').textContent = `${m.recipients.length} of ${m.recipients_total} recipients shown: the other ${others === 1 ? 'one is' : `${others} are`} not among your addresses, so their status, events and log lines are left out.`;
    $('#msg-hidden').hidden = false;
  }
  showReports(m.reports);
  initReport(m.id);
  const ol = $('#msg-events');
  for (const ev of m.events) {
    ol.append(el('li', {},
      timeEl(ev.time),
      el('span', { class: 'prog', text: ev.program || '' }),
      el('span', { class: 'text', text: ev.text })));
  }
  $('#msg-raw').textContent = m.raw.join('\n');
  renderZone();
  $('#message').hidden = false;
}

/* ---- reports of spam and phishing ---- */

const REPORT_SOURCE = { user: 'from this page or mtalog report', rspamd: 'learned by rspamd', spamassassin: 'learned by SpamAssassin' };

function showReports(reports) {
  const list = $('#report-list');
  list.replaceChildren(...(reports || []).map((r) => el('li', {},
    el('strong', { text: r.kind }), ` reported by ${r.by || (r.source === 'user' ? 'an unnamed user' : r.source)}, `,
    timeEl(r.at, true), ` (${REPORT_SOURCE[r.source] || r.source})`)));
  $('#no-reports').hidden = list.childElementCount > 0;
}

/* What a failed report means, in plain words. */
function reportError(err) {
  if (err.status === 404) return 'This message is not in the database, or not one you may see: nothing was reported.';
  if (err.status === 403) return 'The server refused a report from this page (it came from another site). Open the page from the server\'s own address.';
  if (err.status === 401) return 'Your session ended: log in again, then report.';
  return `The report failed: ${err.message}. Nothing was reported; try again.`;
}

/* The Report button: choose spam or phishing, confirm, then the new list
 * of reports from the server's answer. */
function initReport(id) {
  const f = $('#report');
  const ask = $('#report-ask');
  const open = (on) => {
    ask.hidden = !on;
    $('#report-open').hidden = on;
    if (on) {
      $('#report-done').textContent = '';
      f.querySelector('input[name="reason"]:checked').focus();
    }
  };
  $('#report-open').addEventListener('click', () => open(true));
  $('#report-cancel').addEventListener('click', () => {
    open(false);
    $('#report-open').focus();
  });
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const reason = f.querySelector('input[name="reason"]:checked').value;
    const box = $('#report-error');
    box.hidden = true;
    $('#report-send').disabled = true;
    try {
      const res = await getJSON(`/api/messages/${encodeURIComponent(id)}/report`, {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({ reason }),
      });
      showReports(res.reports);
      open(false);
      $('#report-done').textContent = `Reported as ${reason}.`;
    } catch (err) {
      box.textContent = reportError(err);
      box.hidden = false;
    } finally {
      $('#report-send').disabled = false;
    }
  });
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
  renderZone();
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
