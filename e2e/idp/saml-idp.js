// A small SAML identity provider for runas-meta's e2e tests, built on samlp
// and express: a password form, a TOTP step, and a signed SAML response that
// carries AWS's Role, RoleSessionName and SessionDuration attributes.
// Listens on 127.0.0.1 only; prints {"port": N} when ready.
// Its pages follow Keycloak's shapes (form kc-form-login; field otp), so the
// service drives it with saml_provider = keycloak.
//
// Environment: IDP_CERT, IDP_KEY (PEM files), IDP_USERS (JSON:
// {"name": {"password": "...", "totp": "secret or empty", "roles": ["role-arn,principal-arn", ...]}}).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const express = require('express');
const samlp = require('samlp');
const { verify } = require('./totp');

const users = JSON.parse(process.env.IDP_USERS);
const cert = fs.readFileSync(process.env.IDP_CERT);
const key = fs.readFileSync(process.env.IDP_KEY);
const sessions = new Map(); // cookie -> user name
const flows = new Map(); // flow id -> user name waiting for the OTP
const ROLE = 'https://aws.amazon.com/SAML/Attributes/Role';

const app = express();
app.use(express.urlencoded({ extended: false }));

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (body) => `<!doctype html><html><body>${body}</body></html>`;

function loginPage(res, error) {
  const flow = crypto.randomBytes(8).toString('hex');
  const note = error ? `<span id="input-error" class="kc-feedback-text">${esc(error)}</span>` : '';
  res.send(page(`<form id="kc-form-login" method="post" action="/login-actions/authenticate?session_code=${flow}&amp;execution=password">
${note}<label for="username">Username</label><input id="username" name="username">
<label for="password">Password</label><input id="password" name="password" type="password">
<button type="submit">Sign in</button></form>`));
}

function otpPage(res, flow, error) {
  const note = error ? `<span id="input-error-otp-code">${esc(error)}</span>` : '';
  res.send(page(`<form id="kc-otp-login-form" method="post" action="/login-actions/authenticate?session_code=${flow}&amp;execution=otp">
${note}<label for="otp">One-time code</label><input id="otp" name="otp" autocomplete="off">
<button type="submit">Sign in</button></form>`));
}

const respond = samlp.auth({
  issuer: 'urn:runas-meta:test-idp',
  cert, key,
  audience: 'urn:amazon:webservices',
  lifetimeInSeconds: 600,
  getPostURL: (audience, dom, req, cb) => cb(null, 'https://signin.aws.amazon.com/saml'),
  getUserFromRequest: (req) => req.user,
  profileMapper: (user) => ({
    getClaims: () => ({
      [ROLE]: user.roles,
      'https://aws.amazon.com/SAML/Attributes/RoleSessionName': user.id,
      'https://aws.amazon.com/SAML/Attributes/SessionDuration': '3600',
    }),
    getNameIdentifier: () => ({ nameIdentifier: user.id }),
  }),
});

function signedIn(req, res, next, name) {
  const cookie = crypto.randomBytes(16).toString('hex');
  sessions.set(cookie, name);
  res.setHeader('Set-Cookie', `IDP_SESSION=${cookie}; Path=/; HttpOnly`);
  req.user = { id: name, roles: users[name].roles };
  respond(req, res, next);
}

function sessionUser(req) {
  const match = /(?:^|;\s*)IDP_SESSION=([0-9a-f]+)/.exec(req.headers.cookie || '');
  return match ? sessions.get(match[1]) : undefined;
}

// IdP-initiated sign-in for the AWS application (Keycloak's client URL shape).
app.get('/realms/test/protocol/saml/clients/aws', (req, res, next) => {
  const name = sessionUser(req);
  if (name) { req.user = { id: name, roles: users[name].roles }; return respond(req, res, next); }
  loginPage(res, '');
});

app.post('/login-actions/authenticate', (req, res, next) => {
  const flow = String(req.query.session_code || '');
  if (req.query.execution === 'otp') {
    const name = flows.get(flow);
    if (!name) return loginPage(res, 'Your login attempt timed out.');
    if (!verify(users[name].totp, req.body.otp || '')) return otpPage(res, flow, 'Invalid authenticator code.');
    flows.delete(flow);
    return signedIn(req, res, next, name);
  }
  const user = users[req.body.username];
  if (!user || user.password !== req.body.password) return loginPage(res, 'Invalid username or password.');
  if (user.totp) { flows.set(flow, req.body.username); return otpPage(res, flow, ''); }
  signedIn(req, res, next, req.body.username);
});

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
