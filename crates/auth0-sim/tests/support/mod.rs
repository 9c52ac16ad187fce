//! What the simulator's tests share: a simulator on loopback, Management
//! tokens, and password logins.

#![allow(dead_code)] // each test file uses its own part

use auth0_sim::{Simulator, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use serde_json::Value;

/// The default database connection.
pub const CONNECTION: &str = "Username-Password-Authentication";

/// A simulator on loopback, and a client that does not follow redirects
/// (a redirect is part of the answer under test).
pub async fn start(rate_limit: u32) -> (Simulator, reqwest::Client) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (
        auth0_sim::serve(listener, rate_limit).await.unwrap(),
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    )
}

pub async fn token(
    sim: &Simulator,
    http: &reqwest::Client,
    client_id: &str,
    secret: &str,
) -> reqwest::Response {
    let audience = format!("{}/api/v2/", sim.base_url());
    http.post(format!("{}/oauth/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("audience", &audience),
        ])
        .send()
        .await
        .unwrap()
}

pub async fn access_token(sim: &Simulator, http: &reqwest::Client) -> String {
    let reply: Value = token(sim, http, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        .await
        .json()
        .await
        .unwrap();
    reply["access_token"].as_str().unwrap().to_owned()
}

/// A password-realm login on the default connection.
pub async fn sign_in(
    sim: &Simulator,
    http: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    http.post(format!("{}/oauth/token", sim.base_url()))
        .form(&[
            (
                "grant_type",
                "http://auth0.com/oauth/grant-type/password-realm",
            ),
            ("client_id", DEFAULT_CLIENT_ID),
            ("username", username),
            ("password", password),
            ("realm", CONNECTION),
        ])
        .send()
        .await
        .unwrap()
}

/// The code an authenticator app shows now for a base32 `secret`.
pub fn otp(secret: &str) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes)
        .unwrap()
        .generate_current()
        .unwrap()
}

/// Opens an MFA enrollment link as a user would: the secret its page shows.
pub async fn enrollment_secret(http: &reqwest::Client, ticket_url: &str) -> String {
    let page = http
        .get(ticket_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, rest) = page
        .split_once("id=\"secret\">")
        .expect("the secret on the page");
    rest.split('<').next().unwrap().to_owned()
}

/// Submits the enrollment page's form with the current code; its status.
pub async fn confirm_enrollment(
    sim: &Simulator,
    http: &reqwest::Client,
    ticket_id: &str,
    secret: &str,
) -> u16 {
    http.post(format!("{}/lo/mfa-enroll", sim.base_url()))
        .form(&[("ticket", ticket_id.to_owned()), ("otp", otp(secret))])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A simulator with a Management token, for tests that call it as a client.
pub struct Tenant {
    pub sim: Simulator,
    pub http: reqwest::Client,
    pub bearer: String,
}

impl Tenant {
    pub async fn start() -> Tenant {
        let (sim, http) = start(1000).await;
        Tenant {
            bearer: access_token(&sim, &http).await,
            sim,
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    /// A Management API call (a JSON body unless `body` is null): its
    /// status and body.
    pub async fn management(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, self.url(&format!("/api/v2{path}")))
            .bearer_auth(&self.bearer);
        if !body.is_null() {
            request = request.json(&body);
        }
        let reply = request.send().await.unwrap();
        let status = reply.status().as_u16();
        let bytes = reply.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}
