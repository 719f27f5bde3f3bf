// Browser test of a production restore over the live database, in headless Chromium.
// Usage: node restore.mjs <base url> <output dir>
// Proves: an operator chooses a kept backup on prod's restore page, sees what is lost and
// each step, and must type "prod" to ask; two approvers, each signed in separately, must
// type "prod" too (the first approval leaves it waiting for the second); once approved it
// runs step by step and the request page ends "succeeded" with the restore, the safety
// backup and the writers running again; the Backups page lists the restore.
import { join } from 'node:path';
import { argumentsOf, launch, report } from './harness.mjs';
import { personContext } from './signin.mjs';

const [base, outDir] = argumentsOf('restore.mjs', ['base url', 'output dir']);
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };
const browser = await launch(outDir);
const REASON = 'a migration emptied the footprint table';

const as = (person) => personContext(browser, base, person, problems);

const text = async (page, selector) => (await page.locator(selector).textContent()) ?? '';

// The decide form's approval, typing the environment's name; without it the browser
// refuses to send the form.
async function approve(page, requestUrl) {
  await page.goto(requestUrl, { waitUntil: 'load' });
  await page.waitForSelector('#decide #confirm');
  const before = page.url();
  await page.click('#approve');
  check(page.url() === before && (await page.locator('#confirm:invalid').count()) === 1,
    'an approval without the typed name was sent');
  await page.fill('#confirm', 'prod');
  // The page is already at the request's address: wait for the approval's answer, then for
  // the page it leads back to.
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/approve') && r.request().method() === 'POST'),
    page.click('#approve'),
  ]);
  check(answer.status() < 400, `the approval answered HTTP ${answer.status()}`);
  await page.waitForLoadState('load');
  await page.waitForSelector('#approvals');
}

try {
  // --- the operator asks -----------------------------------------------------------------
  const operator = await as('operator');
  const op = operator.page;
  await op.goto(base + '/backups?env=prod', { waitUntil: 'load' });
  await op.click('#backup-restores a.action[data-action="restore"]');
  await op.waitForSelector('#parameters select#file');
  const options = await op.locator('#file option').count();
  check(options >= 1, `kept backups offered: ${options}`);
  await op.fill('#copy', ''); // over the live database
  await Promise.all([op.waitForURL(/file=/), op.click('#parameters button[type="submit"]')]);
  await op.waitForSelector('#preview');
  const preview = await text(op, '#preview');
  check(preview.includes('are lost') && preview.includes('writers stopped') && preview.includes('safety backup'),
    `the preview says what is lost and each step: ${preview}`);
  await op.fill('#reason', REASON);
  await op.click('#submit-request');
  check((await op.locator('#confirm:invalid').count()) === 1, 'the request was sent without the typed name');
  await op.fill('#confirm', 'prod');
  await op.screenshot({ path: join(outDir, 'restore-request.png'), fullPage: true });
  await Promise.all([op.waitForURL(/\/requests\/\d+$/), op.click('#submit-request')]);
  await op.waitForSelector('[data-state="pending"]');
  const requestUrl = op.url();

  // --- two approvers ----------------------------------------------------------------------
  const approver = await as('approver');
  await approve(approver.page, requestUrl);
  await approver.page.waitForSelector('[data-state="pending"]');
  check((await text(approver.page, '#approvals')) === '1 of 2', `after the first approval: ${await text(approver.page, '#approvals')}`);
  const admin = await as('admin');
  await approve(admin.page, requestUrl);

  // --- it runs, step by step --------------------------------------------------------------
  const ad = admin.page;
  // The request's API says when it has ended; the page is then read once more.
  const id = requestUrl.split('/').pop();
  let request = null;
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline) {
    const body = await (await ad.request.get(`${base}/api/requests/${id}`)).json();
    if (['succeeded', 'failed', 'superseded'].includes(body.request.state)) { request = body.request; break; }
    await new Promise((resolve) => setTimeout(resolve, 250)); // between two polls of the API
  }
  check(request?.state === 'succeeded', `the restore ended ${request?.state ?? 'not within 2 minutes'}: ${request?.result}`);
  await ad.reload({ waitUntil: 'load' });
  await ad.waitForSelector('#result');
  const result = await text(ad, '#result');
  check(result.includes('restored into co2') && result.includes('safety backup') && result.includes('the writers run again'),
    `result: ${result}`);
  await ad.screenshot({ path: join(outDir, 'restore-done.png'), fullPage: true });
  await ad.goto(base + '/backups?env=prod', { waitUntil: 'load' });
  check((await text(ad, '#backup-restores')).includes('into the database co2'), 'the Backups page lists the restore');
} catch (error) {
  problems.push(`test error: ${error.stack ?? error}`);
} finally {
  await browser.close();
}
report('restore', problems, 'restore over the live database on prod: typed name by the requester and two approvers, run step by step');
