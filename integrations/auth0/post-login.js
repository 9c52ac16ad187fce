/**
 * Auth0 post-login Action for Nexus (Auth0 Actions, Node 18+).
 *
 * On every login it calls Nexus `PUT /v1/users/{nexus_user_id}/$sync` with the
 * connection, the IdP groups and selected profile attributes, then puts the
 * user's roles for the requested API and the custom UPN for the application
 * into the tokens. An account whose app_metadata has no nexus_user_id yet is
 * synced by its Auth0 id instead (`PUT /v1/idp_tenants/{tenant}/accounts/
 * {user_id}/$sync`): Nexus knows it when it is linked, and when the tenant has
 * just-in-time provisioning on, Nexus imports it at this first login (and then
 * writes nexus_user_id into its app_metadata); otherwise the login is denied. It denies the login when Nexus says the user is inactive,
 * denies it when the application being signed in to is one Nexus manages and
 * the user is not entitled to it (`isEntitled` false: the Action sends the
 * Auth0 client's id as `clientId`), and asks for multi-factor authentication
 * when Nexus says the login needs it (`mfaRequired`; the rule is Nexus's, not
 * the Action's).
 *
 * Secrets (Actions → this Action → Secrets):
 *   NEXUS_URL              base URL of Nexus, e.g. https://nexus.example.com (required)
 *   NEXUS_API_KEY_ID       API key id, sent as HTTP Basic credentials with …
 *   NEXUS_API_KEY_SECRET   … the key's secret (the key needs only `user.sync`)
 *   NEXUS_TIMEOUT_MS       request timeout, default 5000 (Auth0 aborts a login after 20 s in all)
 *   NEXUS_FAIL_OPEN        "true": when Nexus cannot be reached or fails, let the login
 *                          through without Nexus claims (and without asking for MFA,
 *                          which only Nexus can decide); otherwise (default) deny it.
 *                          A 401/403 from Nexus is a configuration error (the key is
 *                          wrong, revoked, expired or lacks `user.sync`), not an outage:
 *                          the login is denied even then, and the log says why.
 *   NEXUS_DEFAULT_AUDIENCE audience to resolve roles for when the login asks for no API
 *   NEXUS_CLAIM_NAMESPACE  prefix of the roles claim, default https://nexus.example.com/
 *   NEXUS_ATTRIBUTES       comma-separated event.user fields sent as attributes,
 *                          default "email,name,given_name,family_name"
 *   NEXUS_GROUPS_FIELD     event.user field holding the IdP groups, default "groups"
 *   NEXUS_IDP_TENANT       the tenant as Nexus names it (id, name, azoTenantName or
 *                          loginDomain), for accounts without nexus_user_id; default
 *                          the Auth0 tenant's name (event.tenant.id)
 *
 * Tracing: the `$sync` call carries a W3C `traceparent`, so that Nexus's spans
 * of the login join one trace. An application that wants the login in its own
 * trace passes `traceparent` (and optionally `tracestate`) as query parameters
 * of /authorize, which Auth0 hands the Action in event.request.query; without
 * a valid one the Action starts a new trace. The trace id is in the Action's
 * log lines about failed calls, to find the login in the traces.
 */

const crypto = require("node:crypto");

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_NAMESPACE = "https://nexus.example.com/";
const DEFAULT_ATTRIBUTES = "email,name,given_name,family_name";

/** A failure to get an answer from Nexus (as opposed to an answer that says no). */
class NexusUnavailable extends Error {}

/** Nexus refused the Action's credentials: fixing it needs an administrator. */
class NexusMisconfigured extends Error {}

/**
 * Nexus said no. `userMessage` is what the person signing in sees; the
 * message, with Nexus's problem detail, goes to the Action's log only.
 */
class NexusRefused extends Error {
  constructor(message, userMessage) {
    super(message);
    this.userMessage = userMessage;
  }
}

// W3C Trace Context, version 00: trace id, parent span id, flags.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
// Visible ASCII and spaces only (a header value), at most the 512 characters
// the specification lets a tracestate be cut to.
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;

const UNAVAILABLE_MESSAGE = "The identity directory is unavailable; try again shortly.";
const REFUSED_MESSAGE = "Your sign-in could not be completed; contact your administrator.";
const NOT_PROVISIONED_MESSAGE = "This account is not provisioned in the identity directory.";
const NOT_ENTITLED_MESSAGE =
  "You do not have access to this application; ask your administrator to assign it to you.";
// What Nexus accepts as an Auth0 client id.
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

exports.onExecutePostLogin = async (event, api) => {
  const secrets = event.secrets || {};
  const failOpen = String(secrets.NEXUS_FAIL_OPEN || "").toLowerCase() === "true";

  const userId = event.user && event.user.app_metadata && event.user.app_metadata.nexus_user_id;
  const azoUserId = event.user && event.user.user_id;
  const tenant = secrets.NEXUS_IDP_TENANT || (event.tenant && event.tenant.id);
  if (!userId && !(azoUserId && tenant)) {
    console.log(
      `nexus: ${azoUserId || "the user"} has no app_metadata.nexus_user_id and the tenant is unknown ` +
        "(set NEXUS_IDP_TENANT); denying the login",
    );
    api.access.deny(NOT_PROVISIONED_MESSAGE);
    return;
  }
  // A linked account carries its Nexus id once Nexus has pushed it; until
  // then (or for just-in-time provisioning) Nexus finds it by its Auth0 id.
  const target = userId
    ? { path: `/v1/users/${encodeURIComponent(userId)}/$sync`, byAccount: false }
    : {
        path: `/v1/idp_tenants/${encodeURIComponent(tenant)}/accounts/${encodeURIComponent(azoUserId)}/$sync`,
        byAccount: true,
      };
  const audience =
    (event.resource_server && event.resource_server.identifier) ||
    (event.request && event.request.query && event.request.query.audience) ||
    secrets.NEXUS_DEFAULT_AUDIENCE;

  const trace = traceContext(event);
  let info;
  try {
    info = await sync(secrets, target, syncBody(event, secrets, audience), trace);
  } catch (error) {
    if (error instanceof NexusUnavailable) {
      console.log(`nexus: ${error.message}; ${failOpen ? "failing open" : "denying the login"} (trace ${trace.traceId})`);
      if (!failOpen) {
        api.access.deny(UNAVAILABLE_MESSAGE);
      }
      return;
    }
    if (error instanceof NexusMisconfigured) {
      // Failing open here would let every login through unchecked for as
      // long as the key stays revoked: deny, whatever NEXUS_FAIL_OPEN says.
      console.log(
        `nexus: CONFIGURATION ERROR: ${error.message}; denying the login${failOpen ? " (NEXUS_FAIL_OPEN does not apply)" : ""} (trace ${trace.traceId})`,
      );
      api.access.deny(REFUSED_MESSAGE);
      return;
    }
    console.log(`nexus: ${error.message}; denying the login (trace ${trace.traceId})`);
    api.access.deny(error instanceof NexusRefused ? error.userMessage : REFUSED_MESSAGE);
    return;
  }

  if (!info.isAuthenticated) {
    api.access.deny("This account is disabled.");
    return;
  }
  // Absent when the client runs no application Nexus manages: only an
  // explicit false denies.
  if (info.isEntitled === false) {
    console.log(`nexus: ${userId || azoUserId} is not entitled to client ${event.client && event.client.client_id}; denying the login`);
    api.access.deny(NOT_ENTITLED_MESSAGE);
    return;
  }
  const namespace = secrets.NEXUS_CLAIM_NAMESPACE || DEFAULT_NAMESPACE;
  const roles = (info.roles || []).map((role) => role.name);
  api.idToken.setCustomClaim(`${namespace}roles`, roles);
  api.accessToken.setCustomClaim(`${namespace}roles`, roles);
  if (info.upn) {
    api.idToken.setCustomClaim("upn", info.upn);
  }
  // A refresh-token exchange has nobody to prompt: Auth0 fails the exchange
  // when MFA is enabled on it. The login that began the session asked.
  if (info.mfaRequired === true && !isRefreshTokenExchange(event)) {
    api.multifactor.enable("any");
  }
};

function isRefreshTokenExchange(event) {
  return Boolean(event.transaction && event.transaction.protocol === "oauth2-refresh-token");
}

/**
 * The trace context of the `$sync` call: the application's, from the
 * /authorize query, when its traceparent is valid (ids not all zeros), or a
 * new sampled trace.
 */
function traceContext(event) {
  const query = (event.request && event.request.query) || {};
  const given = typeof query.traceparent === "string" ? query.traceparent : "";
  const match = TRACEPARENT.exec(given);
  if (match && !allZeros(match[1]) && !allZeros(match[2])) {
    const headers = { traceparent: given };
    if (typeof query.tracestate === "string" && TRACESTATE.test(query.tracestate)) {
      headers.tracestate = query.tracestate;
    }
    return { traceId: match[1], headers };
  }
  const traceId = randomId(16);
  return { traceId, headers: { traceparent: `00-${traceId}-${randomId(8)}-01` } };
}

function allZeros(hex) {
  return /^0+$/.test(hex);
}

/** `bytes` random bytes in lower-case hex, not all zeros (an invalid id). */
function randomId(bytes) {
  let id;
  do {
    id = crypto.randomBytes(bytes).toString("hex");
  } while (allZeros(id));
  return id;
}

function syncBody(event, secrets, audience) {
  const user = event.user || {};
  const fields = (secrets.NEXUS_ATTRIBUTES || DEFAULT_ATTRIBUTES)
    .split(",")
    .map((field) => field.trim())
    .filter(Boolean);
  const attributes = fields
    .filter((field) => user[field] !== undefined && user[field] !== null && user[field] !== "")
    .map((field) => ({ key: field, value: String(user[field]) }));
  const rawGroups = user[secrets.NEXUS_GROUPS_FIELD || "groups"];
  const groups = Array.isArray(rawGroups) ? rawGroups.map(String) : rawGroups ? [String(rawGroups)] : [];
  const clientUpnKey = (event.client && event.client.metadata && event.client.metadata.app_upn_key) || null;
  const body = {
    audience: audience || "",
    attributes,
    connection: { connectionId: event.connection && event.connection.id, groups },
    clientUpnKey,
  };
  const clientId = event.client && event.client.client_id;
  if (typeof clientId === "string" && CLIENT_ID.test(clientId)) {
    body.clientId = clientId;
  }
  return body;
}

async function sync(secrets, target, body, trace) {
  if (!secrets.NEXUS_URL) {
    throw new NexusUnavailable("NEXUS_URL is not set");
  }
  const timeout = Number(secrets.NEXUS_TIMEOUT_MS) > 0 ? Number(secrets.NEXUS_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
  const headers = { "content-type": "application/json", accept: "application/json", ...trace.headers };
  if (secrets.NEXUS_API_KEY_ID && secrets.NEXUS_API_KEY_SECRET) {
    const credentials = Buffer.from(`${secrets.NEXUS_API_KEY_ID}:${secrets.NEXUS_API_KEY_SECRET}`).toString("base64");
    headers.authorization = `Basic ${credentials}`;
  }
  const url = `${secrets.NEXUS_URL.replace(/\/+$/, "")}${target.path}`;
  let response;
  try {
    response = await fetch(url, {
      method: "PUT",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeout),
    });
  } catch (error) {
    const why = error && error.name === "TimeoutError" ? `no answer within ${timeout} ms` : String(error);
    throw new NexusUnavailable(`$sync failed: ${why}`);
  }
  if (response.status === 401 || response.status === 403) {
    const problem = await response.json().catch(() => ({}));
    const why = response.status === 401 ? "the API key is wrong, revoked or expired" : "the API key lacks user.sync";
    throw new NexusMisconfigured(`$sync answered ${response.status}: ${why} (${problem.detail || "no detail"})`);
  }
  if (response.status === 404) {
    const problem = await response.json().catch(() => ({}));
    throw new NexusRefused(
      `$sync answered 404: ${problem.detail || "not found"}`,
      target.byAccount ? NOT_PROVISIONED_MESSAGE : "This account is not linked in the identity directory for this connection.",
    );
  }
  if (response.status === 409) {
    // Just-in-time provisioning refused the account (say, an unverified
    // address that is another user's): a decision, never an outage.
    const problem = await response.json().catch(() => ({}));
    throw new NexusRefused(`$sync answered 409: ${problem.detail || "conflict"}`, REFUSED_MESSAGE);
  }
  if (response.status === 400) {
    const problem = await response.json().catch(() => ({}));
    throw new NexusRefused(`$sync refused the login data: ${problem.detail || "bad request"}`, REFUSED_MESSAGE);
  }
  if (!response.ok) {
    throw new NexusUnavailable(`$sync answered ${response.status}`);
  }
  return response.json();
}
