// Browser test of pods and logs, in headless Chromium.
// Usage: node logs.mjs <base url> <output dir> <simulator url> <crash-looping pod>
// Proves: an operator opens a crash-looping pod on dev and reads why in words and its
// previous run's last lines; follows the backend's logs live while a request is made to
// the application, sees its lines arrive without a reload, and filters everything to that
// request's trace id with one click; scrolling up pauses the view and counts what waits;
// a stakeholder is refused the logs with the reason.
import { join } from 'node:path';
import { argumentsOf, launch, report } from './harness.mjs';
import { personContext } from './signin.mjs';

const [base, outDir, simulator, crashing] = argumentsOf('logs.mjs', ['base url', 'output dir', 'simulator url', 'crash-looping pod']);
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };
const browser = await launch(outDir);
const text = async (page, selector) => (await page.locator(selector).first().textContent()) ?? '';

// One request through the application: its frontend, backend and worker log it.
async function request(path) {
  const answer = await fetch(`${simulator}/simulator/request`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ namespace: 'co2-calculator-dev', path }),
  });
  if (!answer.ok) throw new Error(`the simulated application answered ${answer.status}`);
  return (await answer.json()).trace_id;
}

try {
  const { page } = await personContext(browser, base, 'operator', problems);
  // --- a crash-looping pod: why, in words, and the last lines before the crash ------------
  await page.goto(`${base}/environments/dev/pods/${crashing}`, { waitUntil: 'load' });
  await page.waitForSelector('#diagnosis.problem');
  const why = await text(page, '#diagnosis');
  check(why.includes('keeps crashing') && why.includes('Next step'), `the pod page says why: ${why}`);
  await page.waitForSelector('#log-lines[data-state="ended"]');
  const previous = await text(page, '#log-lines');
  check(previous.includes('Showing the run before the last restart'), `the previous run is shown by default: ${previous.slice(0, 300)}`);
  check(previous.includes('Unrecoverable error'), `its last lines before the crash: ${previous.slice(-300)}`);
  await page.screenshot({ path: join(outDir, 'logs-crash.png'), fullPage: true });

  // --- the backend, live, while a request is made ----------------------------------------
  await page.goto(`${base}/environments/dev/workloads/backend/logs`, { waitUntil: 'load' });
  await page.waitForSelector('#log-lines[data-state="live"]');
  const trace = await request('/api/v1/footprint/compute');
  const row = page.locator('#log-lines .log-row', { hasText: 'queued a footprint computation' })
    .filter({ has: page.locator(`a.log-trace[title*="${trace}"]`) });
  await row.first().waitFor();
  check((await row.first().locator('.log-pod').textContent())?.startsWith('backend-'), 'each line names its pod');
  const other = await request('/api/v1/units');
  await page.locator('#log-lines .log-row', { has: page.locator(`a.log-trace[title*="${other}"]`) }).first().waitFor();

  // Scrolled up, the view pauses and counts what waits below.
  const scrollable = await page.$eval('#log-lines', (el) => el.scrollHeight > el.clientHeight + 20);
  if (scrollable) {
    await page.$eval('#log-lines', (el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); });
    await page.waitForSelector('#log-lines[data-paused="true"]');
    await request('/api/v1/me');
    await page.waitForSelector('#log-resume:not([hidden])');
    const paused = await text(page, '#log-resume');
    check(/Paused: \d+ new lines? below/.test(paused), `paused view: ${paused}`);
    await page.click('#log-resume');
    await page.waitForSelector('#log-resume[hidden]', { state: 'attached' });
  } else {
    problems.push('the backend\'s lines do not fill the view: the pause cannot be tried');
  }

  // --- one click on the trace id: only that request's lines ------------------------------
  await Promise.all([page.waitForURL((u) => u.searchParams.get('trace') === trace), row.first().locator('a.log-trace').click()]);
  await page.waitForSelector('#log-trace');
  await page.waitForSelector('#log-lines[data-state="live"]');
  await page.locator('#log-lines .log-row', { hasText: 'queued a footprint computation' }).first().waitFor();
  const rows = await page.$$eval('#log-lines .log-row', (els) => els.map((e) => e.textContent + ' ' + (e.querySelector('a.log-trace')?.title ?? '')));
  check(rows.length >= 2 && rows.every((r) => r.includes(trace) || r.includes(trace.slice(0, 8))), `only the request's lines: ${rows.join(' | ')}`);
  check(!rows.some((r) => r.includes(other.slice(0, 8))), 'another request shows under the trace filter');
  await page.screenshot({ path: join(outDir, 'logs-trace.png'), fullPage: true });

  // --- a stakeholder is refused, with the reason -----------------------------------------
  const viewer = await personContext(browser, base, 'stakeholder', problems);
  await viewer.page.goto(`${base}/environments/dev/pods/${crashing}`, { waitUntil: 'load' });
  await viewer.page.waitForSelector('#logs-refused');
  const refused = await text(viewer.page, '#logs-refused');
  check(refused.includes('logs can hold personal data') && refused.includes('operator'), `the stakeholder's reason: ${refused}`);
  check((await viewer.page.locator('#diagnosis').count()) === 1, 'the stakeholder still sees the pod');
} catch (error) {
  problems.push(`test error: ${error.stack ?? error}`);
} finally {
  await browser.close();
}
report('logs', problems, 'a crash explained with its last lines, the backend followed live, one request by its trace id, the pause, a stakeholder refused');
