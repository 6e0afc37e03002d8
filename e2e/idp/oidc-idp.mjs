// A real OpenID Connect provider (npm oidc-provider) for runas-meta's e2e
// tests, with small login and one-time-code pages of our own.  Public client
// "aws-cli" (PKCE required, loopback redirect on any port), authorization
// code flow, and refresh tokens for offline_access (asked with prompt=consent,
// rotated on each use, revocable at /token/revocation).  Listens on 127.0.0.1
// only; prints {"port": N} when ready.
//
// Environment: IDP_USERS (JSON: {"name": {"password": "...", "totp": "secret or empty"}}),
// IDP_ID_TOKEN_TTL (seconds an id_token lives; default 3600).
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import Provider from 'oidc-provider';

const require = createRequire(import.meta.url);
const { verify } = require('./totp.js');
const users = JSON.parse(process.env.IDP_USERS);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (body) => `<!doctype html><html><head><title>Test IdP sign-in</title></head><body>${body}</body></html>`;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test', use: 'sig', alg: 'RS256' };

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(data))));
  });
}

function send(res, html) {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(page(html));
}

function loginForm(uid, error) {
  const note = error ? `<p id="error" role="alert">${esc(error)}</p>` : '';
  return `<h1>Sign in</h1>${note}<form id="login" method="post" action="/interaction/${uid}/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password">
<button id="submit" type="submit">Sign in</button></form>`;
}

function otpForm(uid, error) {
  const note = error ? `<p id="error" role="alert">${esc(error)}</p>` : '';
  return `<h1>One-time code</h1>${note}<form id="otp-form" method="post" action="/interaction/${uid}/otp">
<label for="otp">Code</label><input id="otp" name="otp" autocomplete="one-time-code">
<button id="submit" type="submit">Verify</button></form>`;
}

const pendingOtp = new Map(); // interaction uid -> user name

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'aws-cli', application_type: 'native', token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/oidc/callback'],
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
    pkce: { required: () => true },
    findAccount: (ctx, id) => (users[id] ? { accountId: id, claims: () => ({ sub: id }) } : undefined),
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { IdToken: Number(process.env.IDP_ID_TOKEN_TTL || 3600), Session: 3600, Interaction: 600, Grant: 3600,
           AuthorizationCode: 60, RefreshToken: 3600 },
  });
  provider.proxy = false;

  async function interaction(req, res) {
    const match = /^\/interaction\/([^/]+)(?:\/(login|otp))?$/.exec(req.url.split('?')[0]);
    if (!match) return false;
    const [, uid, step] = match;
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'consent') {
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope || 'openid');  // offline_access too, when asked
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } },
        { mergeWithLastSubmission: true });
      return true;
    }
    if (req.method === 'GET') { send(res, loginForm(uid, '')); return true; }
    const form = await readBody(req);
    if (step === 'login') {
      const user = users[form.username];
      if (!user || user.password !== form.password) { send(res, loginForm(uid, 'Invalid username or password.')); return true; }
      if (user.totp) { pendingOtp.set(uid, form.username); send(res, otpForm(uid, '')); return true; }
      await provider.interactionFinished(req, res, { login: { accountId: form.username } }, { mergeWithLastSubmission: false });
      return true;
    }
    const name = pendingOtp.get(uid);
    if (!name) { send(res, loginForm(uid, 'Start again.')); return true; }
    if (!verify(users[name].totp, form.otp || '')) { send(res, otpForm(uid, 'Invalid code.')); return true; }
    pendingOtp.delete(uid);
    await provider.interactionFinished(req, res, { login: { accountId: name } }, { mergeWithLastSubmission: false });
    return true;
  }

  const callback = provider.callback();
  server.on('request', async (req, res) => {
    try {
      if (await interaction(req, res)) return;
    } catch (err) {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(String(err && err.message));
      return;
    }
    callback(req, res);
  });
  process.stdout.write(JSON.stringify({ port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
