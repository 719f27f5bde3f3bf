// Browser test of the Metrics pages, in headless Chromium, against a panel on the
// simulated cluster whose exporters a real Prometheus scrapes (rules evaluated every
// second) beside a real Alertmanager.
// Usage: node metrics.mjs <base url> <output dir> <simulator url>
// Proves: prod's charts are drawn and switching the range redraws them for that range;
// with the overview open, a crash loop switched on in prod's backend makes the error-rate
// alert fire and its badge appear on prod's card without a reload; an operator silences
// it from the Metrics page, an approver approves (prod's policy), and the badge goes from
// the open overview (still without a reload); the Metrics page says who silenced it.
import { join } from 'node:path';
import { argumentsOf, launch, report } from './harness.mjs';
import { signInAsDemo } from './signin.mjs';

const [base, outDir, simulator] =
  argumentsOf('metrics.mjs', ['base url', 'output dir', 'simulator url']);
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };
const prodCard = 'article[data-env="prod"]';
const browser = await launch(outDir);

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console.error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await signInAsDemo(page, base, 'stakeholder');

  // Charts, and a range switch. (The history has a sample every 30 s and the scrape
  // interval here is 1 s: ranges from 6h have rate windows that hold several samples.)
  await page.goto(base + '/monitoring?env=prod&range=6h', { waitUntil: 'load' });
  await page.waitForSelector('svg.chart');
  const charts = await page.locator('svg.chart').count();
  check(charts >= 4, `prod's charts drawn: ${charts}`);
  check(await page.locator('#prometheus-failed').count() === 0, 'Prometheus reported as failed');
  const before = await page.locator('#window').textContent();
  // The router moves to the new address at once and the page's content follows when the
  // server has answered: wait for the window line to change.
  await Promise.all([page.waitForURL(/range=24h/), page.click('a[href*="range=24h"]')]);
  await page.waitForFunction((was) => document.querySelector('#window')?.textContent !== was, before);
  await page.waitForSelector('svg.chart');
  const after = await page.locator('#window').textContent();
  check(after !== before && after.includes('a point every 6m,'), `the 24h window: ${after} (was ${before})`);
  await page.screenshot({ path: join(outDir, 'metrics.png'), fullPage: true });

  // The overview, open, while prod's backend starts crash-looping.
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.waitForSelector('#live[data-state="live"]', { timeout: 10000 });
  await page.evaluate(() => { window.__noReload = true; });
  check(await page.locator(`${prodCard} .alerts-firing`).count() === 0, 'prod fires an alert before the crash loop');
  const fault = await fetch(`${simulator}/simulator/faults`, {
    method: 'PUT', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fault: 'crash-loop', namespace: 'co2-calculator-prod', workload: 'backend' }),
  });
  check(fault.ok, `the crash loop switched on: HTTP ${fault.status}`);
  await page.waitForSelector(`${prodCard} .alerts-firing`, { timeout: 90000 });
  const badge = await page.locator(`${prodCard} .alerts-firing`).textContent();
  check(badge === '1 alert firing', `prod's badge: ${badge}`);
  check(await page.evaluate(() => window.__noReload === true), 'the overview reloaded to show the alert');

  // Silenced through the panel, four eyes on prod: the operator asks from the alert, the
  // approver approves; the badge goes from the open overview, still without a reload.
  const as = async (person) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const other = await context.newPage();
    other.on('pageerror', (e) => problems.push(`${person}: page error: ${e.message}`));
    await signInAsDemo(other, base, person);
    return { context, page: other };
  };
  const operator = await as('operator');
  const op = operator.page;
  await op.goto(base + '/monitoring?env=prod', { waitUntil: 'load' });
  await op.click('li[data-alert="HighErrorRate"] a[data-action="silence"]');
  await op.waitForSelector('#parameters select[name="duration"]');
  await op.selectOption('#parameters select[name="duration"]', '1h');
  await op.click('#parameters button[type="submit"]');
  await op.waitForSelector('#request');
  const preview = await op.locator('#preview').textContent();
  check(preview.includes('HighErrorRate') && preview.includes('silenced for 1 hour'), `the silence's preview: ${preview}`);
  check(await op.locator('#request').getAttribute('data-decision') === 'approval', 'a prod silence is not marked as needing approval');
  await op.fill('#reason', 'the crash loop is being looked at');
  await Promise.all([op.waitForURL(/\/requests\/\d+$/), op.click('#submit-request')]);
  await op.waitForSelector('[data-state="pending"]');
  const requestUrl = op.url();
  check(await page.locator(`${prodCard} .alerts-firing`).count() === 1, 'the alert went quiet before approval');
  const approver = await as('approver');
  const ap = approver.page;
  await ap.goto(requestUrl, { waitUntil: 'load' });
  await Promise.all([ap.waitForURL(requestUrl), ap.click('#approve')]);
  await ap.waitForSelector('[data-state="succeeded"]', { timeout: 15000 });
  const result = await ap.locator('#result').textContent();
  check(/^silence [0-9a-f-]+ made, until /.test(result), `the request's result: ${result}`);
  for (const c of [operator, approver]) await c.context.close();
  await page.waitForSelector(`${prodCard} .alerts-firing`, { state: 'detached', timeout: 30000 });
  check(await page.evaluate(() => window.__noReload === true), 'the overview reloaded to drop the alert');
  await page.screenshot({ path: join(outDir, 'metrics-overview.png'), fullPage: true });

  await page.goto(base + '/monitoring?env=prod', { waitUntil: 'load' });
  const state = await page.locator('li[data-alert="HighErrorRate"]').getAttribute('data-state');
  check(state === 'silenced', `HighErrorRate on the Metrics page: ${state}`);
  const silences = await page.locator('#silences').textContent();
  check(silences.includes('by Oscar Operator (operator) via Gantry'), `the silences listed: ${silences}`);
  await context.close();
} catch (error) {
  problems.push(`test aborted: ${error.stack || error}`);
} finally {
  await browser.close();
}

report('metrics', problems, 'charts and a range switch; a crash loop fires the alert on the open overview, a silence asked and approved takes it away');
