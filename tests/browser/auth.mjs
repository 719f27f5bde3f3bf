// Browser test of signing in through the real OpenID provider, in headless Chromium.
// Usage: node auth.mjs <base url> <output dir> <provider issuer>
// Proves: a stakeholder signs in through the provider, sees the overview and the
// environment pages and no action button; signing out goes through the provider and
// ends on the signed-out page; an operator signs in and sees the actions, each with its
// policy (approval on prod, direct on dev), and the action page states the decision.
import { join } from 'node:path';
import { argumentsOf, launch, report } from './harness.mjs';
import { signInThroughProvider } from './signin.mjs';

const [base, outDir, issuer] = argumentsOf('auth.mjs', ['base url', 'output dir', 'provider issuer']);
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };
const browser = await launch(outDir);

function watch(page) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('404')) problems.push(`console.error: ${m.text()}`);
  });
  page.on('response', (r) => {
    // The provider has no icon; browsers ask anyway.
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
}

const live = (page) => page.waitForSelector('#live[data-state="live"]', { timeout: 10000 });
const count = (page, selector) => page.locator(selector).count();

try {
  // --- the stakeholder: sees everything, is offered nothing ---------------------------
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  watch(page);
  await signInThroughProvider(page, base, issuer, 'stakeholder', '/');
  await live(page);
  const account = await page.locator('#account').textContent();
  check(account.includes('Carol Viewer'), `account box: ${account}`);
  check(account.includes('viewer on dev, staging, prod'), `roles in the account box: ${account}`);
  check(await count(page, '.env-card') === 3, 'the stakeholder does not see three environments');
  await page.screenshot({ path: join(outDir, 'stakeholder-overview.png'), fullPage: true });
  for (const path of ['/environments/prod', '/environments/dev', '/environments/prod/workloads/backend']) {
    await page.goto(base + path, { waitUntil: 'load' });
    await page.waitForSelector('.detail .page-header');
    check(await count(page, 'a.action') === 0, `${path}: the stakeholder is offered actions`);
    check(await count(page, '#actions') === 0, `${path}: an action bar for the stakeholder`);
  }
  await page.screenshot({ path: join(outDir, 'stakeholder-workload.png'), fullPage: true });

  // Signing out: through the provider, back to the signed-out page.
  await page.click('#sign-out');
  await page.waitForSelector('#signed-out', { timeout: 10000 });
  check(new URL(page.url()).pathname === '/auth/signed-out', `after sign-out: ${page.url()}`);
  const me = await page.request.get(base + '/api/me');
  check(me.status() === 401, `after signing out /api/me answers ${me.status()}`);

  // --- the operator: offered the actions, each with its policy ------------------------
  await signInThroughProvider(page, base, issuer, 'operator', '/environments/prod');
  await page.waitForSelector('#actions a.action');
  const account2 = await page.locator('#account').textContent();
  check(account2.includes('Oscar Operator'), `account box after switching person: ${account2}`);
  const sync = page.locator('#actions a.action[data-action="sync"]');
  check(await sync.count() === 1, 'no Sync button for the operator on prod');
  check(await sync.getAttribute('data-decision') === 'approval', 'Sync on prod is not marked as needing approval');
  await page.screenshot({ path: join(outDir, 'operator-environment.png'), fullPage: true });
  await page.goto(base + '/environments/prod/workloads/backend', { waitUntil: 'load' });
  await page.waitForSelector('#actions a.action');
  const actions = await page.locator('#actions a.action').evaluateAll((as) => as.map((a) => a.dataset.action));
  check(JSON.stringify(actions) === JSON.stringify(['scale', 'restart', 'rollback']), `workload actions: ${actions}`);
  await page.goto(base + '/environments/dev', { waitUntil: 'load' });
  await page.waitForSelector('#actions a.action');
  check(await page.locator('#actions a.action[data-action="sync"]').getAttribute('data-decision') === 'direct',
    'Sync on dev is not direct for the operator');
  await page.click('#actions a.action[data-action="sync"]');
  await page.waitForSelector('#action-decision');
  const decision = await page.locator('#action-decision').textContent();
  check(decision.includes('you may do this directly'), `action page on dev: ${decision}`);
  await page.screenshot({ path: join(outDir, 'operator-action.png'), fullPage: true });
  await context.close();
} catch (error) {
  problems.push(`test aborted: ${error.stack || error}`);
} finally {
  await browser.close();
}

report('auth', problems, 'stakeholder sees no actions, operator sees them with their policy; sign-out through the provider');
