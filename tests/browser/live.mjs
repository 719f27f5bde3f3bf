// Browser test of live updates, in headless Chromium driven by playwright-core, against a
// panel running on the simulated cluster.
// Usage: node live.mjs <base url> <output dir> <kubeconfig of the simulated cluster>
// Proves: with the overview open, `kubectl scale` shows on screen without a reload, and
// measures change-to-screen latency (from kubectl's write returning to the DOM change,
// and from kubectl's start); an API outage shows the stale banner (time measured) and
// recovery clears it; the environment and workload pages render, hydrate and update (a
// page loaded whole keeps its buttons when the stream replaces its content).
// Prints one JSON line starting with "LIVE " with the measurements.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { argumentsOf, launch } from './harness.mjs';
import { signInAsDemo } from './signin.mjs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const [base, outDir, kubeconfig] = argumentsOf('live.mjs', ['base url', 'output dir', 'kubeconfig']);
const kubectlBin = process.env.GANTRY_KUBECTL;
if (!kubectlBin) {
  console.error('GANTRY_KUBECTL is not set (scripts/bootstrap.sh installs kubectl)');
  process.exit(2);
}
const kubectl = (...args) => run(kubectlBin, ['--kubeconfig', kubeconfig, ...args]);
const simulator = readFileSync(kubeconfig, 'utf8').match(/server:\s*(\S+)/)[1];
const fault = async (body) => {
  const r = await fetch(`${simulator}/simulator/faults`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`simulator fault ${JSON.stringify(body)}: HTTP ${r.status}`);
};

const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const browser = await launch(outDir);

function watch(page) {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
}

// Resolves with the page's clock (ms since the epoch) when `selector` first matches.
async function armSeen(page, selector) {
  await page.evaluate((sel) => {
    window.__seenAt = null;
    const test = () => { if (!window.__seenAt && document.querySelector(sel)) window.__seenAt = Date.now(); };
    window.__observer?.disconnect();
    window.__observer = new MutationObserver(test);
    window.__observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    test();
  }, selector);
}
const seenAt = (page, timeout) =>
  page.waitForFunction(() => window.__seenAt, null, { timeout }).then((h) => h.jsonValue());

const result = { samples: [], fromStart: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  watch(page);
  await signInAsDemo(page, base, 'stakeholder');
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.waitForSelector('#live[data-state="live"]', { timeout: 10000 });
  // Lost on a reload: proves the updates arrive in place.
  await page.evaluate(() => { window.__noReload = true; });

  const { stdout } = await kubectl('get', 'deployment', 'frontend', '-n', 'co2-calculator-dev', '-o', 'jsonpath={.spec.replicas}');
  const start = Number(stdout);
  const total = Number(await page.getAttribute('[data-env="dev"]', 'data-desired'));
  for (let i = 1; i <= 6; i++) {
    const replicas = start + (i % 2);
    const expected = total + (i % 2);
    await armSeen(page, `[data-env="dev"][data-desired="${expected}"]`);
    const t0 = Date.now();
    await kubectl('scale', 'deployment', 'frontend', '-n', 'co2-calculator-dev', `--replicas=${replicas}`);
    const t1 = Date.now();
    const shown = await seenAt(page, 5000).catch(() => null);
    if (!shown) { problems.push(`scale to ${replicas} did not show within 5 s`); continue; }
    result.samples.push(Math.max(0, shown - t1));
    result.fromStart.push(shown - t0);
  }
  check(await page.evaluate(() => window.__noReload === true), 'the page reloaded');
  await page.screenshot({ path: join(outDir, 'overview-live.png'), fullPage: true });

  // An outage of the Kubernetes API: the stale banner, then recovery.
  await armSeen(page, '[data-env="dev"][data-stale="true"] .stale');
  const outage = Date.now();
  await fault({ fault: 'unavailable', on: true });
  const staleAt = await seenAt(page, 5000).catch(() => null);
  check(staleAt, 'no stale banner within 5 s of the API becoming unavailable');
  result.staleMs = staleAt ? staleAt - outage : null;
  check(await page.locator('[data-env="dev"] .version').count() === 1, 'the last known state is not shown while stale');
  await page.screenshot({ path: join(outDir, 'overview-stale.png'), fullPage: true });
  await armSeen(page, '[data-env="dev"][data-stale="false"]');
  const back = Date.now();
  await fault({ fault: 'unavailable', on: false });
  const clearedAt = await seenAt(page, 15000).catch(() => null);
  check(clearedAt, 'the stale banner did not clear within 15 s of recovery');
  result.recoveryMs = clearedAt ? clearedAt - back : null;

  // The environment page: workloads problems first, pods, Argo CD; updates in place.
  await page.click('[data-env="dev"] h2 a');
  await page.waitForURL('**/environments/dev');
  await page.waitForSelector('#live[data-state="live"]', { timeout: 10000 });
  check(await page.locator('[data-table="workloads"] tr[data-key="frontend"]').count() === 1, 'environment page: no frontend row');
  check(await page.locator('[data-table="pods"] tbody tr').count() > 0, 'environment page: no pods');
  check(await page.locator('#argo').count() === 1, 'environment page: no Argo CD panel');
  check(await page.locator('nav a[aria-current="page"]').textContent() === 'Environments',
    'environment page: Environments not marked as the current section');
  await fault({ fault: 'crash-loop', namespace: 'co2-calculator-dev', workload: 'backend', on: true });
  // Every backend pod crash-loops: none is available, so dev is down (a "degraded" between
  // the pods' crash and the Deployment's count is only there when they land apart).
  await page.waitForSelector('#env-health[data-health="down"]', { timeout: 15000 })
    .catch(() => problems.push('environment page: a crash loop of every backend pod did not make dev down'));
  check(await page.locator('[data-table="workloads"] tbody tr').first().getAttribute('data-key') === 'backend',
    'environment page: the crash-looping workload is not listed first');
  await page.screenshot({ path: join(outDir, 'environment.png'), fullPage: true });
  await fault({ fault: 'crash-loop', namespace: 'co2-calculator-dev', workload: 'backend', on: false });

  // The workload page: its pods and its revisions.
  await page.click('[data-table="workloads"] tr[data-key="frontend"] a');
  await page.waitForURL('**/environments/dev/workloads/frontend');
  await page.waitForSelector('[data-table="revisions"] tr[data-key]', { timeout: 5000 })
    .catch(() => problems.push('workload page: no revisions'));
  check(await page.locator('[data-table="pods"] tbody tr').count() >= 1, 'workload page: no pods');
  await page.screenshot({ path: join(outDir, 'workload.png'), fullPage: true });

  // A workload page loaded whole (hydrated, not reached by a link), by someone with
  // buttons: the stream's next version replaces the page, the buttons stay.
  const opContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const op = await opContext.newPage();
  watch(op);
  await signInAsDemo(op, base, 'operator');
  await op.goto(base + '/environments/dev/workloads/frontend', { waitUntil: 'load' });
  await op.waitForSelector('#live[data-state="live"]', { timeout: 10000 });
  await op.evaluate(() => { window.__noReload = true; });
  const buttons = await op.locator('#actions a.action').count();
  check(buttons > 0, 'workload page: the operator is offered no action');
  const pods = await op.locator('[data-table="pods"] tbody tr').count();
  const now = Number((await kubectl('get', 'deployment', 'frontend', '-n', 'co2-calculator-dev', '-o', 'jsonpath={.spec.replicas}')).stdout);
  await kubectl('scale', 'deployment', 'frontend', '-n', 'co2-calculator-dev', `--replicas=${now + 1}`);
  await op.waitForFunction((n) => document.querySelectorAll('[data-table="pods"] tbody tr').length === n, pods + 1, { timeout: 10000 })
    .catch(() => problems.push(`hydrated workload page: the pods did not go from ${pods} to ${pods + 1}`));
  check(await op.locator('#actions a.action').count() === buttons, 'hydrated workload page: the buttons went with the update');
  check(await op.evaluate(() => window.__noReload === true), 'hydrated workload page: the page reloaded');
  await kubectl('scale', 'deployment', 'frontend', '-n', 'co2-calculator-dev', `--replicas=${now}`);
} catch (e) {
  problems.push(`test error: ${e.stack || e}`);
} finally {
  await browser.close();
}
if (result.samples.length) {
  result.medianMs = median(result.samples);
  result.maxMs = Math.max(...result.samples);
  result.medianFromStartMs = median(result.fromStart);
}
console.log('LIVE ' + JSON.stringify(result));
if (problems.length) {
  console.error('LIVE BROWSER TEST FAILED:\n- ' + problems.join('\n- '));
  process.exit(1);
}
console.log('live browser test passed');
