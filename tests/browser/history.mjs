// Browser test of the History page, in headless Chromium.
// Usage: node history.mjs <base url> <output dir>
// Proves: a stakeholder opens the history, sees what runs where, filters the timeline to
// prod (the release says it completed and in how long), opens the diff of backend's latest
// revision, which names the changed image, and compares staging with prod.
import { join } from 'node:path';
import { argumentsOf, launch, report } from './harness.mjs';
import { signInAsDemo } from './signin.mjs';

const [base, outDir] = argumentsOf('history.mjs', ['base url', 'output dir']);
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };
const browser = await launch(outDir);

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(base + '/auth/signed-out');
  await signInAsDemo(page, base, 'stakeholder');
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.click('nav >> text=History');
  await page.waitForSelector('#current-versions');
  const prodBackend = await page.locator('#current-versions tr[data-workload="backend"]').textContent();
  check(prodBackend.includes('1.8.3'), `what runs where, backend: ${prodBackend}`);
  check(await page.locator('#current-versions tr.differs').count() > 0, 'no difference between environments is marked');

  await page.selectOption('#history-filters select[name="env"]', 'prod');
  await Promise.all([page.waitForURL(/env=prod/), page.click('#history-filters button')]);
  await page.waitForSelector('#timeline');
  const envs = await page.locator('#timeline tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.environment));
  check(envs.length > 0 && envs.every((e) => e === 'prod'), `timeline filtered to prod: ${envs}`);
  const outcome = await page.locator('#rev-prod-backend-2 .outcome').textContent();
  check(/^completed in \d/.test(outcome), `the release's outcome: ${outcome}`);
  await page.screenshot({ path: join(outDir, 'history.png'), fullPage: true });

  await Promise.all([page.waitForURL(/\/history\/diff/), page.click('#rev-prod-backend-2 a.diff-link')]);
  await page.waitForSelector('#diff');
  const diff = await page.locator('#diff').textContent();
  check(diff.includes('backend: image') && diff.includes('backend:1.8.2') && diff.includes('backend:1.8.3'), `diff: ${diff}`);
  await page.screenshot({ path: join(outDir, 'history-diff.png'), fullPage: true });

  await page.goto(base + '/history', { waitUntil: 'load' });
  await Promise.all([page.waitForURL(/\/history\/compare/), page.click('#compare-link')]);
  await page.waitForSelector('#comparison');
  const summary = await page.locator('#promotion-summary').textContent();
  // backend was just released to prod at staging's version; the rest still differ.
  check(summary.startsWith('Promoting staging to prod would change:') && summary.includes('frontend 1.8.2 → 1.8.3') && !summary.includes('backend '), `promotion preview: ${summary}`);
  await page.screenshot({ path: join(outDir, 'history-compare.png'), fullPage: true });
  await context.close();
} catch (error) {
  problems.push(`test aborted: ${error.stack || error}`);
} finally {
  await browser.close();
}

report('history', problems, 'what runs where, timeline filtered to prod with outcomes, a diff, staging compared with prod');
