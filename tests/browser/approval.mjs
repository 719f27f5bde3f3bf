// Browser test of the whole production flow, in headless Chromium.
// Usage: node approval.mjs <base url> <output dir>
// Proves: an operator asks to roll back backend on prod with a reason (the preview shows
// revision and image from → to); the approver, signed in separately, finds it on the
// Approvals page, sees the preview, the requester and the reason, and approves; the
// rollout appears on the open overview without a reload; the audit page shows every step.
import { join } from 'node:path';
import { argumentsOf, launch, report } from './harness.mjs';
import { personContext } from './signin.mjs';

const [base, outDir] = argumentsOf('approval.mjs', ['base url', 'output dir']);
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };
const browser = await launch(outDir);
const REASON = 'backend 1.8.3 fails the CO2 report export';

const as = (person) => personContext(browser, base, person, problems);

const text = async (page, selector) => (await page.locator(selector).textContent()) ?? '';

try {
  // Someone keeps the overview open all along.
  const watcher = await as('stakeholder');
  await watcher.page.goto(base + '/', { waitUntil: 'load' });
  await watcher.page.waitForSelector('#live[data-state="live"]', { timeout: 10000 });

  // --- the operator asks -----------------------------------------------------------------
  const operator = await as('operator');
  const op = operator.page;
  await op.goto(base + '/environments/prod/workloads/backend', { waitUntil: 'load' });
  await op.click('#actions a.action[data-action="rollback"]');
  await op.waitForSelector('#preview');
  const preview = await text(op, '#preview');
  check(preview.includes('revision') && preview.includes('2') && preview.includes('1'), `preview: ${preview}`);
  check(preview.includes('backend:1.8.3') && preview.includes('backend:1.8.2'), `preview images: ${preview}`);
  check(await op.locator('#request').getAttribute('data-decision') === 'approval', 'the prod rollback is not marked as needing approval');
  await op.fill('#reason', REASON);
  await op.screenshot({ path: join(outDir, 'approval-request.png'), fullPage: true });
  await Promise.all([op.waitForURL(/\/requests\/\d+$/), op.click('#submit-request')]);
  await op.waitForSelector('[data-state="pending"]');
  const requestUrl = op.url();
  check(await op.locator('#approve').count() === 0, 'the operator is offered to approve their own request');

  // The overview flags the pending approval.
  await watcher.page.waitForSelector('.env-card[data-env="prod"] .pending-approvals', { timeout: 10000 });

  // --- the approver decides --------------------------------------------------------------
  const approver = await as('approver');
  const ap = approver.page;
  await ap.goto(base + '/approvals', { waitUntil: 'load' });
  const row = ap.locator('#to-decide tr[data-request]');
  check(await row.count() === 1, `requests waiting for the approver: ${await row.count()}`);
  await Promise.all([ap.waitForURL(requestUrl), row.locator('a').first().click()]);
  await ap.waitForSelector('#preview');
  check((await text(ap, '#preview')) === preview, 'the approver sees another preview than the operator');
  check((await text(ap, '#requester')).includes('Oscar Operator'), 'the requester is not named');
  check((await text(ap, '#reason')) === REASON, `the reason: ${await text(ap, '#reason')}`);
  check(await ap.locator('#still-holds').count() === 1, 'the current state is not compared with the request');
  await ap.screenshot({ path: join(outDir, 'approval-decide.png'), fullPage: true });
  await Promise.all([ap.waitForURL(requestUrl), ap.click('#approve')]);
  await ap.waitForSelector('[data-state="succeeded"]', { timeout: 15000 });
  check((await text(ap, '#result')).includes('rolling back to revision 1'), `result: ${await text(ap, '#result')}`);

  // --- the rollout shows live on the overview -------------------------------------------
  // Backend's: on a slow machine the seeded workloads may still be rolling out too.
  const backend = '.env-card[data-env="prod"] .rollout:has-text("backend")';
  await watcher.page.waitForSelector(backend, { timeout: 10000 });
  const rollout = await text(watcher.page, backend);
  check(rollout.includes('Rolling out backend'), `rollout on the overview: ${rollout}`);
  await watcher.page.screenshot({ path: join(outDir, 'approval-rollout.png'), fullPage: true });
  await watcher.page.waitForSelector('.env-card[data-env="prod"] .pending-approvals', { state: 'detached', timeout: 10000 });

  // --- the audit page shows every step ---------------------------------------------------
  await ap.goto(base + '/audit?env=prod', { waitUntil: 'load' });
  await ap.waitForSelector('#audit-filters');
  const kinds = await ap.locator('tr[data-kind]').evaluateAll((rows) => rows.map((r) => r.dataset.kind));
  for (const kind of ['action_requested', 'action_approved', 'action_started', 'action_succeeded']) {
    check(kinds.includes(kind), `audit page without ${kind}: ${kinds}`);
  }
  await ap.screenshot({ path: join(outDir, 'approval-audit.png'), fullPage: true });
  for (const c of [watcher, operator, approver]) await c.context.close();
} catch (error) {
  problems.push(`test aborted: ${error.stack || error}`);
} finally {
  await browser.close();
}

report('approval', problems, 'operator asked, approver approved, rollout live on the overview, every step audited');
