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
