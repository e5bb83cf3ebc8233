/*
 * Browser tests of the Email Logs page of `mtalog serve`, in Debian's headless
 * Chromium (/usr/bin/chromium) driven by playwright-core; no browser download.
 *
 * Three servers on free loopback ports: one on tests/data/statuses.log (one
 * message per status), one on sample/mail.log (3439 rows, for "More"), and
 * one on the first database with --users (log in, who sees what).  Every
 * request the page makes outside the server is refused and fails the test
 * (the page works offline).  Screenshots go to tests/web/out/; with
 * UPDATE_SCREENSHOTS=1 also to docs/ (the ones the README shows).
 *
 * Run: make test-web (or MTALOG_BIN=build/mtalog node tests/web/test.js).
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

/* ---- the tests ---- */

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

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
    [{ status: 'Cleared (released from quarantine)' }, 1], [{ status: 'Cleared (bounced by destination)' }, 1],
    [{ status: 'Cleared (queued for delivery)' }, 2], [{ status: 'delivered' }, 5], [{ status: 'expired' }, 1],
    [{ direction: 'Outbound' }, 3], [{ direction: 'Inbound', status: 'Blocked' }, 3],
  ];
  for (const [fields, n] of cases) {
    await submitWith(page, small, fields);
    eq(await visibleRows(page).count(), n, JSON.stringify(fields));
  }
  await submitWith(page, small, { status: 'Blocked' });
  for (const t of await columnTexts(page, 6)) eq(t, 'blocked', 'status column');
});

test('search by date range (UTC)', async ({ page, small }) => {
  await submitWith(page, small, { since: '2026-03-03T10:06' });
  eq(await visibleRows(page).count(), 6, 'since');
  await submitWith(page, small, { since: '2026-03-03T10:02', until: '2026-03-03T10:03:59' });
  eq(await visibleRows(page).count(), 4, 'since and until');
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

test('a bad value shows the server\'s error and marks the field', async ({ page, small }) => {
  await openSearch(page, small, '?since=yesterdayish');
  check(await page.locator('#error').isVisible(), 'error shown');
  check((await page.locator('#error').innerText()).includes('since'), 'error names the field');
  eq(await page.locator('#search [name="since"]').getAttribute('aria-invalid'), 'true', 'aria-invalid');
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
  await submitWith(page, small, { status: 'Cleared (bounced by destination)' });
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
  eq((await page.locator('#count').innerText()).trim(), `${SAMPLE_ROWS} rows`, 'count');
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

test('Export CSV downloads the rows of the search', async ({ page, small }) => {
  await submitWith(page, small, { status: 'Cleared' });
  const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#csv').click()]);
  const file = path.join(tmp, 'export.csv');
  await dl.saveAs(file);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\r\n');
  eq(lines.length, 11, 'header and 10 rows');
  check(lines[0].startsWith('id,time,host,queue_id,direction,from,to'), 'header');
  check(!lines.slice(1).some((l) => /,(blocked|quarantined),/.test(l)), 'only cleared rows');
});

test('readable on a phone: no sideways scrolling, rows as cards', async ({ page, small, shots }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await openSearch(page, small);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `page wider than the screen by ${overflow}px`);
  eq(await page.locator('#rows thead').isVisible(), false, 'table head hidden');
  await shots('search-phone', page);
  const id = await visibleRows(page).first().getAttribute('data-id');
  await page.goto(`${small}/m/${id}`);
  await page.locator('#message').waitFor({ state: 'visible' });
  const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow2 <= 0, `message page wider than the screen by ${overflow2}px`);
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

  const context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
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
  const shots = async (name, page, fullPage) => {
    const file = `web-${name}.png`;
    await page.screenshot({ path: path.join(OUT, file), fullPage: !!fullPage });
    if (process.env.UPDATE_SCREENSHOTS) fs.copyFileSync(path.join(OUT, file), path.join(ROOT, 'docs', file));
  };

  let passed = 0;
  let failed = 0;
  for (const t of tests) {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.setDefaultTimeout(15000);
    const t0 = Date.now();
    try {
      await t.fn({ page, small, big, hurried, users, shots });
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
