/*
 * Browser tests of the Email Logs page of `mtalog serve`, in Debian's headless
 * Chromium (/usr/bin/chromium) driven by playwright-core; no browser download.
 *
 * Servers on free loopback ports: one on tests/data/statuses.log (one
 * message per status), one on sample/mail.log (3439 rows, for "More" and
 * the timeline), one on the first database with --users (log in, who sees
 * what), and two (without and with --users) on another database of
 * statuses.log that the tests of reports write to.  Every
 * request the page makes outside the server is refused and fails the test
 * (the page works offline).  The browser's zone is UTC; the test of the
 * "Times in" switch starts a second browser in Asia/Kolkata.  Slow answers
 * and server errors are made by holding or answering the page's requests
 * (page.route), not by timing.  Screenshots go to tests/web/out/; with
 * UPDATE_SCREENSHOTS=1 those named in DOCS_SHOTS also to docs/.
 *
 * Run: make test-web (or MTALOG_BIN=build/mtalog node tests/web/test.js);
 * ONLY=regex runs the tests whose names match.
 * Prints one closing line "N passed, N failed"; exits 1 on any failure.
 */
'use strict';

const { chromium } = require('playwright-core');
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.resolve(ROOT, process.env.MTALOG_BIN || 'build/mtalog');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = path.join(__dirname, 'out');
const SAMPLE_ROWS = 3439;
const DOCS_SHOTS = ['search', 'search-phone', 'message', 'timeline'];
const BROWSER = {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtalog-web-'));
const servers = [];

function ingest(db, args) {
  execFileSync(BIN, ['--db', db, 'ingest', '--quiet', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

/* Start `mtalog serve` on a free port; resolves to its base URL. */
function serve(db, extra) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ['--db', db, 'serve', '--listen', '127.0.0.1:0', ...(extra || [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.push(p);
    let buf = '';
    p.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    p.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
    setTimeout(() => reject(new Error('serve did not start')), 10000);
  });
}

function stopServers() {
  return Promise.all(servers.map((p) => new Promise((resolve) => {
    if (p.exitCode !== null) return resolve(p.exitCode);
    p.removeAllListeners('exit');
    p.on('exit', (code) => resolve(code));
    p.kill('SIGTERM');
  })));
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

function eq(got, want, what) {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

/* ---- helpers on a page ---- */

const visibleRows = (page) => page.locator('#rows tbody tr:not([hidden])');

async function settle(page) {
  await page.waitForFunction(() => !document.body.classList.contains('busy'));
}

/* Do something that starts a search and wait for its rows. */
async function searchBy(page, action) {
  const resp = page.waitForResponse((r) => /\/api\/search\?|\/api\/search$/.test(r.url()));
  await action();
  await resp;
  await settle(page);
}

async function openSearch(page, base, query) {
  await searchBy(page, () => page.goto(`${base}/${query || ''}`));
}

async function submitWith(page, base, fields) {
  await openSearch(page, base);
  for (const [name, value] of Object.entries(fields)) {
    const f = page.locator(`#search [name="${name}"]`);
    if (await f.evaluate((e) => e.tagName === 'SELECT')) await f.selectOption({ label: value });
    else await f.fill(value);
  }
  await searchBy(page, () => page.locator('#search button[type="submit"]').click());
}

async function columnTexts(page, col) {
  return visibleRows(page).locator(`td:nth-child(${col})`).allInnerTexts();
}

/* A browser of its own, for what the shared context must not get (another
 * time zone, a fake clock).  close() fails on a script error on its page. */
async function ownPage(contextOptions) {
  const browser = await chromium.launch(BROWSER);
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', viewport: { width: 1360, height: 860 }, ...contextOptions });
  await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const close = async () => {
    await browser.close();
    if (errors.length) throw new Error(`script error on the page: ${errors.join('; ')}`);
  };
  return { page, close };
}

/* ---- the tests ---- */

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const isSearch = (r) => new URL(r.url()).pathname === '/api/search';

test('search by recipient; the form state is in the URL', async ({ page, small }) => {
  await submitWith(page, small, { to: 'bob@example.com' });
  eq(await visibleRows(page).count(), 2, 'rows');
  for (const t of await columnTexts(page, 4)) eq(t, 'bob@example.com', 'recipient');
  check(page.url().includes('to=bob%40example.com'), `URL ${page.url()}`);
});

test('search by sender', async ({ page, small }) => {
  await submitWith(page, small, { from: '@example.com' });
  eq(await visibleRows(page).count(), 3, 'rows');
  for (const t of await columnTexts(page, 3)) check(t.endsWith('@example.com'), `sender ${t}`);
});

test('search by subject', async ({ page, small }) => {
  await submitWith(page, small, { subject: 'quarterly report' });
  eq(await visibleRows(page).count(), 1, 'rows');
  eq((await columnTexts(page, 5))[0], 'Quarterly report äpfel', 'subject');
});

test('search by status group, single status and direction', async ({ page, small }) => {
  const cases = [
    [{ status: 'Cleared' }, 10], [{ status: 'Blocked' }, 3], [{ status: 'Quarantined' }, 1],
    [{ status: 'Cleared (released from quarantine)' }, 1], [{ status: 'Cleared (bounced or expired)' }, 2],
    [{ status: 'Cleared (queued for delivery)' }, 3], [{ status: 'delivered' }, 5], [{ status: 'expired' }, 1],
    [{ status: 'bounced' }, 1], [{ status: 'queued' }, 2], [{ status: 'delayed' }, 1], [{ status: 'Reported (spam or phishing)' }, 0],
    [{ direction: 'Outbound' }, 3], [{ direction: 'Inbound', status: 'Blocked' }, 3],
  ];
  for (const [fields, n] of cases) {
    await submitWith(page, small, fields);
    eq(await visibleRows(page).count(), n, JSON.stringify(fields));
  }
  await submitWith(page, small, { status: 'Blocked' });
  for (const t of await columnTexts(page, 6)) eq(t, 'blocked', 'status column');
  /* every choice is a search of its own: no two options send the same status */
  const values = await page.locator('#search [name="status"] option').evaluateAll((os) => os.map((o) => o.value));
  eq(new Set(values).size, values.length, `distinct status values ${values.join(' | ')}`);
  for (const v of values.filter(Boolean)) {
    const r = await fetch(`${small}/api/search?status=${encodeURIComponent(v)}`);
    eq(r.status, 200, `the server takes status=${v}`);
  }
  const rows = async (v) => (await (await fetch(`${small}/api/search?status=${encodeURIComponent(v)}`)).json()).rows.map((r) => r.id + r.to).sort().join();
  const sets = await Promise.all(values.map(rows));
  eq(new Set(sets.filter((x, i) => values[i] !== 'reported')).size, values.length - 1, 'each choice finds other rows (but Reported, none yet)');
});

test('search by date range (UTC): 24-hour text fields, not the locale\'s picker', async ({ page, small }) => {
  await submitWith(page, small, { since: '2026-03-03 10:06' });
  eq(await visibleRows(page).count(), 6, 'since');
  check(page.url().includes('since=2026-03-03T10%3A06%3A00Z'), `URL ${page.url()}`);
  await submitWith(page, small, { since: '2026-03-03 10:02', until: '2026-03-03 10:03:59' });
  eq(await visibleRows(page).count(), 4, 'since and until');
  /* a minute as "To date" runs to its end, as a day does */
  await submitWith(page, small, { since: '2026-03-03 10:02', until: '2026-03-03 10:03' });
  eq(await visibleRows(page).count(), 4, 'until a minute');
  for (const name of ['since', 'until'])
    eq(await page.locator(`#search [name="${name}"]`).getAttribute('type'), 'text', `${name} input type`);
  /* the page's older links: a time without a zone is UTC */
  await openSearch(page, small, '?since=2026-03-03T10:06');
  eq(await page.locator('#search [name="since"]').inputValue(), '2026-03-03 10:06', 'since shown');
  eq(await visibleRows(page).count(), 6, 'rows of an older link');
});

test('a bookmarked search opens with its form and rows; back restores the previous', async ({ page, small }) => {
  await openSearch(page, small, '?status=blocked&to=%40example.com');
  eq(await page.locator('#search [name="status"]').inputValue(), 'blocked', 'status field');
  eq(await page.locator('#search [name="to"]').inputValue(), '@example.com', 'recipient field');
  eq(await visibleRows(page).count(), 3, 'rows');
  await searchBy(page, async () => {
    await page.locator('#search [name="to"]').fill('ghost@example.com');
    await page.keyboard.press('Enter');
  });
  eq(await visibleRows(page).count(), 1, 'rows after a new search');
  await searchBy(page, () => page.goBack());
  eq(await page.locator('#search [name="to"]').inputValue(), '@example.com', 'recipient after back');
  eq(await visibleRows(page).count(), 3, 'rows after back');
});

test('errors name the form\'s field in plain words; the page checks before sending', async ({ page, small }) => {
  /* a link with a bad date: said, marked, not sent */
  let sent = 0;
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/search') sent++; });
  await page.goto(`${small}/?since=yesterday`);
  await page.locator('#error').waitFor({ state: 'visible' });
  check((await page.locator('#error').innerText()).startsWith("From date: 'yesterday' is not a date"), await page.locator('#error').innerText());
  eq(await page.locator('#search [name="since"]').getAttribute('aria-invalid'), 'true', 'aria-invalid');
  const cases = [
    [{ since: '2026-02-30 10:00' }, 'since', 'From date: \'2026-02-30 10:00\' is not a date: there is no day 30 in month 2'],
    [{ until: '2026-03-03 24:10' }, 'until', 'To date: \'2026-03-03 24:10\' is not a time of day'],
    [{ since: '2026-03-04', until: '2026-03-03 10:00' }, 'until', 'To date: it is before the From date'],
    [{ subject: '!!!' }, 'subject', 'Subject: \'!!!\' has no word to search for'],
  ];
  for (const [fields, field, want] of cases) {
    await page.locator('#clear').click();
    for (const [name, value] of Object.entries(fields)) await page.locator(`#search [name="${name}"]`).fill(value);
    const url = page.url();
    await page.locator('#go').click();
    await page.waitForFunction((w) => document.querySelector('#error').innerText.startsWith(w), want);
    eq(await page.locator(`#search [name="${field}"]`).getAttribute('aria-invalid'), 'true', `${field} marked`);
    eq(await page.evaluate(() => document.activeElement.name), field, 'focus on the field');
    eq(page.url(), url, 'URL unchanged');
  }
  eq(sent, 0, 'searches sent with a bad form');
  /* the API without the page's check returns every row for punctuation */
  const all = (await (await fetch(`${small}/api/search?subject=!!!`)).json()).rows.length;
  eq(all, 14, 'rows of the API for subject=!!!');
  /* an error of the server, in the field's words: the server's real answer to a bad status */
  const r = await fetch(`${small}/api/search?status=foo`);
  const body = await r.text();
  check(body.includes('"parameter":"status"'), `server answer ${body}`);
  await page.route((u) => u.pathname === '/api/search', (route) => route.fulfill({ status: r.status, contentType: 'application/json', body }));
  await page.locator('#clear').click();
  await page.locator('#go').click();
  await page.waitForFunction(() => !document.querySelector('#error').hidden);
  const text = await page.locator('#error').innerText();
  check(text.startsWith("Status: unknown status 'foo'"), `server error shown as ${text}`);
  eq(await page.locator('#search [name="status"]').getAttribute('aria-invalid'), 'true', 'status marked');
  check(await page.locator('#results').isHidden(), 'no rows beside the error');
});

test('quick filter narrows the loaded rows without a request', async ({ page, small }) => {
  await openSearch(page, small);
  eq(await visibleRows(page).count(), 14, 'all rows');
  let requests = 0;
  page.on('request', (r) => { if (r.url().includes('/api/')) requests++; });
  await page.locator('#quick').fill('slow.example');
  eq(await visibleRows(page).count(), 1, 'rows for slow.example');
  await page.locator('#quick').fill('example.com delivered');
  eq(await visibleRows(page).count(), 5, 'rows for two words');
  check((await page.locator('#count').innerText()).startsWith('5 of 14'), 'count text');
  await page.locator('#quick').fill('');
  eq(await visibleRows(page).count(), 14, 'rows after clearing');
  eq(requests, 0, 'API requests while filtering');
});

test('hovering a status shows its meaning, reason, DSN, relay and delay', async ({ page, small, shots }) => {
  await submitWith(page, small, { status: 'bounced' });
  await page.locator('#rows tbody .status').first().hover();
  const tip = page.locator('#tip');
  await tip.waitFor({ state: 'visible' });
  const text = await tip.innerText();
  for (const want of ['permanent failure', 'User unknown in virtual mailbox table', '5.1.1', 'mx.remote.example[203.0.113.7]:25', '0.9 s'])
    check(text.includes(want), `tooltip lacks "${want}": ${text}`);
  await page.mouse.move(0, 0);
  await tip.waitFor({ state: 'hidden' });
  /* the keyboard: focus shows it, Escape hides it */
  await page.locator('#rows tbody .status').first().focus();
  await tip.waitFor({ state: 'visible' });
  await page.keyboard.press('Escape');
  await tip.waitFor({ state: 'hidden' });
  await openSearch(page, small);
  await page.locator('#rows tbody tr', { hasText: 'dave@slow.example' }).locator('.status').hover();
  await tip.waitFor({ state: 'visible' });
  check((await tip.innerText()).includes('Connection timed out'), 'delayed row reason');
  /* the picture for the README: every status, the tooltip of the bounce */
  await page.mouse.move(0, 0);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.locator('#rows tbody tr', { hasText: 'nobody@remote.example' }).locator('.status').hover();
  await tip.waitFor({ state: 'visible' });
  await shots('search', page, true);
});

test('clicking a row opens the message page', async ({ page, small, shots }) => {
  await submitWith(page, small, { to: 'nobody@remote.example' });
  const id = await visibleRows(page).first().getAttribute('data-id');
  await Promise.all([page.waitForURL(`**/m/${id}`), visibleRows(page).first().locator('td.subject').click()]);
  await page.locator('#message').waitFor({ state: 'visible' });
  eq(await page.locator('#msg-subject').innerText(), "Réunion de l'équipe", 'subject');
  eq(await page.locator('#msg-rcpts tbody tr').count(), 1, 'recipients');
  check((await page.locator('#msg-rcpts').innerText()).includes('bounced'), 'recipient status');
  eq(await page.locator('#msg-events li').count(), 7, 'events');
  eq((await page.locator('#msg-raw').innerText()).split('\n').length, 7, 'raw lines');
  check((await page.locator('#msg-fields').innerText()).includes('4D5E6F7A8B'), 'bounce queue id');
  await page.locator('#msg-fields a', { hasText: '4D5E6F7A8B' }).waitFor({ state: 'visible' });
  await shots('message', page);
  /* back to the results */
  await searchBy(page, () => page.locator('#back').click());
  eq(await page.locator('#search [name="to"]').inputValue(), 'nobody@remote.example', 'search kept');
});

test('a permalink opens directly; an unknown id says so', async ({ page, small }) => {
  const res = await (await fetch(`${small}/api/search?queue_id=0D1E2F3A4B`)).json();
  const id = res.rows[0].id;
  await page.goto(`${small}/m/${id}`);
  await page.locator('#message').waitFor({ state: 'visible' });
  eq(await page.locator('#msg-rcpts tbody tr').count(), 3, 'every recipient');
  const statuses = await page.locator('#msg-rcpts .status').allInnerTexts();
  eq(statuses.sort().join(','), 'blocked,delivered,delivered', 'statuses');
  check((await page.locator('#msg-rcpts').innerText()).includes('originally sales@example.com'), 'original recipient');
  await page.goto(`${small}/m/12345`);
  await page.locator('#msg-error').waitFor({ state: 'visible' });
  check((await page.locator('#msg-error').innerText()).includes('No message 12345'), 'not found text');
});

test('the keyboard: / filters, arrows move, Enter opens', async ({ page, small }) => {
  await openSearch(page, small);
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('/');
  eq(await page.evaluate(() => document.activeElement.id), 'quick', 'focus after /');
  await page.locator('#quick').fill('mx2');
  await visibleRows(page).first().focus();
  await page.keyboard.press('ArrowDown');
  const second = await visibleRows(page).nth(1).getAttribute('data-id');
  eq(await page.evaluate(() => document.activeElement.dataset.id), second, 'focus after ArrowDown');
  await Promise.all([page.waitForURL(`**/m/${second}`), page.keyboard.press('Enter')]);
  await page.locator('#message').waitFor({ state: 'visible' });
});

test('"More" follows the cursor past 1000 rows', async ({ page, big }) => {
  await openSearch(page, big);
  eq(await visibleRows(page).count(), 1000, 'first page');
  check(await page.locator('#more').isVisible(), 'More shown');
  /* a page holds up to 1000 rows (fewer when the previous one ended inside a message) */
  let n = 1000;
  for (let clicks = 0; await page.locator('#more').isVisible(); clicks++) {
    check(clicks < 10, 'More does not end');
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('cursor=')),
      page.locator('#more').click(),
    ]);
    await page.waitForFunction((k) => document.querySelectorAll('#rows tbody tr').length > k, n);
    const m = await page.locator('#rows tbody tr').count();
    check(m - n <= 1000 && (m - n > 800 || m === SAMPLE_ROWS), `a page of ${m - n} rows`);
    n = m;
  }
  eq(n, SAMPLE_ROWS, 'rows after the last More');
  check(!(await page.locator('#more').isVisible()), 'More hidden at the end');
  const keys = await page.$$eval('#rows tbody tr', (trs) => trs.map((tr) => `${tr.dataset.id} ${tr.children[3].textContent} ${tr.children[5].textContent}`));
  eq(new Set(keys).size, SAMPLE_ROWS, 'distinct rows');
  const ids = keys.map((k) => BigInt(k.split(' ')[0]));
  for (let i = 1; i < ids.length; i++) check(ids[i - 1] >= ids[i], `newest first at ${i}`);
  eq((await page.locator('#count').innerText()).trim(), `${SAMPLE_ROWS.toLocaleString('en-US')} rows`, 'count');
});

test('a search stopped at its time limit says so, and More goes on from there', async ({ page, hurried, shots }) => {
  await openSearch(page, hurried);
  await shots('partial', page);
  const partial = page.locator('#partial');
  check(await partial.isVisible(), 'the notice is shown');
  check((await partial.innerText()).includes('stopped at its time limit'), 'the notice says why');
  check(await page.locator('#more').isVisible(), 'More shown');
  for (let clicks = 0; await page.locator('#more').isVisible(); clicks++) {
    check(clicks < 2000, 'More does not end');
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('cursor=')),
      page.locator('#more').click(),
    ]);
    await page.waitForFunction(() => !document.querySelector('#more').disabled);
  }
  const ids = await page.$$eval('#rows tbody tr', (trs) => trs.map((tr) => `${tr.dataset.id} ${tr.children[3].textContent}`));
  eq(ids.length, SAMPLE_ROWS, 'rows once every page came');
  eq(new Set(ids).size, SAMPLE_ROWS, 'distinct rows');
  check(!(await partial.isVisible()), 'no notice once the search is whole');
});

test('a cluster whose shards did not all answer: the page names them', async ({ page, big, shots }) => {
  /* the answers of serve --nats with shard 1 silent: the server's own, marked as the coordinator marks them
   * (a histogram short of a shard is not complete; a search keeps the shards' own "complete") */
  const isAPI = (u) => u.pathname === '/api/search' || u.pathname === '/api/histogram';
  await page.route(isAPI, async (route) => {
    const r = await route.fetch();
    const hist = new URL(route.request().url()).pathname === '/api/histogram';
    await route.fulfill({ response: r, json: { ...(await r.json()), partial: true, missing: [1], ...(hist ? { complete: false } : {}) } });
  });
  await openSearch(page, big);
  await page.waitForFunction(() => !document.querySelector('#chart').hidden);
  const partial = page.locator('#partial');
  check(await partial.isVisible(), 'the notice is shown');
  check((await partial.innerText()).startsWith('Shard 1 of the cluster did not answer in time'), `the notice names the shard: ${await partial.innerText()}`);
  const note = page.locator('#chart-note');
  check(await note.isVisible(), 'the timeline has a note');
  check((await note.innerText()).includes('Shard 1 of the cluster'), `the timeline's note names the shard: ${await note.innerText()}`);
  check(!(await partial.innerText()).includes('pattern'), `only the shards are named: ${await partial.innerText()}`);
  await shots('cluster-partial', page);
  await page.unroute(isAPI);
  await openSearch(page, big);
  check(!(await partial.isVisible()), 'no notice once every shard answers');
});

/* A CSV file's cells: RFC 4180 quoting, CRLF lines, a leading BOM dropped. */
function parseCSV(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  const t = text.replace(/^\ufeff/, '');
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (quoted) {
      if (c === '"' && t[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\r' && t[i + 1] === '\n') {
      row.push(cell); rows.push(row); row = []; cell = ''; i++;
    } else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

async function exportShown(page) {
  await page.locator('#export').click();
  const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#csv-shown').click()]);
  const file = path.join(tmp, `shown-${Date.now()}.csv`);
  await dl.saveAs(file);
  return parseCSV(fs.readFileSync(file, 'utf8'));
}

/* The rows on screen as the page shows them: one array of cell texts a row. */
async function shownCells(page) {
  return page.$$eval('#rows tbody tr:not([hidden])', (trs) => trs.map((tr) => Array.from(tr.children, (td) => td.innerText.trim())));
}

test('Export CSV: the rows on screen, filtered and sorted; "All matching rows" links to the server', async ({ page, small, big }) => {
  await openSearch(page, small);
  await page.locator('#rows th', { hasText: 'Recipient' }).locator('button').click();
  await page.locator('#quick').fill('example.com');
  const shown = await shownCells(page);
  check(shown.length > 3 && shown.length < 14, `rows shown ${shown.length}`);
  const csv = await exportShown(page);
  eq(csv[0].join(','), 'Time (UTC),Direction,Sender,Recipient,Subject,Status', 'header');
  eq(JSON.stringify(csv.slice(1)), JSON.stringify(shown), 'the CSV rows are the rows on screen, in order');
  check(csv.slice(1).some((r) => r[4] === 'Quarterly report äpfel'), 'UTF-8 text kept');
  /* the link to every matching row carries the search */
  await submitWith(page, small, { to: '@example.com', status: 'Cleared' });
  eq(await page.locator('#csv-all').getAttribute('href'), '/api/search.csv?to=%40example.com&status=cleared&all=1', 'all rows link');
  await page.locator('#export').click();
  check(await page.locator('#csv-all').isVisible(), 'menu open');
  await page.keyboard.press('Escape');
  check(await page.locator('#csv-all').isHidden(), 'Escape closes the menu');
  /* with the rows More brought */
  await openSearch(page, big);
  await Promise.all([page.waitForResponse((r) => r.url().includes('cursor=')), page.locator('#more').click()]);
  await page.waitForFunction(() => document.querySelectorAll('#rows tbody tr').length > 1000);
  const n = await page.locator('#rows tbody tr').count();
  const big1 = await exportShown(page);
  eq(big1.length, n + 1, 'header and every loaded row');
  eq(JSON.stringify(big1.slice(1)), JSON.stringify(await shownCells(page)), 'big: the CSV rows are the rows on screen');
});

test('readable on a phone: no sideways scrolling, rows as cards', async ({ page, small, shots }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await openSearch(page, small);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `page wider than the screen by ${overflow}px`);
  await shots('search-phone', page, 1300);
  /* cards, not table rows: the cells one above the other */
  const [a, b] = await visibleRows(page).first().locator('td').evaluateAll((tds) => tds.slice(0, 2).map((td) => td.getBoundingClientRect().top));
  check(b > a, 'cells stacked');
  /* the column heads are sort buttons */
  await page.locator('#rows th', { hasText: 'Recipient' }).locator('button').click();
  eq(inOrder(await columnTexts(page, 4), 'asc'), '', 'sorted on a phone');
  const id = await visibleRows(page).first().getAttribute('data-id');
  await page.goto(`${small}/m/${id}`);
  await page.locator('#message').waitFor({ state: 'visible' });
  const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow2 <= 0, `message page wider than the screen by ${overflow2}px`);
});

test('a slow search dims the old rows, disables Search, shows a spinner after 150 ms; the answer or an error restores them', async ({ small, shots }) => {
  /* a clock of the test's: the spinner's 150 ms pass when the test says */
  const { page, close } = await ownPage();
  const isSearchURL = (u) => u.pathname === '/api/search';
  try {
    await page.clock.install();
    await openSearch(page, small);
    /* hold the answer until the page has shown its state */
    let release;
    const gate = new Promise((resolve) => { release = resolve; });
    await page.route(isSearchURL, async (route) => { await gate; await route.continue(); });
    await page.clock.pauseAt(Date.now() + 60000);
    await page.locator('#search [name="to"]').fill('bob@example.com');
    await page.locator('#go').click();
    await page.waitForFunction(() => document.querySelector('#go').disabled);
    check(await page.locator('#spinner').isHidden(), 'no spinner at once');
    await page.clock.runFor(149);
    check(await page.locator('#spinner').isHidden(), 'no spinner before 150 ms');
    await page.clock.runFor(1);
    await page.locator('#spinner').waitFor({ state: 'visible' });
    await page.clock.resume();
    check(await page.locator('#go').isDisabled(), 'Search disabled while searching');
    check(await page.locator('#export').isDisabled(), 'no export of the old rows while searching');
    eq(await page.locator('#results').getAttribute('aria-busy'), 'true', 'aria-busy');
    eq(await visibleRows(page).count(), 14, 'the old rows stay, dimmed');
    const opacity = +(await page.locator('#results .table-wrap').evaluate((e) => getComputedStyle(e).opacity));
    check(opacity < 0.5, `old rows dimmed (opacity ${opacity})`);
    eq(await page.locator('#results .table-wrap').evaluate((e) => getComputedStyle(e).pointerEvents), 'none', 'old rows inert');
    await shots('loading', page);
    await searchBy(page, async () => release());
    check(await page.locator('#spinner').isHidden(), 'spinner gone with the answer');
    check(await page.locator('#go').isEnabled(), 'Search enabled again');
    eq(await page.locator('#results').getAttribute('aria-busy'), 'false', 'aria-busy after');
    eq(await visibleRows(page).count(), 2, 'the new rows');
    /* a search that fails: the same restored, and the failure said */
    await page.unroute(isSearchURL);
    await page.route(isSearchURL, (route) => route.abort());
    await page.locator('#go').click();
    await page.locator('#error').waitFor({ state: 'visible' });
    check((await page.locator('#error').innerText()).includes('The server did not answer'), 'network error said');
    check(await page.locator('#go').isEnabled(), 'Search enabled after an error');
    check(await page.locator('#spinner').isHidden(), 'no spinner after an error');
  } finally {
    await close();
  }
});

async function sortOf(page) {
  return page.$$eval('#rows th', (ths) => ths.filter((th) => th.hasAttribute('aria-sort')).map((th) => `${th.innerText.replace(/[▲▼↕]/g, '').trim()} ${th.getAttribute('aria-sort')}`));
}

/* Whether texts are in order (collation of the page: case and accents aside). */
function inOrder(texts, dir) {
  const c = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });
  for (let i = 1; i < texts.length; i++) {
    const d = c.compare(texts[i - 1], texts[i]);
    if (dir === 'asc' ? d > 0 : d < 0) return `${JSON.stringify(texts[i - 1])} before ${JSON.stringify(texts[i])}`;
  }
  return '';
}

test('sorting the loaded rows by a column header: asc, desc, aria-sort; newest first by default', async ({ page, small, big }) => {
  await openSearch(page, small);
  eq(JSON.stringify(await sortOf(page)), JSON.stringify(['TIME (UTC) descending']), 'default sort');
  const apiOrder = (await (await fetch(`${small}/api/search`)).json()).rows.map((r) => `${r.id} ${r.to}`);
  const pageOrder = await page.$$eval('#rows tbody tr', (trs) => trs.map((tr) => `${tr.dataset.id} ${tr.children[3].textContent}`));
  eq(JSON.stringify(pageOrder), JSON.stringify(apiOrder), 'default order is the server\'s, newest first');
  const head = (label) => page.locator('#rows th', { hasText: label }).locator('button');
  await head('Recipient').click();
  eq(JSON.stringify(await sortOf(page)), JSON.stringify(['RECIPIENT ascending']), 'after one click');
  eq(await head('Recipient').locator('.arrow').innerText(), '▲', 'indicator up');
  eq(inOrder(await columnTexts(page, 4), 'asc'), '', 'recipients ascending');
  await head('Recipient').click();
  eq(JSON.stringify(await sortOf(page)), JSON.stringify(['RECIPIENT descending']), 'after two clicks');
  eq(await head('Recipient').locator('.arrow').innerText(), '▼', 'indicator down');
  eq(inOrder(await columnTexts(page, 4), 'desc'), '', 'recipients descending');
  await head('Status').click();
  eq(inOrder(await visibleRows(page).locator('td .status').allInnerTexts(), 'asc'), '', 'statuses ascending');
  await head('Time').click();
  const times = await columnTexts(page, 1);
  eq(JSON.stringify(times), JSON.stringify([...times].sort().reverse()), 'time descending again');
  /* the keyboard reaches a header */
  await head('Subject').focus();
  await page.keyboard.press('Enter');
  eq(JSON.stringify(await sortOf(page)), JSON.stringify(['SUBJECT ascending']), 'sorted with the keyboard');
  /* rows that More brings take their place in the order */
  await openSearch(page, big);
  await head('Sender').click();
  await Promise.all([page.waitForResponse((r) => r.url().includes('cursor=')), page.locator('#more').click()]);
  await page.waitForFunction(() => document.querySelectorAll('#rows tbody tr').length > 1000);
  const senders = await columnTexts(page, 3);
  check(senders.length > 1000, `rows ${senders.length}`);
  eq(inOrder(senders, 'asc'), '', 'senders ascending after More');
});

test('Clear empties the form, the rows and the address; back brings the search again', async ({ page, small }) => {
  await submitWith(page, small, { to: 'bob@example.com', status: 'Cleared', since: '2026-03-01' });
  eq(await visibleRows(page).count(), 2, 'rows');
  await page.locator('#quick').fill('bob');
  await page.locator('#clear').click();
  eq(page.url(), `${small}/`, 'URL after Clear');
  for (const name of ['to', 'from', 'subject', 'status', 'direction', 'since', 'until'])
    eq(await page.locator(`#search [name="${name}"]`).inputValue(), '', `${name} empty`);
  eq(await page.locator('#quick').inputValue(), '', 'quick filter empty');
  eq(await page.locator('#rows tbody tr').count(), 0, 'no rows');
  check(await page.locator('#results').isHidden(), 'results hidden');
  eq(await page.evaluate(() => document.activeElement.name), 'to', 'focus on the first field');
  await searchBy(page, () => page.goBack());
  eq(await page.locator('#search [name="to"]').inputValue(), 'bob@example.com', 'recipient after back');
  eq(await visibleRows(page).count(), 2, 'rows after back');
  await page.goForward();
  await page.waitForFunction(() => document.querySelector('#results').hidden);
  eq(await page.locator('#search [name="to"]').inputValue(), '', 'cleared after forward');
});

test('empty states: a filter that hides every row; a search that finds nothing suggests what to try', async ({ page, small, shots }) => {
  await openSearch(page, small);
  check(await page.locator('#filtered-empty').isHidden(), 'no empty line with rows');
  await page.locator('#quick').fill('zzzz-nowhere');
  eq(await visibleRows(page).count(), 0, 'rows hidden');
  check(await page.locator('#filtered-empty').isVisible(), 'the empty line');
  check((await page.locator('#filtered-empty').innerText()).includes('zzzz-nowhere'), 'it names the filter');
  check(await page.locator('#empty').isHidden(), 'not "no messages"');
  await page.locator('#unfilter').click();
  eq(await visibleRows(page).count(), 14, 'rows back');
  check(await page.locator('#filtered-empty').isHidden(), 'empty line gone');
  /* a part of an address: the address with any domain; it runs the search */
  await submitWith(page, small, { to: 'bob' });
  eq(await visibleRows(page).count(), 0, 'no whole address "bob"');
  check(await page.locator('#empty').isVisible(), 'nothing found');
  const hint = page.locator('#hint-list button.hint', { hasText: 'bob@*' });
  check(await hint.isVisible(), 'hint bob@*');
  await searchBy(page, () => hint.click());
  eq(await page.locator('#search [name="to"]').inputValue(), 'bob@*', 'field set');
  check(page.url().includes('to=bob%40*'), `URL ${page.url()}`);
  eq(await visibleRows(page).count(), 2, 'rows of bob@*');
  check(await page.locator('#hints').isHidden(), 'no hint with rows');
  /* a part of a subject word: the word as a prefix, with the sender's hint beside */
  await submitWith(page, small, { subject: 'quarterly repo', from: 'alice' });
  eq(await visibleRows(page).count(), 0, 'no whole word "repo"');
  const hints = await page.locator('#hint-list button.hint').allInnerTexts();
  eq(JSON.stringify(hints.map((h) => h.replace(/\s+/g, ' ').trim())), JSON.stringify(['Subject quarterly repo*', 'Sender alice@*']), 'hints');
  await shots('no-rows', page);
  const req = page.waitForRequest((r) => isSearch(r) && new URL(r.url()).searchParams.get('subject') === 'quarterly repo*');
  await searchBy(page, () => page.locator('#hint-list button.hint', { hasText: 'repo*' }).click());
  await req;
  eq(await page.locator('#search [name="subject"]').inputValue(), 'quarterly repo*', 'subject field set');
  eq(await page.locator('#search [name="from"]').inputValue(), 'alice', 'the other field kept');
});

test('a released message is marked beside its status; the status choices are not cut', async ({ page, small }) => {
  /* what exists: a search for released messages, and the message's state */
  await submitWith(page, small, { status: 'Cleared (released from quarantine)' });
  eq(await visibleRows(page).count(), 1, 'released rows');
  const row = visibleRows(page).first();
  eq(await row.locator('.released').innerText(), 'released', 'mark in the row');
  await row.locator('.status').hover();
  check((await page.locator('#tip').innerText()).includes('Released from quarantine'), 'tooltip says released');
  const id = await row.getAttribute('data-id');
  await page.goto(`${small}/m/${id}`);
  await page.locator('#message').waitFor({ state: 'visible' });
  eq(await page.locator('#msg-rcpts .released').count(), 1, 'mark on the message page');
  /* the server says "released": true of that row alone, and the mark follows it in any search */
  const api = (await (await fetch(`${small}/api/search`)).json()).rows;
  eq(JSON.stringify(api.filter((r) => r.released).map((r) => r.queue_id)), '["9C0D1E2F3A"]', 'released rows in the API');
  await openSearch(page, small);
  eq(await page.locator('#rows tbody .released').count(), 1, 'one row marked');
  eq(await page.locator('#rows tbody tr', { has: page.locator('.released') }).locator('td.addr').nth(1).innerText(), 'judy@example.com', 'the released row');
  await page.locator('#quick').fill('released');
  eq(await visibleRows(page).count(), 1, 'the quick filter finds "released"');
  /* the longest status choice fits its select, on a laptop and on a phone */
  for (const width of [1360, 1024, 390]) {
    await page.setViewportSize({ width, height: 844 });
    await page.locator('#search [name="status"]').selectOption({ label: 'Cleared (released from quarantine)' });
    const room = await page.locator('#search [name="status"]').evaluate((sel) => {
      const cs = getComputedStyle(sel);
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.font = cs.font;
      const text = ctx.measureText(sel.options[sel.selectedIndex].text).width;
      /* the arrow takes about 20 px of the padding box */
      return sel.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20 - text;
    });
    check(room >= 0, `status select short by ${-room}px at ${width}px`);
  }
});

test('times in UTC or local time, remembered; every time says its zone', async ({ small }) => {
  /* a browser in India (UTC+05:30, no summer time) */
  const { page, close } = await ownPage({ timezoneId: 'Asia/Kolkata' });
  try {
    await openSearch(page, small, '?to=judy%40example.com');
    /* the browser's name for the zone (Chromium says the older Asia/Calcutta) */
    const tz = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    check(/^Asia\/(Kolkata|Calcutta)$/.test(tz), `zone ${tz}`);
    eq(await page.locator('#zone').inputValue(), 'utc', 'UTC by default');
    const row = visibleRows(page).first();
    eq(await row.locator('td.time').innerText(), '2026-03-03 10:06:00', 'UTC time');
    await page.locator('#zone').selectOption('local');
    eq(await row.locator('td.time').innerText(), '2026-03-03 15:36:00', 'local time (UTC+05:30)');
    const th = await page.locator('#rows th').first().innerText();
    check(th.toUpperCase().includes(`TIME (${tz.toUpperCase()})`), `column names the zone: ${th}`);
    check((await page.locator('#search label', { hasText: 'From date' }).innerText()).includes(tz), 'date field names the zone');
    /* a date typed in local time means that instant */
    await page.locator('#search [name="since"]').fill('2026-03-03 15:36');
    await searchBy(page, () => page.locator('#go').click());
    check(page.url().includes('since=2026-03-03T10%3A06%3A00Z'), `URL in UTC: ${page.url()}`);
    eq(await visibleRows(page).count(), 1, 'rows');
    /* switching keeps the instant typed */
    await page.locator('#zone').selectOption('utc');
    eq(await page.locator('#search [name="since"]').inputValue(), '2026-03-03 10:06', 'since in UTC');
    await page.locator('#zone').selectOption('local');
    /* remembered */
    await searchBy(page, () => page.reload());
    eq(await page.locator('#zone').inputValue(), 'local', 'remembered after a reload');
    eq(await page.locator('#search [name="since"]').inputValue(), '2026-03-03 15:36', 'since shown in local time');
    /* the message page */
    const id = await visibleRows(page).first().getAttribute('data-id');
    await page.goto(`${small}/m/${id}`);
    await page.locator('#message').waitFor({ state: 'visible' });
    const fields = await page.locator('#msg-fields').innerText();
    check(fields.includes(`2026-03-03 15:36:00 ${tz}`), `received in local time: ${fields}`);
    check((await page.locator('#message h2', { hasText: 'Timeline' }).innerText()).includes(tz), 'timeline names the zone');
    eq(await page.locator('#msg-events time').first().innerText(), '2026-03-03 15:36:00', 'timeline in local time');
    await page.locator('#zone').selectOption('utc');
    check((await page.locator('#msg-fields').innerText()).includes('2026-03-03 10:06:00 UTC'), 'received in UTC');
    eq(await page.locator('#msg-events time').first().innerText(), '2026-03-03 10:06:00', 'timeline in UTC');
    eq(await page.evaluate(() => localStorage.getItem('mtalog.zone')), 'utc', 'stored');
  } finally {
    await close();
  }
});

/* Whether the texts of a timeline line overlap one another. */
async function timelineOverlaps(page) {
  return page.$$eval('#msg-events li', (lis) => {
    const bad = [];
    for (const li of lis) {
      const boxes = Array.from(li.children, (c) => {
        const r = document.createRange();
        r.selectNodeContents(c);
        return Array.from(r.getClientRects());
      });
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          for (const a of boxes[i]) {
            for (const b of boxes[j]) {
              if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5)
                bad.push(`${li.children[i].textContent} / ${li.children[j].textContent.slice(0, 30)}`);
            }
          }
        }
      }
    }
    return bad;
  });
}

test('the message page: no overlap in the timeline, bounce links, copy permalink, an icon', async ({ page, small, context, shots }) => {
  const requests = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  const res = await (await fetch(`${small}/api/search?queue_id=9C0D1E2F3A`)).json();
  await page.goto(`${small}/m/${res.rows[0].id}`);
  await page.locator('#message').waitFor({ state: 'visible' });
  check(await page.locator('#msg-events li', { hasText: 'postfix/postsuper' }).count() === 1, 'a long program name');
  for (const width of [1360, 900, 390]) {
    await page.setViewportSize({ width, height: 900 });
    eq(JSON.stringify(await timelineOverlaps(page)), '[]', `overlaps at ${width}px`);
    if (width === 390) await shots('message-phone', page, true);
  }
  await page.setViewportSize({ width: 1360, height: 860 });
  /* the icon is in the page, not fetched */
  const icon = await page.locator('link[rel="icon"]').getAttribute('href');
  check(icon.startsWith('data:image/svg+xml;base64,'), `icon ${icon.slice(0, 40)}`);
  const iconWidth = await page.evaluate(async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    return img.naturalWidth;
  }, icon);
  check(iconWidth > 0, 'the icon is an image');
  check(!requests.includes('/favicon.ico'), 'no request for /favicon.ico');
  /* copy permalink */
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: small });
  await page.locator('#copy-link').click();
  await page.waitForFunction(() => document.querySelector('#copied').textContent === 'Copied');
  eq(await page.evaluate(() => navigator.clipboard.readText()), `${small}/m/${res.rows[0].id}`, 'clipboard');
  /* a browser that refuses the clipboard: the address shown, selected */
  await page.evaluate(() => { navigator.clipboard.writeText = () => Promise.reject(new Error('refused')); });
  await page.locator('#copy-link').click();
  const box = page.locator('#copied input.permalink');
  await box.waitFor({ state: 'visible' });
  eq(await box.inputValue(), `${small}/m/${res.rows[0].id}`, 'the address to copy');
  eq(await box.evaluate((e) => document.activeElement === e && e.selectionEnd - e.selectionStart === e.value.length), true, 'selected');
  /* the bounce's queue ID links to the bounce, and back */
  const orig = (await (await fetch(`${small}/api/search?queue_id=3C4D5E6F7A`)).json()).rows[0].id;
  const bounce = (await (await fetch(`${small}/api/search?queue_id=4D5E6F7A8B`)).json()).rows[0].id;
  await page.goto(`${small}/m/${orig}`);
  const link = page.locator('#msg-fields a', { hasText: '4D5E6F7A8B' });
  await link.waitFor({ state: 'visible' });
  eq(await link.getAttribute('href'), `/m/${bounce}`, 'bounce link');
  await Promise.all([page.waitForURL(`**/m/${bounce}`), link.click()]);
  await page.locator('#message').waitFor({ state: 'visible' });
  eq(await page.locator('#msg-fields div', { hasText: 'Queue ID' }).locator('dd').innerText(), '4D5E6F7A8B', 'the bounce\'s page');
  const back = page.locator('#msg-fields a', { hasText: '3C4D5E6F7A' });
  await back.waitFor({ state: 'visible' });
  eq(await back.getAttribute('href'), `/m/${orig}`, 'bounce-of link');
});

/* ---- the timeline of the match ---- */

/* The chart's bars as the page drew them: [{ i, counts: { status: n } }]. */
async function chartBars(page) {
  return page.$$eval('#chart-bars g.bucket', (gs) => gs.map((g) => {
    const counts = {};
    for (const r of g.querySelectorAll('rect.hb')) counts[r.dataset.status] = +r.dataset.count;
    return { i: +g.dataset.i, counts };
  }));
}

const sumOf = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);

test('the timeline: stacked bars by status add up to the total; hover shows a bar; a click narrows the search', async ({ page, big, shots }) => {
  const api = await (await fetch(`${big}/api/histogram`)).json();
  check(api.buckets.length > 10, `buckets ${api.buckets.length}`);
  eq(api.total, SAMPLE_ROWS, 'the answer\'s total');
  await openSearch(page, big);
  await page.locator('#chart-bars g.bucket').first().waitFor({ state: 'attached' });
  check(await page.locator('#chart').isVisible(), 'chart shown');
  const bars = await chartBars(page);
  eq(bars.length, api.buckets.length, 'a bar a bucket');
  eq(bars.reduce((a, b) => a + sumOf(b.counts), 0), api.total, 'the bars add up to the total');
  for (const b of bars) {
    const want = api.buckets[b.i].counts;
    for (const st of Object.keys(want)) eq(b.counts[st] || 0, want[st], `bucket ${b.i} ${st}`);
    eq(sumOf(b.counts), sumOf(want), `bucket ${b.i} sum`);
  }
  check((await page.locator('#chart-title').innerText()).includes(`${SAMPLE_ROWS.toLocaleString('en-US')} matching rows`), 'title says the total');
  /* the colours are those of the status badges' family, one a status */
  const fills = await page.$$eval('#chart-bars rect.hb', (rs) => Object.fromEntries(rs.map((r) => [r.dataset.status, getComputedStyle(r).fill])));
  eq(new Set(Object.values(fills)).size, Object.keys(fills).length, `a colour a status ${JSON.stringify(fills)}`);
  /* hover: the bar's time range and counts */
  const pick = bars.find((b) => Object.keys(b.counts).length > 1 && sumOf(b.counts) < 1000);
  const g = page.locator(`#chart-bars g.bucket[data-i="${pick.i}"]`);
  await g.hover();
  const tip = page.locator('#tip');
  await tip.waitFor({ state: 'visible' });
  const start = api.buckets[pick.i].start;
  const hh = start.slice(11, 13);
  const text = await tip.innerText();
  check(text.includes(`${start.slice(0, 10)} ${hh}:00 to`) && text.includes('UTC'), `tip range: ${text}`);
  for (const [st, n] of Object.entries(pick.counts)) check(text.includes(st) && text.includes(String(n)), `tip lacks ${st} ${n}: ${text}`);
  await shots('timeline', page);
  /* the keyboard reaches a bar, and focus shows it too */
  await page.mouse.move(0, 0);
  await g.focus();
  await tip.waitFor({ state: 'visible' });
  /* a click: From and To set to the bar's hour, the search run */
  const end = new Date(new Date(start).getTime() + api.bucket_seconds * 1000 - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  await searchBy(page, () => g.click());
  const u = new URL(page.url());
  eq(u.searchParams.get('since'), start, 'since in the URL');
  eq(u.searchParams.get('until'), end, 'until in the URL');
  eq(await page.locator('#search [name="since"]').inputValue(), `${start.slice(0, 10)} ${hh}:00`, 'From date field');
  eq(await page.locator('#search [name="until"]').inputValue(), `${start.slice(0, 10)} ${hh}:59:59`, 'To date field');
  eq(await visibleRows(page).count(), sumOf(pick.counts), 'the rows of that bar');
  for (const t of await page.$$eval('#rows tbody td.time time', (ts) => ts.map((x) => x.getAttribute('datetime'))))
    check(t >= start && t <= end, `row at ${t} outside ${start}..${end}`);
  /* the narrowed chart: one bar, the same counts */
  await page.waitForFunction(() => document.querySelectorAll('#chart-bars g.bucket').length === 1);
  eq(sumOf((await chartBars(page))[0].counts), sumOf(pick.counts), 'the narrowed chart');
});

test('the timeline follows the UTC/local switch and hides for an empty match', async ({ small }) => {
  const { page, close } = await ownPage({ timezoneId: 'Asia/Kolkata' });
  try {
    await openSearch(page, small);
    await page.locator('#chart-bars g.bucket').first().waitFor({ state: 'attached' });
    eq(await page.locator('#chart-first').innerText(), '2026-03-03 10:00:00 UTC', 'axis in UTC');
    await page.locator('#zone').selectOption('local');
    check((await page.locator('#chart-first').innerText()).startsWith('2026-03-03 15:30:00 Asia/'), `axis in local time: ${await page.locator('#chart-first').innerText()}`);
    await page.locator('#chart-bars g.bucket').first().hover();
    check((await page.locator('#tip').innerText()).startsWith('2026-03-03 15:30 to 2026-03-03 16:30 Asia/'), `tip in local time: ${await page.locator('#tip').innerText()}`);
    /* the keyboard: Enter on a bar narrows the search, the dates typed in local time */
    await page.locator('#chart-bars g.bucket').first().focus();
    await searchBy(page, () => page.keyboard.press('Enter'));
    eq(await page.locator('#search [name="since"]').inputValue(), '2026-03-03 15:30', 'From date in local time');
    eq(await page.locator('#search [name="until"]').inputValue(), '2026-03-03 16:29:59', 'To date in local time');
    eq(new URL(page.url()).searchParams.get('since'), '2026-03-03T10:00:00Z', 'since in UTC');
    eq(await visibleRows(page).count(), 14, 'the rows of that hour');
    await page.locator('#zone').selectOption('utc');
    /* a match of nothing: no chart */
    await submitWith(page, small, { to: 'nobody@nowhere.example' });
    await page.waitForFunction(() => document.querySelector('#chart').hidden);
    check(await page.locator('#empty').isVisible(), 'nothing found');
  } finally {
    await close();
  }
});

test('a slow or failed timeline never holds up or breaks the rows', async ({ page, small }) => {
  const isHist = (u) => u.pathname === '/api/histogram';
  /* slow: held until the rows are on screen */
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  await page.route(isHist, async (route) => { await gate; await route.continue().catch(() => {}); });
  await openSearch(page, small);
  eq(await visibleRows(page).count(), 14, 'rows while the timeline is held');
  check(await page.locator('#go').isEnabled(), 'the search is done');
  eq(await page.locator('#chart-bars g.bucket').count(), 0, 'no bars yet');
  release();
  await page.locator('#chart-bars g.bucket').first().waitFor({ state: 'attached' });
  eq((await chartBars(page)).reduce((a, b) => a + sumOf(b.counts), 0), 14, 'bars once it came');
  /* a search whose timeline is still held when the next starts: the late answer is dropped */
  await page.unroute(isHist);
  let release2;
  const gate2 = new Promise((resolve) => { release2 = resolve; });
  await page.route((u) => isHist(u) && !u.searchParams.get('to'), async (route) => { await gate2; await route.continue().catch(() => {}); });
  await submitWith(page, small, { to: 'bob@example.com' });
  release2();
  await page.waitForFunction(() => document.querySelectorAll('#chart-bars g.bucket').length === 1 && !document.querySelector('#chart').classList.contains('loading'));
  eq(sumOf((await chartBars(page))[0].counts), 2, 'the chart of the last search');
  await page.unroute((u) => isHist(u) && !u.searchParams.get('to'));
  /* failed: the network, then a server error; the rows stay, a line says so */
  await page.route(isHist, (route) => route.abort());
  await openSearch(page, small);
  eq(await visibleRows(page).count(), 14, 'rows when the timeline failed');
  await page.locator('#chart-note').waitFor({ state: 'visible' });
  check((await page.locator('#chart-note').innerText()).includes('could not be loaded'), 'the failure said');
  eq(await page.locator('#chart-bars g.bucket').count(), 0, 'no bars');
  await page.unroute(isHist);
  await page.route(isHist, (route) => route.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"out of memory"}' }));
  await submitWith(page, small, { to: 'bob@example.com' });
  eq(await visibleRows(page).count(), 2, 'rows when the timeline answered 500');
  await page.waitForFunction(() => document.querySelector('#chart-note').textContent.includes('out of memory'));
  check(await page.locator('#error').isHidden(), 'no error box for the rows');
});

/* ---- the count of the whole match ---- */

test('the count says how many rows match: exact, or "at least" when the server\'s count stopped', async ({ page, small, big }) => {
  await openSearch(page, small);
  eq(await page.locator('#count').innerText(), '14 rows', 'every row loaded');
  const small1 = await (await fetch(`${small}/api/search`)).json();
  eq(`${small1.total} ${small1.total_exact}`, '14 true', 'the server counts a match of one page exactly');
  /* the server counts the rest for 10 ms: exact, or a lower bound on a busy machine; the page says which */
  const answer = page.waitForResponse(isSearch);
  await openSearch(page, big);
  const res = await (await answer).json();
  const all = res.total_exact ? '3,439' : `at least ${res.total.toLocaleString('en-US')}`;
  check(res.total_exact ? res.total === SAMPLE_ROWS : res.total <= SAMPLE_ROWS, `total ${res.total} ${res.total_exact}`);
  eq(await page.locator('#count').innerText(), `1,000 of ${all} rows`, 'the count');
  await page.locator('#quick').fill('example');
  const filtered = await page.locator('#count').innerText();
  check(/^[\d,]+ of 1,000 loaded rows \(.* match\)$/.test(filtered) && filtered.includes(`(${all} match)`), `filtered: ${filtered}`);
  /* the server's answer with another count: exact, then a lower bound */
  const counted = async (total, exact) => {
    const isAPI = (u) => u.pathname === '/api/search';
    await page.route(isAPI, async (route) => {
      const r = await route.fetch();
      await route.fulfill({ response: r, json: { ...(await r.json()), total, total_exact: exact } });
    });
    await openSearch(page, big);
    await page.unroute(isAPI);
    return page.locator('#count').innerText();
  };
  eq(await counted(23456, true), '1,000 of 23,456 rows', 'an exact count');
  eq(await counted(2345, false), '1,000 of at least 2,345 rows', 'a lower bound');
});

/* ---- reports ---- */

test('Report: a message reported as phishing from its page; Reported finds it; the row is marked', async ({ page, reports, shots }) => {
  const id = (await (await fetch(`${reports}/api/search?queue_id=1A2B3C4D5E`)).json()).rows[0].id;
  await page.goto(`${reports}/m/${id}`);
  await page.locator('#message').waitFor({ state: 'visible' });
  check(await page.locator('#no-reports').isVisible(), 'no report yet');
  await page.locator('#report-open').click();
  await page.locator('#report-ask').waitFor({ state: 'visible' });
  /* Cancel sends nothing */
  let posts = 0;
  page.on('request', (r) => { if (r.method() === 'POST') posts++; });
  await page.locator('#report-cancel').click();
  check(await page.locator('#report-ask').isHidden(), 'cancelled');
  eq(posts, 0, 'nothing sent on cancel');
  await page.locator('#report-open').click();
  await page.locator('#report-ask input[value="phishing"]').check();
  const post = page.waitForRequest((r) => r.method() === 'POST');
  await page.locator('#report-send').click();
  const req = await post;
  eq(new URL(req.url()).pathname, `/api/messages/${id}/report`, 'posted to');
  eq(req.postData(), '{"reason":"phishing"}', 'the body');
  await page.waitForFunction(() => document.querySelector('#report-done').textContent === 'Reported as phishing.');
  const li = await page.locator('#report-list li').allInnerTexts();
  eq(li.length, 1, 'one report');
  check(li[0].startsWith('phishing reported by an unnamed user, ') && li[0].includes('UTC'), `the report: ${li[0]}`);
  check(await page.locator('#no-reports').isHidden(), 'the empty line gone');
  await shots('report', page, true);
  /* the server kept it */
  const m = await (await fetch(`${reports}/api/messages/${id}`)).json();
  eq(JSON.stringify(m.reports.map((r) => r.kind)), '["phishing"]', 'the server\'s reports');
  await page.reload();
  await page.locator('#report-list li').first().waitFor();
  eq(await page.locator('#report-list li').count(), 1, 'after a reload');
  /* the search: Reported finds it, with the mark */
  await submitWith(page, reports, { status: 'Reported (spam or phishing)' });
  eq(await visibleRows(page).count(), 1, 'reported rows');
  eq(await visibleRows(page).first().getAttribute('data-id'), id, 'the reported message');
  eq(await visibleRows(page).first().locator('.reported').innerText(), 'reported', 'the mark');
  await openSearch(page, reports);
  eq(await page.locator('#rows tbody .reported').count(), 1, 'one row marked among all');
  await visibleRows(page).first().locator('.status').hover();
  await page.locator('#rows tbody tr', { has: page.locator('.reported') }).locator('.status').hover();
  check((await page.locator('#tip').innerText()).includes('Reported as spam or phishing'), 'tooltip says reported');
  /* an error in plain words: the server's refusal of another site's post, and a failure */
  const other = await fetch(`${reports}/api/messages/${id}/report`, { method: 'POST', headers: { Origin: 'http://evil.example' } });
  eq(other.status, 403, 'another site\'s post refused');
  await page.goto(`${reports}/m/${id}`);
  await page.locator('#message').waitFor({ state: 'visible' });
  const refused = await other.text();
  await page.route((u) => u.pathname.endsWith('/report'), (route) => route.fulfill({ status: 403, contentType: 'application/json', body: refused }));
  await page.locator('#report-open').click();
  await page.locator('#report-send').click();
  await page.locator('#report-error').waitFor({ state: 'visible' });
  check((await page.locator('#report-error').innerText()).startsWith('The server refused a report from this page'), await page.locator('#report-error').innerText());
  check(await page.locator('#report-ask').isVisible(), 'the choice stays open to try again');
  await page.unroute((u) => u.pathname.endsWith('/report'));
  await page.route((u) => u.pathname.endsWith('/report'), (route) => route.abort());
  await page.locator('#report-send').click();
  await page.waitForFunction(() => document.querySelector('#report-error').textContent.includes('The server did not answer'));
  eq(await page.locator('#report-list li').count(), 1, 'no new report shown after failures');
});

/* A test on a browser of its own (a session that the shared one must not keep). */
const alone = (fn) => async (args) => {
  const { page, close } = await ownPage();
  try {
    await fn({ ...args, page });
  } finally {
    await close();
  }
};

test('with users: bob reports his message, by name; another\'s is not his to report', alone(async ({ page, reports, reportUsers }) => {
  const bobs = (await (await fetch(`${reports}/api/search?queue_id=1A2B3C4D5E`)).json()).rows[0].id;
  const carols = (await (await fetch(`${reports}/api/search?from=carol%40example.com`)).json()).rows[0].id;
  await searchBy(page, () => logIn(page, reportUsers, 'bob', 'right-2'));
  await page.goto(`${reportUsers}/m/${bobs}`);
  await page.locator('#message').waitFor({ state: 'visible' });
  const before = await page.locator('#report-list li').count();
  await page.locator('#report-open').click();
  await page.locator('#report-send').click();
  await page.waitForFunction(() => document.querySelector('#report-done').textContent === 'Reported as spam.');
  eq(await page.locator('#report-list li').count(), before + 1, 'the new report shown');
  check((await page.locator('#report-list li').last().innerText()).startsWith('spam reported by bob, '), 'by bob');
  /* carol's message: the server answers as for one that does not exist */
  const r = await page.evaluate(async (id) => {
    const x = await fetch(`/api/messages/${id}/report`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"reason":"spam"}' });
    return { status: x.status, body: await x.text() };
  }, carols);
  eq(r.status, 404, `bob reporting carol's message: ${r.body}`);
  /* the page says it in plain words */
  await page.route((u) => u.pathname.endsWith('/report'), (route) => route.fulfill({ status: 404, contentType: 'application/json', body: r.body }));
  await page.locator('#report-open').click();
  await page.locator('#report-send').click();
  await page.locator('#report-error').waitFor({ state: 'visible' });
  check((await page.locator('#report-error').innerText()).includes('not one you may see'), await page.locator('#report-error').innerText());
  const m = await (await fetch(`${reports}/api/messages/${carols}`)).json();
  eq(JSON.stringify(m.reports), '[]', 'carol\'s message unreported');
}));

test('with users: a message bob shares with others says how many recipients are not shown', alone(async ({ page, small, users }) => {
  const id = (await (await fetch(`${small}/api/search?queue_id=0D1E2F3A4B`)).json()).rows[0].id;
  const all = await (await fetch(`${small}/api/messages/${id}`)).json();
  eq(all.recipients.length, 3, 'recipients seen by an admin');
  await searchBy(page, () => logIn(page, users, 'bob', 'right-2'));
  await page.goto(`${users}/m/${id}`);
  await page.locator('#message').waitFor({ state: 'visible' });
  eq(await page.locator('#msg-rcpts tbody tr').count(), 1, 'bob\'s recipient alone');
  const note = await page.locator('#msg-hidden').innerText();
  check(note.startsWith('1 of 3 recipients shown: the other 2 are not among your addresses'), note);
  check((await page.locator('#msg-fields').innerText()).includes('1 of 3 shown'), 'the Recipients field');
  /* a message all his: no such line */
  const own = (await (await fetch(`${small}/api/search?queue_id=1A2B3C4D5E`)).json()).rows[0].id;
  await page.goto(`${users}/m/${own}`);
  await page.locator('#message').waitFor({ state: 'visible' });
  check(await page.locator('#msg-hidden').isHidden(), 'no line when every recipient is shown');
}));

test('a subject prefix: the hint invoic* finds the invoice', async ({ page, small }) => {
  await submitWith(page, small, { subject: 'invoic' });
  eq(await visibleRows(page).count(), 0, 'no whole word "invoic"');
  const hint = page.locator('#hint-list button.hint', { hasText: 'invoic*' });
  await searchBy(page, () => hint.click());
  eq(await page.locator('#search [name="subject"]').inputValue(), 'invoic*', 'subject field');
  check(page.url().includes('subject=invoic*'), `URL ${page.url()}`);
  eq(await visibleRows(page).count(), 1, 'rows of invoic*');
  eq((await columnTexts(page, 5))[0], 'Invoice 4711 overdue', 'the subject found');
  check(await page.locator('#hints').isHidden(), 'no hint with rows');
});

/* ---- who sees what (--users) ---- */

async function logIn(page, base, name, password) {
  await page.goto(`${base}/`);
  await page.locator('#login').waitFor({ state: 'visible' });
  check(await page.locator('#search-view').isHidden(), 'the search is hidden before a login');
  await page.locator('#login [name="name"]').fill(name);
  await page.locator('#login [name="password"]').fill(password);
  await page.locator('#login button[type="submit"]').click();
}

test('with users: bob logs in and sees only his rows, through the page and the API', async ({ page, small, users }) => {
  const carol = (await (await fetch(`${small}/api/search?from=carol%40example.com`)).json()).rows[0].id;
  await searchBy(page, () => logIn(page, users, 'bob', 'right-2'));
  eq(await page.locator('#who-name').innerText(), 'bob', 'name in the bar');
  check(await page.locator('#logout').isVisible(), 'log-out button');
  eq(await visibleRows(page).count(), 2, 'bob\'s rows');
  for (const r of await page.$$eval('#rows tbody tr', (trs) => trs.map((tr) => tr.textContent)))
    check(r.includes('bob@example.com'), `a row not bob's: ${r}`);
  /* the page: a search for carol's rows finds none; her message is not there */
  await openSearch(page, users, '?from=carol%40example.com');
  eq(await visibleRows(page).count(), 0, 'carol\'s rows as bob');
  check(await page.locator('#empty').isVisible(), 'no rows shown');
  await page.goto(`${users}/m/${carol}`);
  await page.locator('#msg-error').waitFor({ state: 'visible' });
  check((await page.locator('#msg-error').innerText()).includes(`No message ${carol}`), 'carol\'s message hidden');
  /* the API with bob's cookie, from the page */
  const api = await page.evaluate(async (id) => {
    const s = await (await fetch('/api/search?to=dave%40slow.example')).json();
    const m = await fetch(`/api/messages/${id}`);
    const csv = await (await fetch('/api/search.csv')).text();
    return { rows: s.rows.length, message: m.status, csv };
  }, carol);
  eq(api.rows, 0, 'API rows for carol\'s recipient');
  eq(api.message, 404, 'API message status');
  eq(api.csv.trim().split('\r\n').length, 3, 'CSV lines (header and bob\'s two rows)');
  check(!api.csv.includes('carol@'), 'CSV has no row of carol');
  /* the cookie is out of the page's reach */
  eq(await page.evaluate(() => document.cookie), '', 'document.cookie');
  /* log out: the form again, and the API refuses */
  await Promise.all([page.waitForURL(`${users}/`), page.locator('#logout').click()]);
  await page.locator('#login').waitFor({ state: 'visible' });
  eq(await page.evaluate(async () => (await fetch('/api/search')).status), 401, 'API after logout');
});

test('with users: a silent user and a wrong password are refused', async ({ page, users, shots }) => {
  await logIn(page, users, 'mute', 'right-1');
  await page.locator('#login-error').waitFor({ state: 'visible' });
  /* refused as a wrong password is: the answer does not confirm the password */
  check((await page.locator('#login-error').innerText()).includes('Wrong name or password'), 'silent refused');
  eq(await page.evaluate(async () => (await fetch('/api/me')).status), 401, 'no session for a silent user');
  check(await page.locator('#search-view').isHidden(), 'no search for a silent user');
  await page.locator('#login [name="name"]').fill('bob');
  await page.locator('#login [name="password"]').fill('wrong');
  await page.locator('#login button[type="submit"]').click();
  await page.waitForFunction(() => document.querySelector('#login-error').textContent.includes('Wrong'));
  await shots('login', page);
  eq(await page.locator('#login [name="password"]').inputValue(), '', 'password cleared');
});

/* ---- run ---- */

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const smallDb = path.join(tmp, 'small.db');
  const bigDb = path.join(tmp, 'big.db');
  ingest(smallDb, ['--year', '2026', '--local-domains', 'example.com', 'tests/data/statuses.log']);
  ingest(bigDb, ['sample/mail.log']);
  const small = await serve(smallDb);
  const big = await serve(bigDb);
  /* a budget so short that the first page of every search stops early */
  const hurried = await serve(bigDb, ['--search-timeout', '0.0002']);
  const hash = (pw) => execFileSync(BIN, ['serve', '--hash-password'], { input: `${pw}\n` }).toString().trim();
  const usersFile = path.join(tmp, 'users');
  fs.writeFileSync(usersFile, [
    `root:${hash('right-1')}:admin:`,
    `bob:${hash('right-2')}:user:bob@example.com`,
    `carol:${hash('right-1')}:user:carol@example.com,@partner.example`,
    `mute:${hash('right-1')}:silent:mute@example.com`, ''].join('\n'));
  const users = await serve(smallDb, ['--users', usersFile]);
  /* the tests that report messages write to a database of their own */
  const reportDb = path.join(tmp, 'report.db');
  ingest(reportDb, ['--year', '2026', '--local-domains', 'example.com', 'tests/data/statuses.log']);
  const reports = await serve(reportDb);
  const reportUsers = await serve(reportDb, ['--users', usersFile]);

  const context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    ...BROWSER,
    viewport: { width: 1360, height: 860 },
    acceptDownloads: true,
    timezoneId: 'UTC',
    locale: 'en-US',
  });
  const outside = [];
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === '127.0.0.1') return route.continue();
    outside.push(u.href);
    return route.abort();
  });
  /* fullPage: the whole page, or its top this many pixels high */
  const shots = async (name, page, fullPage) => {
    const file = `web-${name}.png`;
    const clip = typeof fullPage === 'number' ? { x: 0, y: 0, width: page.viewportSize().width, height: fullPage } : undefined;
    await page.screenshot({ path: path.join(OUT, file), fullPage: !!fullPage, clip });
    if (process.env.UPDATE_SCREENSHOTS && DOCS_SHOTS.includes(name)) fs.copyFileSync(path.join(OUT, file), path.join(ROOT, 'docs', file));
  };

  let passed = 0;
  let failed = 0;
  const only = process.env.ONLY ? new RegExp(process.env.ONLY) : null;
  for (const t of tests.filter((x) => !only || only.test(x.name))) {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.setDefaultTimeout(15000);
    const t0 = Date.now();
    try {
      await t.fn({ page, small, big, hurried, users, reports, reportUsers, shots, context });
      if (errors.length) throw new Error(`script error on the page: ${errors.join('; ')}`);
      if (outside.length) throw new Error(`requests outside the server: ${outside.join(' ')}`);
      passed++;
      console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${t.name}: ${e.message.split('\n')[0]}`);
      await page.screenshot({ path: path.join(OUT, `fail-${tests.indexOf(t)}.png`) }).catch(() => {});
    }
    await page.close();
  }
  await context.close();
  const codes = await stopServers();
  if (codes.some((c) => c !== 0)) {
    failed++;
    console.log(`FAIL the servers stopped with ${codes.join(', ')} after SIGTERM`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main()
  .catch(async (e) => {
    console.log(`FAIL setup: ${e.stack || e}`);
    await stopServers();
    console.log('0 passed, 1 failed');
    return 1;
  })
  .then((code) => {
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(code);
  });
