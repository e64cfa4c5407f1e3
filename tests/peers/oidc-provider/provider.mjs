#!/usr/bin/env node
// A real, certified OpenID Provider (npm `oidc-provider`, pinned in package.json) set up the way identity
// providers people run ship, for Homeport's tests (docs/testing.md, "Real OpenID Providers"):
//
//   node provider.mjs --setup ocis|keycloak --port PORT [--redirect-port R] [--access-token-ttl SECS]
//
// It listens on 127.0.0.1 only (port 0 picks a free one), prints ONE JSON line on stdout when ready
// ({"issuer": "http://127.0.0.1:PORT", ...}) and stops on SIGTERM, SIGINT, or when its standard input (a pipe)
// closes, so a test harness that dies does not leave it running.
//
// Set-ups:
// - `ocis`: like oCIS's built-in IdP (libregraph/lico, owncloud/ocis services/idp defaults): no dynamic
//   registration; one static client, the ownCloud desktop client (native, confidential, redirect
//   http://127.0.0.1 and http://localhost with any port and any path); PKCE required; `offline_access` (a refresh
//   token) only when the request had prompt=consent; lico's endpoint paths; lico's
//   token_endpoint_auth_methods_supported (client_secret_basic, none), its token endpoint also taking the secret
//   in the body (client_secret_post).
// - `keycloak`: like a Keycloak realm: issuer http://127.0.0.1:PORT/realms/homeport, Keycloak's endpoint paths,
//   a public client `homeport` registered by the admin with ONE redirect URI http://127.0.0.1:<R>/* (Keycloak's
//   wildcard: a prefix match), no consent page unless prompt=consent, a refresh token on every code exchange.
//
// Both: devInteractions (the library's plain login and consent forms) in front of three accounts with real
// passwords (the lookup server's oCIS people, crates/homeport-lookup/src/people.rs), RFC 9207 `iss` in the
// authorization response, opaque access tokens valid at the userinfo endpoint, --access-token-ttl to test refresh.

import { randomBytes } from 'node:crypto';
import { fstatSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

// The ownCloud desktop client every ownCloud desktop app ships (public values from the client's theme).
const DESKTOP_CLIENT_ID = 'xdXOt13JKxym1B1QcEncf2XDkLAexMBFwiT9j6EfhhHFJhs2KM9jbjTmf8JBXE69';
const DESKTOP_CLIENT_SECRET = 'UBntmLjC2yYCeHwsyj73Uwo9TAaecAetRwMw0xYcvNL9yRdLSUi0hUAHfvCHFeFh';
const KEYCLOAK_CLIENT_ID = 'homeport';
const KEYCLOAK_REALM_PATH = '/realms/homeport';

// The same people as the lookup server's oCIS (crates/homeport-lookup/src/people.rs, OIDC_USERS): the
// lookup's oCIS maps `preferred_username` to its accounts.
const PEOPLE = [
  { login: 'einstein', password: 'relativity', name: 'Albert Einstein', email: 'einstein@example.org', sub: '4c510ada-c86b-4815-8820-42cdf82c3d51' },
  { login: 'marie', password: 'radioactivity', name: 'Marie Curie', email: 'marie@example.org', sub: 'f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c' },
  { login: 'richard', password: 'superfluidity', name: 'Richard Feynman', email: 'richard@example.org', sub: '932b4540-8d16-481e-8ef4-588e4b6b151c' },
];

function usage(message) {
  process.stderr.write(`provider.mjs: ${message}\n`
    + 'usage: node provider.mjs --setup ocis|keycloak --port PORT [--redirect-port R] [--access-token-ttl SECS]\n');
  process.exit(2);
}

function parseArguments(argv) {
  const options = { setup: undefined, port: undefined, redirectPort: undefined, accessTokenTtl: 3600 };
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index];
    const value = argv[index + 1];
    if (value === undefined) usage(`${flag} needs a value`);
    index += 1;
    const number = () => {
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) usage(`${flag} takes a number, not ${value}`);
      return parsed;
    };
    switch (flag) {
      case '--setup': options.setup = value; break;
      case '--port': options.port = number(); break;
      case '--redirect-port': options.redirectPort = number(); break;
      case '--access-token-ttl': options.accessTokenTtl = number(); break;
      default: usage(`unknown flag ${flag}`);
    }
  }
  if (!['ocis', 'keycloak'].includes(options.setup)) usage('--setup must be ocis or keycloak');
  if (options.port === undefined) usage('--port is required (0 picks a free one)');
  if (options.accessTokenTtl < 1) usage('--access-token-ttl must be at least 1');
  if (options.setup === 'keycloak' && !options.redirectPort) {
    usage('--setup keycloak needs --redirect-port (the one port the admin registered)');
  }
  return options;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function parseUrl(value) {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

// lico: "http://127.0.0.1" and "http://localhost" match any port and any path (native loopback redirects,
// RFC 8252 section 7.3, with lico's looser path rule).
function ocisRedirectAllowed(value) {
  const url = parseUrl(value);
  return url !== undefined && url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost')
    && url.username === '' && url.password === '' && url.hash === '';
}

// Keycloak: a registered redirect URI ending in `*` matches every URI it is a prefix of; anything else matches
// exactly. So http://127.0.0.1:R/* allows any path on port R, and no other port.
function keycloakRedirectAllowed(registered, value) {
  const url = parseUrl(value);
  if (url === undefined || url.hash !== '' || url.username !== '' || url.password !== '') return false;
  return registered.some((pattern) => (pattern.endsWith('*') ? url.href.startsWith(pattern.slice(0, -1)) : url.href === pattern));
}

function setupConfiguration(options, issuer) {
  const accounts = {
    async findAccount(_ctx, sub) {
      const person = PEOPLE.find((candidate) => candidate.sub === sub);
      if (!person) return undefined;
      return {
        accountId: person.sub,
        async claims() {
          return {
            sub: person.sub,
            name: person.name,
            preferred_username: person.login,
            email: person.email,
            email_verified: true,
          };
        },
      };
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
  };
  const common = {
    ...accounts,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: false },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    pkce: { required: () => true },
    ttl: {
      AccessToken: options.accessTokenTtl,
      AuthorizationCode: 120,
      IdToken: 3600,
      Interaction: 600,
      Grant: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
    },
    // One machine, one clock: an access token is refused the second it expires (the library's default allows
    // 15 s of skew), so a test with --access-token-ttl 1 waits two seconds, not seventeen.
    clockTolerance: 0,
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Tests see the provider's own words for every refusal.
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><head><title>oops! something went wrong</title></head><body>
<h1>oops! something went wrong</h1>
${Object.entries(out).map(([key, value]) => `<pre><strong>${escapeHtml(key)}</strong>: ${escapeHtml(String(value))}</pre>`).join('\n')}
</body></html>`;
    },
  };
  if (options.setup === 'ocis') {
    return {
      ...common,
      clients: [{
        client_id: DESKTOP_CLIENT_ID,
        client_secret: DESKTOP_CLIENT_SECRET,
        client_name: 'ownCloud desktop app',
        application_type: 'native',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1', 'http://localhost'],
      }],
      clientAuthMethods: ['client_secret_basic', 'none'],
      routes: {
        authorization: '/signin/v1/identifier/_/authorize',
        end_session: '/signin/v1/identifier/_/endsession',
        jwks: '/konnect/v1/jwks.json',
        revocation: '/konnect/v1/revocation',
        token: '/konnect/v1/token',
        userinfo: '/konnect/v1/userinfo',
      },
    };
  }
  return {
    ...common,
    clients: [{
      client_id: KEYCLOAK_CLIENT_ID,
      client_name: 'Homeport',
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [`http://127.0.0.1:${options.redirectPort}/*`],
    }],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    // Keycloak's ID tokens carry the profile and email claims too (lico's, like the library's default, only sub
    // and the like when an access token comes along: the rest is at userinfo).
    conformIdTokenClaims: false,
    // Keycloak issues a refresh token with every code exchange (offline_access only makes it an offline one).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Keycloak's clients have "Consent required" off by default: no consent page unless prompt=consent asks.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (!ctx.oidc.session.accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
      grant.addOIDCClaims(['sub', 'name', 'preferred_username', 'email', 'email_verified']);
      await grant.save();
      return grant;
    },
    routes: {
      authorization: '/protocol/openid-connect/auth',
      end_session: '/protocol/openid-connect/logout',
      introspection: '/protocol/openid-connect/token/introspect',
      jwks: '/protocol/openid-connect/certs',
      revocation: '/protocol/openid-connect/revoke',
      token: '/protocol/openid-connect/token',
      userinfo: '/protocol/openid-connect/userinfo',
    },
  };
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isForm(req) {
  return (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

// The login form again, with the refusal, as a real IdP answers a wrong password.
function wrongPasswordPage(action, login) {
  return `<!DOCTYPE html><html><head><title>Sign-in</title></head><body>
<h1>Sign-in</h1>
<p class="error" role="alert">Invalid login or password.</p>
<form autocomplete="off" action="${escapeHtml(action)}" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" placeholder="Enter your login" value="${escapeHtml(login)}">
  <input required type="password" name="password" placeholder="and password" autofocus="on">
  <button type="submit" class="login login-submit">Sign-in</button>
</form></body></html>`;
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const prefix = options.setup === 'keycloak' ? KEYCLOAK_REALM_PATH : '';
  const issuer = `http://127.0.0.1:${port}${prefix}`;
  const provider = new Provider(issuer, setupConfiguration(options, issuer));
  const registered = options.setup === 'keycloak' ? [`http://127.0.0.1:${options.redirectPort}/*`] : [];
  // PLATFORM.md: native loopback redirects must match the path unless this is overridden; here it is the whole
  // redirect rule of each set-up.
  provider.Client.prototype.redirectUriAllowed = options.setup === 'ocis'
    ? (value) => ocisRedirectAllowed(value)
    : (value) => keycloakRedirectAllowed(registered, value);
  const callback = provider.callback();
  const authorizationPath = provider.pathFor('authorization', { mountPath: '' });
  const tokenPath = provider.pathFor('token', { mountPath: '' });

  server.on('request', async (req, res) => {
    try {
      process.stderr.write(`provider: ${req.method} ${req.url}\n`);
      if (prefix) {
        // Mounted under the realm's path, as Keycloak serves a realm (Express-style: the provider sees the rest).
        const pathname = req.url.split('?')[0];
        if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'Realm does not exist' }));
          return;
        }
        req.originalUrl = req.url;
        req.url = req.url.slice(prefix.length) || '/';
        if (req.url.startsWith('?')) req.url = `/${req.url}`;
      }
      const url = new URL(req.url, 'http://127.0.0.1');
      // lico and Keycloak accept prompt=select_account (lico shows its sign-in page again); devInteractions has no
      // account chooser, and a fresh browser has at most one session: treat it as satisfied.
      if (req.method === 'GET' && url.pathname === authorizationPath && url.searchParams.has('prompt')) {
        const prompts = url.searchParams.get('prompt').split(' ').filter((value) => value && value !== 'select_account');
        if (prompts.length) url.searchParams.set('prompt', prompts.join(' '));
        else url.searchParams.delete('prompt');
        req.url = `${url.pathname}${url.search}`;
        // The library finds the realm's mount path as originalUrl minus url: keep them in step, or its
        // login and consent pages would leave the realm.
        if (prefix) req.originalUrl = `${prefix}${req.url}`;
      }
      if (req.method === 'POST' && /^\/interaction\/[^/]+$/.test(url.pathname) && isForm(req)) {
        const fields = new URLSearchParams(await readBody(req));
        if (fields.get('prompt') === 'login') {
          const login = fields.get('login') || '';
          const person = PEOPLE.find((candidate) => candidate.login === login || candidate.email === login);
          if (!person || person.password !== fields.get('password')) {
            process.stderr.write(`provider: wrong login or password for ${JSON.stringify(login)}\n`);
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
            res.end(wrongPasswordPage(`${prefix}${url.pathname}`, login));
            return;
          }
          fields.set('login', person.sub);
          fields.delete('password');
        }
        req.body = fields.toString();
      }
      if (req.method === 'POST' && url.pathname === tokenPath && isForm(req)) {
        const fields = new URLSearchParams(await readBody(req));
        // lico's token endpoint also reads the desktop client's secret from the body (client_secret_post).
        if (options.setup === 'ocis' && !req.headers.authorization && fields.has('client_secret')) {
          const basic = `${encodeURIComponent(fields.get('client_id') || '')}:${encodeURIComponent(fields.get('client_secret'))}`;
          req.headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
          fields.delete('client_id');
          fields.delete('client_secret');
        }
        req.body = fields.toString();
      }
      callback(req, res);
    } catch (error) {
      process.stderr.write(`provider: ${error.stack || error}\n`);
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_request', error_description: String(error.message || error) }));
    }
  });

  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A harness holds our standard input as a pipe: when it goes away (even killed), so do we. A terminal or
  // /dev/null is no such signal.
  if (fstatSync(0).isFIFO()) {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }

  const ready = {
    issuer,
    setup: options.setup,
    port,
    discovery: `${issuer}/.well-known/openid-configuration`,
    client_id: options.setup === 'ocis' ? DESKTOP_CLIENT_ID : KEYCLOAK_CLIENT_ID,
    client_secret: options.setup === 'ocis' ? DESKTOP_CLIENT_SECRET : null,
    redirect_port: options.setup === 'keycloak' ? options.redirectPort : null,
    access_token_ttl: options.accessTokenTtl,
    users: PEOPLE.map(({ login, password }) => ({ login, password })),
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

main().catch((error) => {
  process.stderr.write(`provider.mjs: ${error.stack || error}\n`);
  process.exit(1);
});
