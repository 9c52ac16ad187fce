// Tests of the post-login Action against a real `nexus serve` on loopback,
// with hand-built Auth0 `event` and `api` objects that record what the Action
// does. NEXUS_BIN names the server binary (scripts/test builds it).
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

const { onExecutePostLogin } = require("../post-login.js");

const AUDIENCE = "https://api.example.com";
const CONNECTION_ID = "con_corpAD0001";
const NEXUS_BIN = process.env.NEXUS_BIN || path.resolve(__dirname, "../../../target/debug/nexus");
// The Auth0 tenant simulator, built beside the server.
const SIM_BIN = path.join(path.dirname(NEXUS_BIN), "nexus-auth0-sim");
const SIM_CONNECTION = { id: "con_sim0000000000001", name: "Username-Password-Authentication", strategy: "auth0" };

let server;
let sim;
let simUrl;
let baseUrl;
let dataDir;
// The bootstrap administrator key, for setting up data; the Action gets a key
// of its own that holds only `user.sync`.
const ADMIN = "bootstrap-admin:admin-secret-for-the-action-tests";
let syncKey;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitReady(url) {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("nexus did not become ready");
}

async function call(method, urlPath, body) {
  const headers = { authorization: `Basic ${Buffer.from(ADMIN).toString("base64")}` };
  if (body) headers["content-type"] = "application/json";
  const response = await fetch(`${baseUrl}${urlPath}`, {
    method,
    headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  assert.ok(response.ok, `${method} ${urlPath} → ${response.status} ${text}`);
  return json;
}

/** A Nexus user linked on CONNECTION_ID with a role and a UPN; returns its id. */
async function seedUser(name) {
  const user = await call("POST", "/v1/users", {
    authenticationMethod: "Ad",
    displayName: name,
    idpTenantId: "corp",
    organization: "acme",
    idpMetadata: { azoUserId: `ad|${name}`, azoConnectionId: CONNECTION_ID },
  });
  await call("PUT", `/v1/users/${user.id}/roles`, { value: [roleId] });
  await call("POST", `/v1/users/${user.id}/custom-upns`, {
    clientUpnKey: "rdp",
    customUpnValue: `${name}@corp.example.com`,
  });
  return user.id;
}

let roleId;
// The numeric ids of the tenant "corp" and the organization "acme".
let corpTenantId;
let acmeId;

/**
 * A `user.sync` key, made offline with the command line, as an operator
 * would make the Action's key.
 */
function syncOnlyKey() {
  const credential = execFileSync(NEXUS_BIN, ["api-key", "create", "--permissions", "user.sync"], {
    env: { ...process.env, NEXUS_DATABASE_URL: `sqlite://${path.join(dataDir, "nexus.db")}`, NEXUS_LOG: "warn" },
    stdio: ["ignore", "pipe", "ignore"],
  })
    .toString()
    .trim();
  const at = credential.indexOf(":");
  return { id: credential.slice(0, at), secret: credential.slice(at + 1), permissions: "user.sync" };
}

async function waitSim(url) {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/__sim/stats`);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the Auth0 simulator did not start");
}

/** An Auth0 user seeded into the simulator; its Auth0 id. */
async function simUser(email, verified) {
  const response = await fetch(`${simUrl}/__sim/users`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ connection: SIM_CONNECTION.name, email, email_verified: verified, password: "Passw0rd!long" }),
  });
  assert.equal(response.status, 201);
  return (await response.json()).user_id;
}

/** The login of an Auth0 account whose app_metadata names no Nexus user. */
function accountEvent(azoUserId, email, secrets = {}) {
  const e = event(null, { user: { user_id: azoUserId, email, groups: ["Staff"] }, secrets });
  e.tenant = { id: "eci-sim" };
  e.connection = SIM_CONNECTION;
  return e;
}

before(async () => {
  assert.ok(fs.existsSync(NEXUS_BIN), `the nexus binary is missing at ${NEXUS_BIN}: run cargo build -p nexus`);
  assert.ok(fs.existsSync(SIM_BIN), `the simulator binary is missing at ${SIM_BIN}: run cargo build --workspace`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "nexus-action-"));
  const simPort = await freePort();
  simUrl = `http://127.0.0.1:${simPort}`;
  sim = spawn(SIM_BIN, [], {
    env: { ...process.env, AUTH0_SIM_LISTEN: `127.0.0.1:${simPort}`, RUST_LOG: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await waitSim(simUrl);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  server = spawn(NEXUS_BIN, ["serve"], {
    env: {
      ...process.env,
      NEXUS_DATABASE_URL: `sqlite://${path.join(dataDir, "nexus.db")}`,
      NEXUS_LISTEN: `127.0.0.1:${port}`,
      NEXUS_LOG: "warn",
      NEXUS_BOOTSTRAP_API_KEY: ADMIN,
      // Seals the simulator tenant's Management client secret.
      NEXUS_SECRET_KEY: require("node:crypto").randomBytes(32).toString("base64"),
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await waitReady(baseUrl);
  corpTenantId = (await call("POST", "/v1/idp_tenants", { name: "corp", azoTenantName: "eci-corp", fqdn: "eci-corp.us.auth0.com" })).id;
  acmeId = (await call("POST", "/v1/organizations", { name: "acme", displayName: "Acme", crmAccountId: "1", type: "Customer" })).id;
  await call("POST", "/v1/idp_tenants", {
    name: "sim",
    azoTenantName: "eci-sim",
    fqdn: "eci-sim.us.auth0.com",
    baseUrl: simUrl,
    managementClientId: "nexus-sim-client",
    managementClientSecret: "nexus-sim-secret-do-not-use-in-production",
  });
  syncKey = syncOnlyKey();
  assert.equal(syncKey.permissions, "user.sync");
  roleId = (await call("POST", "/v1/roles", { name: "reader", audience: AUDIENCE, permissions: ["user.read"] })).id;
  const mapped = await call("POST", "/v1/roles", { name: "ad-admin", audience: AUDIENCE });
  await call("POST", `/v1/roles/${mapped.id}/connection-maps`, { groupName: "Domain Admins", azoConnectionId: CONNECTION_ID });
});

after(() => {
  if (server) server.kill("SIGTERM");
  if (sim) sim.kill("SIGTERM");
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** An `api` object that records what the Action asks of Auth0. */
function recorder() {
  const record = { idToken: {}, accessToken: {}, denied: null, multifactor: [] };
  const api = {
    multifactor: { enable: (...args) => record.multifactor.push(args) },
    idToken: { setCustomClaim: (name, value) => (record.idToken[name] = value) },
    accessToken: { setCustomClaim: (name, value) => (record.accessToken[name] = value) },
    access: { deny: (reason) => (record.denied = reason) },
  };
  return { api, record };
}

function event(userId, overrides = {}) {
  return {
    secrets: {
      NEXUS_URL: baseUrl,
      NEXUS_TIMEOUT_MS: "3000",
      NEXUS_API_KEY_ID: syncKey.id,
      NEXUS_API_KEY_SECRET: syncKey.secret,
      ...(overrides.secrets || {}),
    },
    user: {
      user_id: "ad|someone",
      email: "someone@corp.example.com",
      name: "Some One",
      groups: ["Domain Admins", "Staff"],
      app_metadata: userId ? { nexus_user_id: userId } : {},
      ...(overrides.user || {}),
    },
    connection: { id: CONNECTION_ID, name: "corp-ad", strategy: "ad" },
    client: { client_id: "app1", name: "Legacy RDP", metadata: { app_upn_key: "rdp" } },
    resource_server: { identifier: AUDIENCE },
    request: { query: {} },
  };
}

test("sets the roles and upn claims and records groups and attributes", async () => {
  const userId = await seedUser("alice");
  const { api, record } = recorder();
  await onExecutePostLogin(event(userId), api);
  assert.equal(record.denied, null);
  const claim = "https://nexus.example.com/roles";
  assert.deepEqual(record.idToken[claim], ["ad-admin", "reader"]);
  assert.deepEqual(record.accessToken[claim], ["ad-admin", "reader"]);
  assert.equal(record.idToken.upn, "alice@corp.example.com");
  assert.equal(record.accessToken.upn, undefined, "upn is an ID-token claim only");
  assert.deepEqual(record.multifactor, [], "no organization of alice's requires MFA");

  const user = await call("GET", `/v1/users/${userId}`);
  const groups = user.identities[0].groups.map((g) => g.groupName);
  assert.deepEqual(groups, ["Domain Admins", "Staff"]);
  const attributes = Object.fromEntries(user.attributes.map((a) => [a.name, a.value]));
  assert.deepEqual(attributes, { email: "someone@corp.example.com", name: "Some One" });
});

test("no upn claim for an application without a UPN key, custom namespace honoured", async () => {
  const userId = await seedUser("bob");
  const { api, record } = recorder();
  const e = event(userId, { secrets: { NEXUS_CLAIM_NAMESPACE: "https://acme.example/" } });
  e.client.metadata = {};
  e.user.groups = ["Staff"];
  await onExecutePostLogin(e, api);
  assert.equal(record.denied, null);
  assert.deepEqual(record.idToken["https://acme.example/roles"], ["reader"]);
  assert.equal(record.idToken.upn, undefined);
});

test("denies an inactive user", async () => {
  const userId = await seedUser("carol");
  await call("PATCH", `/v1/users/${userId}`, { isBlocked: true });
  const { api, record } = recorder();
  await onExecutePostLogin(event(userId), api);
  assert.match(record.denied, /disabled/);
  assert.deepEqual(record.idToken, {});
});

/**
 * A product with an application run by the Auth0 client `clientId` of the
 * tenant "corp", and acme's subscription to it with a deployment of the
 * application; returns the deployment's id.
 */
async function deployedApplication(name, clientId) {
  const product = await call("POST", "/v1/products", { name, displayName: name });
  const application = await call("POST", "/v1/applications", {
    productId: product.id,
    name,
    displayName: name,
    clients: [{ idpTenantId: corpTenantId, clientId }],
  });
  const subscription = await call("POST", "/v1/subscriptions", { organizationId: acmeId, productId: product.id });
  const deployment = await call("POST", "/v1/application-deployments", {
    applicationId: application.id,
    subscriptionId: subscription.id,
    name: `${name}-acme`,
  });
  return deployment.id;
}

test("denies a login into an application Nexus manages exactly when the user is not entitled to it", async () => {
  const userId = await seedUser("olivia");
  const deploymentId = await deployedApplication("ledger", "ledgerClient01");
  const login = async (clientId) => {
    const e = event(userId);
    e.client = { client_id: clientId, name: "Ledger", metadata: {} };
    const { api, record } = recorder();
    await onExecutePostLogin(e, api);
    return record;
  };
  let record = await login("ledgerClient01");
  assert.match(record.denied, /do not have access to this application/);
  assert.deepEqual(record.idToken, {});

  await call("POST", `/v1/application-deployments/${deploymentId}/users`, { userId });
  record = await login("ledgerClient01");
  assert.equal(record.denied, null);
  assert.ok(record.idToken["https://nexus.example.com/roles"].includes("reader"));

  // A client that runs no application Nexus manages decides nothing.
  await call("DELETE", `/v1/application-deployments/${deploymentId}/users/${userId}`);
  record = await login("someOtherClient");
  assert.equal(record.denied, null);
  record = await login("ledgerClient01");
  assert.match(record.denied, /do not have access/);
});

/** An organization that requires MFA; returns its id. */
async function mfaOrganization(name) {
  const body = { name, displayName: name, crmAccountId: "2", type: "Partner", isMfaRequired: true };
  return (await call("POST", "/v1/organizations", body)).id;
}

test("asks for MFA exactly when Nexus says the login needs it", async () => {
  const userId = await seedUser("mallory");
  const login = async (e = event(userId)) => {
    const { api, record } = recorder();
    await onExecutePostLogin(e, api);
    assert.equal(record.denied, null);
    assert.deepEqual(record.idToken["https://nexus.example.com/roles"], ["ad-admin", "reader"]);
    return record.multifactor;
  };
  assert.deepEqual(await login(), [], "not a member of an organization that requires MFA");

  const secure = await mfaOrganization("secure");
  await call("POST", `/v1/organizations/${secure}/members`, { userId, isMfaRequired: false });
  assert.deepEqual(await login(), [["any"]], "a membership's organization requires MFA");

  const refresh = event(userId);
  refresh.transaction = { protocol: "oauth2-refresh-token" };
  assert.deepEqual(await login(refresh), [], "a refresh-token exchange cannot prompt");

  await call("PATCH", `/v1/users/${userId}`, { isMfaDisabled: true });
  assert.deepEqual(await login(), [], "the user is exempt");
});

test("denies an inactive user without asking for MFA", async () => {
  const userId = await seedUser("niaj");
  const guarded = await mfaOrganization("guarded");
  await call("POST", `/v1/organizations/${guarded}/members`, { userId, isMfaRequired: false });
  await call("PATCH", `/v1/users/${userId}`, { isBlocked: true });
  const { api, record } = recorder();
  await onExecutePostLogin(event(userId), api);
  assert.match(record.denied, /disabled/);
  assert.deepEqual(record.multifactor, []);
});

test("denies a login Nexus does not know", async () => {
  const { api, record } = recorder();
  await onExecutePostLogin(event(null), api);
  assert.match(record.denied, /not provisioned/);
  const unknown = recorder();
  await onExecutePostLogin(event("no-such-user"), unknown.api);
  assert.match(unknown.record.denied, /not linked/);
});

/** Runs `fn` with console.log captured; returns what was logged. */
async function logged(fn) {
  const lines = [];
  const original = console.log;
  console.log = (...args) => lines.push(args.join(" "));
  try {
    await fn();
  } finally {
    console.log = original;
  }
  return lines.join("\n");
}

test("a key without user.sync cannot sync: denied as a configuration error, not an outage", async () => {
  const userId = await seedUser("dave");
  const readOnly = await call("POST", "/v1/api-keys", { permissions: "read" });
  const { api, record } = recorder();
  const secrets = { NEXUS_API_KEY_ID: readOnly.id, NEXUS_API_KEY_SECRET: readOnly.secret };
  const log = await logged(() => onExecutePostLogin(event(userId, { secrets }), api));
  assert.match(record.denied, /contact your administrator/);
  assert.doesNotMatch(record.denied, /unavailable/);
  assert.match(log, /CONFIGURATION ERROR: \$sync answered 403: the API key lacks user.sync/);
  const unauthenticated = recorder();
  await onExecutePostLogin(event(userId, { secrets: { NEXUS_API_KEY_ID: "", NEXUS_API_KEY_SECRET: "" } }), unauthenticated.api);
  assert.match(unauthenticated.record.denied, /contact your administrator/);
});

test("a revoked key denies the login even with NEXUS_FAIL_OPEN, and says so in the log", async () => {
  const userId = await seedUser("erin");
  const key = syncOnlyKey();
  const secrets = { NEXUS_API_KEY_ID: key.id, NEXUS_API_KEY_SECRET: key.secret, NEXUS_FAIL_OPEN: "true" };
  const before = recorder();
  await onExecutePostLogin(event(userId, { secrets }), before.api);
  assert.equal(before.record.denied, null, "the key works before it is revoked");

  await call("DELETE", `/v1/api-keys/${key.id}`);
  const { api, record } = recorder();
  const log = await logged(() => onExecutePostLogin(event(userId, { secrets }), api));
  assert.match(record.denied, /contact your administrator/);
  assert.deepEqual(record.idToken, {});
  assert.match(log, /CONFIGURATION ERROR: \$sync answered 401: the API key is wrong, revoked or expired/);
  assert.match(log, /NEXUS_FAIL_OPEN does not apply/);

  const forbidden = recorder();
  const readOnly = await call("POST", "/v1/api-keys", { permissions: "read" });
  const readSecrets = { NEXUS_API_KEY_ID: readOnly.id, NEXUS_API_KEY_SECRET: readOnly.secret, NEXUS_FAIL_OPEN: "true" };
  await onExecutePostLogin(event(userId, { secrets: readSecrets }), forbidden.api);
  assert.match(forbidden.record.denied, /contact your administrator/);
});

test("Nexus's problem detail goes to the log, never to the person signing in", async () => {
  const userId = await seedUser("frank");
  const e = event(userId);
  e.resource_server = null; // no audience at all: Nexus answers 400
  const { api, record } = recorder();
  const log = await logged(() => onExecutePostLogin(e, api));
  assert.equal(record.denied, "Your sign-in could not be completed; contact your administrator.");
  assert.match(log, /\$sync refused the login data: .*audience/);

  const unknown = recorder();
  const unknownLog = await logged(() => onExecutePostLogin(event("no-such-user"), unknown.api));
  assert.equal(unknown.record.denied, "This account is not linked in the identity directory for this connection.");
  assert.match(unknownLog, /\$sync answered 404: .*no-such-user/);
});

test("an account without nexus_user_id of an unknown tenant is denied, and the log says what to set", async () => {
  const { api, record } = recorder();
  const log = await logged(() => onExecutePostLogin(event(null), api));
  assert.match(record.denied, /not provisioned/);
  assert.match(log, /NEXUS_IDP_TENANT/);
});

/** The Nexus users with this address (each read whole). */
async function usersWith(email) {
  const page = await call("GET", `/v1/users?$filter=${encodeURIComponent(`emailAddress eq '${email}'`)}`);
  return Promise.all(page.value.map((user) => call("GET", `/v1/users/${user.id}`)));
}

test("a first login of an unknown account is provisioned only when the tenant provisions just in time", async () => {
  const azo = await simUser("newcomer@example.com", true);
  const off = recorder();
  const offLog = await logged(() => onExecutePostLogin(accountEvent(azo, "newcomer@example.com"), off.api));
  assert.equal(off.record.denied, "This account is not provisioned in the identity directory.");
  assert.match(offLog, /\$sync answered 404: .*just in time/);
  assert.equal((await usersWith("newcomer@example.com")).length, 0);

  await call("PATCH", "/v1/idp_tenants/sim", { jitProvisioning: { enabled: true, organization: "acme" } });
  const on = recorder();
  await onExecutePostLogin(accountEvent(azo, "newcomer@example.com"), on.api);
  assert.equal(on.record.denied, null);
  assert.deepEqual(on.record.accessToken["https://nexus.example.com/roles"], []);
  const [user, ...others] = await usersWith("newcomer@example.com");
  assert.equal(others.length, 0);
  assert.equal(user.identities[0].azoUserId, azo);
  assert.deepEqual(user.identities[0].groups.map((g) => g.groupName), ["Staff"]);

  // Later logins carry nexus_user_id (Nexus pushes it) and use SyncUserIdentity.
  const later = event(user.id, { user: { user_id: azo, groups: ["Staff", "Domain Admins"] } });
  later.connection = SIM_CONNECTION;
  const next = recorder();
  await onExecutePostLogin(later, next.api);
  assert.equal(next.record.denied, null);
  assert.equal((await usersWith("newcomer@example.com")).length, 1);
});

test("just-in-time provisioning never hands a user to an unverified address, fail-open or not", async () => {
  await call("PATCH", "/v1/idp_tenants/sim", { jitProvisioning: { enabled: true, organization: "acme" } });
  const victim = await call("POST", "/v1/users", {
    authenticationMethod: "Ad",
    displayName: "The Boss",
    idpTenantId: "corp",
    organization: "acme",
    emailAddress: "boss@example.com",
  });
  const azo = await simUser("boss@example.com", false);
  const { api, record } = recorder();
  const log = await logged(() => onExecutePostLogin(accountEvent(azo, "boss@example.com", { NEXUS_FAIL_OPEN: "true" }), api));
  assert.equal(record.denied, "Your sign-in could not be completed; contact your administrator.");
  assert.deepEqual(record.idToken, {});
  assert.match(log, /\$sync answered 409: .*not verified/);
  const read = await call("GET", `/v1/users/${victim.id}`);
  assert.ok(!read.identities.some((identity) => identity.azoUserId === azo));
});

/** A server that accepts connections and never answers. */
async function silentServer() {
  const sockets = [];
  const silent = net.createServer((socket) => sockets.push(socket));
  await new Promise((resolve) => silent.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${silent.address().port}`,
    close: () => {
      sockets.forEach((s) => s.destroy());
      silent.close();
    },
  };
}

test("times out well before Auth0's limit and fails closed by default", async () => {
  const silent = await silentServer();
  try {
    const { api, record } = recorder();
    const started = Date.now();
    await onExecutePostLogin(event("someone", { secrets: { NEXUS_URL: silent.url, NEXUS_TIMEOUT_MS: "300" } }), api);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 5000, `took ${elapsed} ms`);
    assert.match(record.denied, /unavailable/);
  } finally {
    silent.close();
  }
});

test("fails open when configured to", async () => {
  const silent = await silentServer();
  try {
    const { api, record } = recorder();
    const secrets = { NEXUS_URL: silent.url, NEXUS_TIMEOUT_MS: "300", NEXUS_FAIL_OPEN: "true" };
    await onExecutePostLogin(event("someone", { secrets }), api);
    assert.equal(record.denied, null);
    assert.deepEqual(record.idToken, {});
    assert.deepEqual(record.accessToken, {});
    assert.deepEqual(record.multifactor, []);
  } finally {
    silent.close();
  }
});

/**
 * A proxy in front of Nexus that passes every request on as it came and
 * records the headers it came with.
 */
async function recordingProxy() {
  const seen = [];
  const proxy = http.createServer(async (request, response) => {
    seen.push(request.headers);
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const headers = { ...request.headers };
    delete headers.host;
    delete headers.connection;
    delete headers["content-length"];
    const answer = await fetch(`${baseUrl}${request.url}`, {
      method: request.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") || "text/plain" });
    response.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${proxy.address().port}`, seen, close: () => proxy.close() };
}

const VALID_TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

test("starts a new trace on each $sync when the login brings none", async () => {
  const userId = await seedUser("grace");
  const proxy = await recordingProxy();
  try {
    for (let i = 0; i < 2; i++) {
      const { api, record } = recorder();
      await onExecutePostLogin(event(userId, { secrets: { NEXUS_URL: proxy.url } }), api);
      assert.equal(record.denied, null);
      assert.deepEqual(record.idToken["https://nexus.example.com/roles"], ["ad-admin", "reader"]);
    }
    assert.equal(proxy.seen.length, 2);
    const [first, second] = proxy.seen.map((headers) => headers.traceparent);
    for (const header of [first, second]) {
      const [, traceId, spanId] = VALID_TRACEPARENT.exec(header) || assert.fail(`not a sampled version-00 traceparent: ${header}`);
      assert.doesNotMatch(traceId, /^0+$/);
      assert.doesNotMatch(spanId, /^0+$/);
    }
    assert.notEqual(first.slice(3, 35), second.slice(3, 35), "each login is a trace of its own");
    assert.equal(proxy.seen[0].tracestate, undefined);
  } finally {
    proxy.close();
  }
});

test("continues the application's trace passed to /authorize", async () => {
  const userId = await seedUser("heidi");
  const proxy = await recordingProxy();
  try {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const e = event(userId, { secrets: { NEXUS_URL: proxy.url } });
    e.request.query = { audience: AUDIENCE, traceparent, tracestate: "congo=t61rcWkgMzE" };
    const { api, record } = recorder();
    await onExecutePostLogin(e, api);
    assert.equal(record.denied, null);
    assert.equal(proxy.seen[0].traceparent, traceparent);
    assert.equal(proxy.seen[0].tracestate, "congo=t61rcWkgMzE");
  } finally {
    proxy.close();
  }
});

test("replaces a traceparent that is not valid, and drops its tracestate", async () => {
  const userId = await seedUser("ivan");
  const proxy = await recordingProxy();
  const invalid = [
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
    ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
  ];
  try {
    for (const given of invalid) {
      const e = event(userId, { secrets: { NEXUS_URL: proxy.url } });
      e.request.query = { traceparent: given, tracestate: "congo=t61rcWkgMzE" };
      const { api, record } = recorder();
      await onExecutePostLogin(e, api);
      assert.equal(record.denied, null, `${given}`);
    }
    assert.equal(proxy.seen.length, invalid.length);
    for (const headers of proxy.seen) {
      assert.match(headers.traceparent, VALID_TRACEPARENT);
      assert.ok(!invalid.includes(headers.traceparent), headers.traceparent);
      assert.equal(headers.tracestate, undefined);
    }
  } finally {
    proxy.close();
  }
});

test("a failed call's log line names the trace", async () => {
  const silent = await silentServer();
  try {
    const e = event("someone", { secrets: { NEXUS_URL: silent.url, NEXUS_TIMEOUT_MS: "200" } });
    e.request.query = { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" };
    const { api } = recorder();
    const log = await logged(() => onExecutePostLogin(e, api));
    assert.match(log, /\(trace 4bf92f3577b34da6a3ce929d0e0e4736\)/);
  } finally {
    silent.close();
  }
});
