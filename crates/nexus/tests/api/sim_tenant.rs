//! An Auth0 tenant simulator registered in Nexus, and the helpers tests use with it.

use std::time::{Duration, Instant};

use auth0::{Config, ManagementClient};
use auth0_sim::Simulator;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{TestApp, API_AUDIENCE};

pub struct Tenant {
    pub sim: Simulator,
    /// A Management client of the test's own, to look at what Auth0 holds.
    pub auth0: ManagementClient,
}

/// A simulator registered in Nexus as tenant `sim`, with Management credentials.
pub async fn tenant(app: &TestApp, rate_limit: u32) -> Tenant {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = auth0_sim::serve(listener, rate_limit).await.unwrap();
    let reply = app
        .post(
            "/v1/idp_tenants",
            json!({"name": "sim", "azoTenantName": "eci-sim", "fqdn": "eci-sim.us.auth0.com", "baseUrl": sim.base_url(),
                   "managementClientId": auth0_sim::DEFAULT_CLIENT_ID, "managementClientSecret": auth0_sim::DEFAULT_CLIENT_SECRET}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    app.organization("acme").await;
    let auth0 = ManagementClient::new(Config::new(
        &sim.base_url(),
        auth0_sim::DEFAULT_CLIENT_ID,
        auth0_sim::DEFAULT_CLIENT_SECRET,
    ));
    Tenant { sim, auth0 }
}

/// The password of the users `auth0_user` seeds.
pub const SEEDED_PASSWORD: &str = "Passw0rd!long";

/// Seeds an Auth0 user on `connection` straight into the simulator; its Auth0 id.
pub async fn auth0_user(tenant: &Tenant, connection: &str, email: &str) -> String {
    seed_account(
        tenant,
        json!({"connection": connection, "email": email, "password": SEEDED_PASSWORD}),
    )
    .await
}

/// Seeds the Auth0 user `account` (a CreateUser body) straight into the
/// simulator; its Auth0 id.
pub async fn seed_account(tenant: &Tenant, account: Value) -> String {
    let created: Value = reqwest::Client::new()
        .post(format!("{}/__sim/users", tenant.sim.base_url()))
        .json(&account)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["user_id"].as_str().unwrap().to_owned()
}

/// A Nexus user with this address and no Auth0 account; its id.
pub async fn nexus_user(app: &TestApp, email: &str) -> String {
    let user = app.user().await;
    let patched = app
        .patch(&format!("/v1/users/{user}"), json!({"emailAddress": email}))
        .await;
    assert_eq!(patched.status.as_u16(), 200, "{}", patched.body);
    user
}

/// An Auth0 user and the Nexus user linked to it: (Nexus id, Auth0 id).
pub async fn linked_user(app: &TestApp, tenant: &Tenant, email: &str) -> (String, String) {
    let azo = auth0_user(tenant, auth0_sim::DEFAULT_CONNECTION, email).await;
    let user = app
        .post("/v1/users", json!({"authenticationMethod": "Database", "displayName": "Ada Lovelace", "emailAddress": email,
            "idpTenantId": "sim", "organization": "acme",
            "idpMetadata": {"azoUserId": azo, "azoConnectionId": auth0_sim::DEFAULT_CONNECTION}}))
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
    (user.body["id"].as_str().unwrap().to_owned(), azo)
}

/// A Database user whose Auth0 account Nexus creates: (Nexus id, Auth0 id).
pub async fn provisioned_user(app: &TestApp, email: &str) -> (String, String) {
    let created = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Database", "displayName": "Provisioned", "emailAddress": email,
                   "idpTenantId": "sim", "organization": "acme",
                   "passwordCredential": {"password": "Corr3ct-Horse!"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let user = created.body["id"].as_str().unwrap().to_owned();
    let azo = created.body["identities"][0]["azoUserId"]
        .as_str()
        .unwrap()
        .to_owned();
    (user, azo)
}

/// A password login on the simulator: its status.
pub async fn sign_in(tenant: &Tenant, email: &str, password: &str) -> u16 {
    password_login(tenant, email, password, &[])
        .await
        .status()
        .as_u16()
}

/// A password login on the simulator's database connection, with `extra`
/// parameters (an `audience`, a `scope`).
async fn password_login(
    tenant: &Tenant,
    email: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        (
            "grant_type",
            "http://auth0.com/oauth/grant-type/password-realm",
        ),
        ("client_id", auth0_sim::DEFAULT_CLIENT_ID),
        ("username", email),
        ("password", password),
        ("realm", auth0_sim::DEFAULT_CONNECTION),
    ];
    form.extend_from_slice(extra);
    reqwest::Client::new()
        .post(format!("{}/oauth/token", tenant.sim.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The access token a password login gets for `audience` with `scope`.
pub async fn access_token(
    tenant: &Tenant,
    email: &str,
    password: &str,
    audience: &str,
    scope: &str,
) -> String {
    let login = password_login(
        tenant,
        email,
        password,
        &[("audience", audience), ("scope", scope)],
    )
    .await;
    assert_eq!(login.status(), StatusCode::OK);
    let tokens: Value = login.json().await.unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// The headers that call Nexus as the simulator's user `email`, signed in
/// with its password: its access token for Nexus and an application's key.
pub async fn user_headers(
    app: &TestApp,
    tenant: &Tenant,
    email: &str,
    password: &str,
) -> Vec<(&'static str, String)> {
    let token = access_token(tenant, email, password, API_AUDIENCE, "openid").await;
    vec![
        ("authorization", format!("Bearer {token}")),
        ("applicationtoken", app.key("user.read").await),
    ]
}

/// The e-mails the simulator has sent to `to`.
pub async fn inbox(tenant: &Tenant, to: &str) -> Vec<Value> {
    let inbox: Value = reqwest::get(format!("{}/__sim/emails", tenant.sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = inbox.as_array().unwrap().iter();
    sent.filter(|e| e["to"] == to).cloned().collect()
}

/// Auth0 answers requests with these methods with 503 until `recover`.
pub async fn fail(tenant: &Tenant, methods: &[&str]) {
    set_faults(
        tenant,
        json!({"fail_for_ms": 60_000, "fail_methods": methods}),
    )
    .await;
}

/// Auth0 answers again.
pub async fn recover(tenant: &Tenant) {
    set_faults(tenant, json!({})).await;
}

async fn set_faults(tenant: &Tenant, faults: Value) {
    reqwest::Client::new()
        .put(format!("{}/__sim/faults", tenant.sim.base_url()))
        .json(&faults)
        .send()
        .await
        .unwrap();
}

/// The simulator's statistics (`/__sim/stats`).
pub async fn stats(tenant: &Tenant) -> Value {
    reqwest::get(format!("{}/__sim/stats", tenant.sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until the Auth0 user's `field` equals `expected`.
pub async fn eventually(
    tenant: &Tenant,
    azo: &str,
    field: impl Fn(&auth0::User) -> Value,
    expected: Value,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = field(&tenant.auth0.get_user(azo).await.unwrap());
        if found == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the field is {found} and not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the Auth0 user carries the Nexus user's id and no custom UPNs.
pub async fn eventually_linked(tenant: &Tenant, azo: &str, user: &str) {
    eventually(
        tenant,
        azo,
        |u| json!(u.app_metadata),
        json!({"nexus_user_id": user}),
    )
    .await;
}

/// The console's application in the simulator (a regular web application
/// with a secret, as Auth0 makes them).
pub const CONSOLE_CLIENT_ID: &str = "nexus-console";
pub const CONSOLE_CLIENT_SECRET: &str = "nexus-console-secret";

/// What makes Nexus sign people in to the console through the simulator
/// registered as tenant `sim` (`tenant`) with `console_client`: the console
/// URL is left to the server (`http://` its loopback address).
pub fn console_options() -> nexus::ConsoleAuth0Options {
    nexus::ConsoleAuth0Options {
        idp_tenant: "sim".to_owned(),
        client_id: CONSOLE_CLIENT_ID.to_owned(),
        client_secret: Some(CONSOLE_CLIENT_SECRET.to_owned()),
        url: None,
    }
}

/// Registers the console's application in the simulator, enabled on its
/// database connection (where `auth0_user` and `linked_user` put users),
/// with the callback of the console served at `console_base`
/// (`http://HOST:PORT`).
pub async fn console_client(tenant: &Tenant, console_base: &str) {
    let client = json!({
        "client_id": CONSOLE_CLIENT_ID, "client_secret": CONSOLE_CLIENT_SECRET,
        "name": "Nexus console", "app_type": "regular_web",
        "token_endpoint_auth_method": "client_secret_post",
        "callbacks": [format!("{console_base}/console/sign-in/callback")],
    });
    let seeded = reqwest::Client::new()
        .post(format!("{}/__sim/clients", tenant.sim.base_url()))
        .json(&client)
        .send()
        .await
        .unwrap();
    assert_eq!(seeded.status(), StatusCode::NO_CONTENT);
    tenant
        .auth0
        .update_connection_clients(
            auth0_sim::DEFAULT_CONNECTION_ID,
            &[(CONSOLE_CLIENT_ID, true)],
        )
        .await
        .unwrap();
}

/// Restarts `app` signing people in to the console through the simulator
/// (`console_options`), whose console application it registers.
pub async fn console_signs_in_through(app: &mut TestApp, tenant: &Tenant) {
    app.console_auth0 = Some(console_options());
    app.restart().await;
    console_client(tenant, &app.base).await;
}
