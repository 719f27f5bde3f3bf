// Signing in from a browser test: demo people (demo mode) or the test OpenID provider.

// Signs this browser context in as a demo person without leaving the current page (the
// demo sign-in form's request, sent from the context so its cookie lands in the browser).
export async function signInAsDemo(page, base, person) {
  const response = await page.request.post(`${base}/auth/demo`, { form: { person, next: '/' }, maxRedirects: 0 });
  if (response.status() !== 303) throw new Error(`demo sign-in as ${person}: HTTP ${response.status()}`);
}

// Signs in through the OpenID provider at `issuer` as `person`: chooses the person at the
// provider (a cookie in this browser), then opens `next`, which goes to the provider and
// comes back signed in.
export async function signInThroughProvider(page, base, issuer, person, next = '/') {
  await page.goto(`${issuer}/__test/login-as/${person}`);
  await page.goto(`${base}${next}`, { waitUntil: 'load' });
  await page.waitForURL((url) => url.origin === base && url.pathname === new URL(next, base).pathname);
}

// A browser context of its own signed in as demo `person`, whose page errors and HTTP
// errors are noted in `problems` (several people, each in their own browser).
export async function personContext(browser, base, person, problems) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`${person}: page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`${person}: HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(base + '/auth/signed-out');
  await signInAsDemo(page, base, person);
  return { context, page };
}
