// Browser test of the application frame, in headless Chromium driven by playwright-core.
// Usage: node smoke.mjs <base url> <output dir>
// Proves: the server-rendered page loads; hydration (a click handled by the wasm);
// a server-function round trip; theme and phone layout; the 404 page. Fails on any
// console error, page error, failed request or HTTP error status.
import { join } from 'node:path';
import { argumentsOf, launch } from './harness.mjs';
import { signInAsDemo } from './signin.mjs';

const [base, outDir] = argumentsOf('smoke.mjs', ['base url', 'output dir']);
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };
const browser = await launch(outDir);

function watch(page, allowed404 = []) {
  page.on('console', (m) => {
    // Chromium reports the 404 document itself as a console error on that page only.
    const where = m.location().url || page.url();
    const expected = m.text().includes('status of 404') && allowed404.some((p) => new URL(where).pathname === p);
    if ((m.type() === 'error' || m.type() === 'warning') && !expected) problems.push(`console.${m.type()}: ${m.text()} (${where})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // Leaving a page aborts its live stream (and an icon still loading): expected.
    const left = ['/api/live', '/pkg/favicon.svg'].includes(new URL(r.url()).pathname)
      && r.failure()?.errorText === 'net::ERR_ABORTED';
    if (!left) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    if (r.status() >= 400 && !allowed404.includes(path)) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
}

const live = (page) => page.waitForSelector('#live[data-state="live"]', { timeout: 10000 });

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  const page = await context.newPage();
  watch(page);

  // Anyone who is not signed in is sent to sign in first.
  await page.goto(base + '/', { waitUntil: 'load' });
  check(new URL(page.url()).pathname === '/auth/login', `not sent to sign in: ${page.url()}`);
  // The demo sign-in page: pick a person, land where we asked to go, signed in.
  await Promise.all([page.waitForURL(base + '/'), page.click('button[data-person="admin"]')]);
  await live(page);
  check((await page.locator('#account').textContent()).includes('Alice Admin'), 'the account box does not name Alice Admin');

  const started = Date.now();
  await page.goto(base + '/', { waitUntil: 'load' });
  // The live stream opens once the page is hydrated (an open stream means the network
  // never goes idle, so this is what "loaded" means here).
  await live(page);
  const loadMs = Date.now() - started;
  check(await page.locator('nav >> text=Environments').count() === 1, 'navigation not rendered');
  check(await page.locator('.env-card').count() === 3, 'expected three environment cards');
  check((await page.title()).includes('Environments'), `unexpected title: ${await page.title()}`);

  // Hydration: only the wasm can make this button change the theme.
  const toggle = page.locator('#theme-toggle');
  await toggle.click();
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light', null, { timeout: 5000 })
    .catch(() => problems.push('theme toggle did nothing: the page did not hydrate'));
  check((await toggle.textContent()).includes('light'), 'toggle label did not follow');
  await toggle.click();
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark', null, { timeout: 5000 })
    .catch(() => problems.push('second toggle click did not switch to dark'));
  await page.screenshot({ path: join(outDir, 'overview-dark.png'), fullPage: true });

  // The stored choice survives a reload (applied before paint).
  await page.reload({ waitUntil: 'load' });
  await live(page);
  check(await page.evaluate(() => document.documentElement.dataset.theme) === 'dark', 'theme choice not kept across reload');
  await toggle.click(); // back to following the system
  await page.waitForFunction(() => !document.documentElement.dataset.theme, null, { timeout: 5000 })
    .catch(() => problems.push('third toggle click did not return to the system theme'));

  // Server function round trip: Refresh calls /api/overview and the page shows the new answer.
  const before = Number(await page.getAttribute('#as-of', 'data-refresh'));
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/overview'), { timeout: 5000 }),
    page.click('#refresh'),
  ]);
  check(response.status() === 200, `server function answered ${response.status()}`);
  await page.waitForFunction((b) => Number(document.querySelector('#as-of')?.dataset.refresh) > b, before, { timeout: 5000 })
    .catch(() => problems.push('refresh did not update the page from the server function'));
  // The cards are the server's HTML: written again from the answer, side by side in the grid.
  await page.waitForFunction(() => document.querySelectorAll('.env-card').length === 3, null, { timeout: 5000 })
    .catch(() => problems.push('the cards are not all there after a refresh'));
  const tops = await page.locator('.env-card').evaluateAll((cards) => cards.map((c) => Math.round(c.getBoundingClientRect().top)));
  check(new Set(tops).size === 1, `the cards are not side by side: tops ${tops}`);

  // Client-side navigation: no full reload, the section is marked current.
  await page.click('nav >> text=History');
  await page.waitForURL('**/history');
  // The page's content comes from the server function: wait for it before leaving, or
  // leaving cancels its request (a failed request, on a slow machine).
  await page.waitForSelector('#content .detail', { timeout: 20000 })
    .catch(() => problems.push('the History page did not arrive after client-side navigation'));
  check(await page.locator('nav a[aria-current="page"]').textContent() === 'History', 'History not marked current');
  // Back to the overview without a reload: its cards come from the server function.
  await page.click('nav >> text=Environments');
  await page.waitForFunction(() => document.querySelectorAll('.env-card').length === 3, null, { timeout: 20000 })
    .catch(() => problems.push('the overview did not show its cards after client-side navigation'));
  await page.screenshot({ path: join(outDir, 'overview.png'), fullPage: true });
  await page.goto(base + '/', { waitUntil: 'load' });
  await live(page);
  await page.screenshot({ path: join(outDir, 'overview.png'), fullPage: true });

  // A phone: the navigation stays reachable and nothing overflows sideways.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const phonePage = await phone.newPage();
  watch(phonePage);
  await signInAsDemo(phonePage, base, 'stakeholder');
  await phonePage.goto(base + '/', { waitUntil: 'load' });
  await live(phonePage);
  check(await phonePage.locator('nav >> text=Audit').isVisible() || await phonePage.locator('nav ul').evaluate((e) => e.scrollWidth > e.clientWidth),
    'phone: navigation not reachable');
  const overflow = await phonePage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `phone: page is ${overflow}px wider than the screen`);
  await phonePage.screenshot({ path: join(outDir, 'overview-phone.png'), fullPage: true });

  // The 404 page, inside the frame.
  const lost = await context.newPage();
  watch(lost, ['/no/such/page']);
  const notFound = await lost.goto(base + '/no/such/page', { waitUntil: 'networkidle' });
  check(notFound.status() === 404, `404 page answered ${notFound.status()}`);
  check(await lost.locator('h1').textContent() === 'Page not found', '404 heading missing');

  console.log(JSON.stringify({ loadMs, problems }, null, 1));
} catch (e) {
  problems.push(`test error: ${e.stack || e}`);
} finally {
  await browser.close();
}
if (problems.length) {
  console.error('BROWSER TEST FAILED:\n- ' + problems.join('\n- '));
  process.exit(1);
}
console.log('browser test passed');
