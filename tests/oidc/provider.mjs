// Gantry's test OpenID provider: panva's oidc-provider (OpenID Certified) on loopback,
// with test people and the few test-only controls the sign-in tests need. Never for
// production: whoever asks is signed in as the person chosen, without a password.
//
// Started by the test harness (tests/src/oidc.rs):
//   node tests/oidc/provider.mjs      env: GANTRY_NPM (folder with node_modules), OP_USERS
//   (JSON file of people), OP_CLIENT_ID, OP_CLIENT_SECRET
// Prints "READY <port>" once it listens on 127.0.0.1:<port>; exits when its stdin closes
// (the test process ended).
//
// Choosing the person signing in, first match wins: login_hint=<id> on the authorization
// request; the cookie set by GET /__test/login-as/<id> in the same browser; the first person.
// POST /__test/tamper {"nonce": "...", "claims": {...}, "key": "foreign"} changes the ID
// token answered for that nonce: claims replaced, re-signed with the provider's key (or with
// a key it never published), so the relying party's checks can be tested one by one.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = path.join(process.env.GANTRY_NPM || '.', 'node_modules');
const load = (name, file) => import(pathToFileURL(path.join(modules, name, file)).href);
const { default: Provider, interactionPolicy } = await load('oidc-provider', 'lib/index.js');
const jose = await import(pathToFileURL(path.join(modules, 'jose', 'dist/webapi/index.js')).href);

const people = JSON.parse(fs.readFileSync(process.env.OP_USERS, 'utf8'));
const clientId = process.env.OP_CLIENT_ID || 'gantry-test';
const clientSecret = process.env.OP_CLIENT_SECRET || 'gantry-test-secret-long-enough-for-hs256';
const firstPerson = Object.keys(people)[0];

const signing = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(signing.privateKey)), kid: 'gantry-test', alg: 'RS256', use: 'sig' };
// A key the provider never publishes: a token signed with it must be refused.
const foreign = await jose.generateKeyPair('RS256');

const tampering = new Map(); // nonce -> { claims, key }

function cookie(req, name) {
  for (const part of (req.headers.cookie || '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

function chosen(req, hint) {
  if (hint && people[hint]) return hint;
  const asked = cookie(req, 'op_test_person');
  return asked && people[asked] ? asked : undefined;
}

// Sign in again when this browser asks for someone else than its provider session holds.
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'person_changed', 'another test person was asked for',
  (ctx) => {
    const wanted = chosen(ctx.req, ctx.oidc.params.login_hint);
    return Boolean(wanted && ctx.oidc.session.accountId && wanted !== ctx.oidc.session.accountId);
  },
));

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
const issuer = `http://127.0.0.1:${port}`;

// Gantry's test servers listen on whatever port was free: any loopback callback is fine.
const loopback = (uri, pathname) => {
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' && url.hostname === '127.0.0.1' && url.pathname === pathname;
  } catch { return false; }
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: ['http://127.0.0.1/auth/callback'],
    post_logout_redirect_uris: ['http://127.0.0.1/auth/signed-out'],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['gantry-test-provider-cookies'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'groups', 'uniqueid', 'gaspar'],
  },
  // Claims in the ID token itself, as Entra ID sends them.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // Confirms by itself, so a browser test does not have to click through.
      logoutSource: async (ctx, form) => {
        ctx.body = `<!DOCTYPE html><html><body>${form}<script>document.forms[0].submit()</script></body></html>`;
      },
    },
  },
  async findAccount(ctx, id) {
    const person = people[id];
    if (!person) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, email_verified: true, ...person }) };
  },
  async loadExistingGrant(ctx) {
    const accountId = ctx.oidc.session.accountId;
    if (!accountId) return undefined;
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
});
provider.Client.prototype.redirectUriAllowed = function allowed(uri) { return loopback(uri, '/auth/callback'); };
provider.Client.prototype.postLogoutRedirectUriAllowed = function allowed(uri) { return loopback(uri, '/auth/signed-out'); };

// Rewrites the ID token of a token response when a test asked for it.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || !ctx.body || !ctx.body.id_token) return;
  const claims = jose.decodeJwt(ctx.body.id_token);
  const change = tampering.get(claims.nonce);
  if (!change) return;
  tampering.delete(claims.nonce);
  const key = change.key === 'foreign' ? foreign.privateKey : signing.privateKey;
  ctx.body.id_token = await new jose.SignJWT({ ...claims, ...change.claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'gantry-test' })
    .sign(key);
});

const callback = provider.callback();

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    let match;
    if ((match = url.pathname.match(/^\/__test\/login-as\/([^/]+)$/))) {
      const id = decodeURIComponent(match[1]);
      if (!people[id]) return json(res, 404, { error: `no test person ${id}` });
      res.setHeader('set-cookie', `op_test_person=${encodeURIComponent(id)}; Path=/; HttpOnly; SameSite=Lax`);
      return json(res, 200, { next: id });
    }
    if (url.pathname === '/__test/tamper' && req.method === 'POST') {
      const { nonce, claims, key } = await body(req);
      if (!nonce) return json(res, 400, { error: 'nonce is required' });
      tampering.set(nonce, { claims: claims || {}, key });
      return json(res, 200, { tampering: nonce });
    }
    if ((match = url.pathname.match(/^\/interaction\/([^/]+)$/))) {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name !== 'login') {
        return json(res, 400, { error: `unexpected prompt ${details.prompt.name}` });
      }
      const hint = details.params.login_hint;
      const accountId = chosen(req, hint) || firstPerson;
      if (hint && !people[hint]) {
        return provider.interactionFinished(req, res, { error: 'access_denied', error_description: `no test person ${hint}` });
      }
      // Another person in the same browser: end the old provider session first.
      if (details.session?.accountId && details.session.accountId !== accountId) {
        const old = details.session.cookie && await provider.Session.find(details.session.cookie);
        if (old) await old.destroy();
        details.session = undefined;
        await details.save(details.exp - Math.floor(Date.now() / 1000));
      }
      return provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    }
    return callback(req, res);
  } catch (error) {
    console.error(error);
    if (!res.headersSent) json(res, 500, { error: String(error?.message || error) });
  }
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
console.log(`READY ${port}`);
