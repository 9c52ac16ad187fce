//! The account lifecycle over real HTTP, as a user meets it: passwords and
//! the connection's policy, password logins, blocking, brute-force blocks,
//! and the links in the e-mails Auth0 sends, followed like a user would.

mod support;

use auth0_sim::{DEFAULT_CLIENT_ID, DEFAULT_CONNECTION_ID};
use serde_json::{json, Value};
use support::{Tenant, CONNECTION};

impl Tenant {
    async fn create(&self, email: &str, password: &str) -> String {
        let (status, user) = self
            .management(
                reqwest::Method::POST,
                "/users",
                json!({"connection": CONNECTION, "email": email, "password": password}),
            )
            .await;
        assert_eq!(status, 201, "{user}");
        user["user_id"].as_str().unwrap().to_owned()
    }

    async fn patch(&self, id: &str, body: Value) -> (u16, Value) {
        self.management(reqwest::Method::PATCH, &format!("/users/{id}"), body)
            .await
    }

    /// The user's confirmed MFA enrollments.
    async fn enrollments(&self, id: &str) -> Value {
        let path = format!("/users/{id}/enrollments");
        let (status, enrolled) = self
            .management(reqwest::Method::GET, &path, Value::Null)
            .await;
        assert_eq!(status, 200, "{enrolled}");
        enrolled
    }

    /// A password-realm login: its status and body.
    async fn sign_in(&self, username: &str, password: &str) -> (u16, Value) {
        let reply = support::sign_in(&self.sim, &self.http, username, password).await;
        (reply.status().as_u16(), reply.json().await.unwrap())
    }

    /// Seeds a connection through the control API.
    async fn seed_connection(&self, connection: Value) {
        let reply = self
            .http
            .post(self.url("/__sim/connections"))
            .json(&connection)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201);
    }

    /// What the control API answers at `path`.
    async fn control(&self, path: &str) -> Value {
        let reply = self.http.get(self.url(path)).send().await.unwrap();
        reply.json().await.unwrap()
    }

    async fn inbox(&self) -> Vec<Value> {
        let inbox = self.control("/__sim/emails").await;
        inbox.as_array().unwrap().clone()
    }

    /// The link of the newest e-mail of `kind` to `to`.
    async fn link(&self, to: &str, kind: &str) -> String {
        let inbox = self.inbox().await;
        let email = inbox
            .iter()
            .rev()
            .find(|e| e["to"] == to && e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} e-mail to {to} in {inbox:?}"));
        email["link"].as_str().unwrap().to_owned()
    }

    /// Opens the reset link's page and submits its form with `password`.
    async fn reset_through(&self, link: &str, password: &str) -> reqwest::Response {
        let page = self.http.get(link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        let ticket = link.split("ticket=").nth(1).unwrap();
        assert!(page.contains(ticket), "{page}");
        self.http
            .post(self.url("/lo/reset"))
            .form(&[("ticket", ticket), ("password", password)])
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_password_is_set_under_the_connections_policy_and_signs_in() {
    let tenant = Tenant::start().await;
    let id = tenant.create("ada@example.com", "first-password").await;
    let (status, token) = tenant.sign_in("ADA@example.com", "first-password").await;
    assert_eq!(status, 200, "{token}");
    assert!(token["access_token"].is_string() && token["id_token"].is_string());

    // The policy's edge: 7 characters refused, 8 allowed.
    let (status, refused) = tenant.patch(&id, json!({"password": "seven77"})).await;
    assert_eq!(
        (status, &refused["message"]),
        (400, &json!("PasswordStrengthError: Password is too weak"))
    );
    let (status, _) = tenant
        .patch(
            &id,
            json!({"password": "eight888", "connection": CONNECTION}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        tenant.sign_in("ada@example.com", "first-password").await.0,
        403
    );
    assert_eq!(tenant.sign_in("ada@example.com", "eight888").await.0, 200);
    let (_, user) = tenant
        .management(reqwest::Method::GET, &format!("/users/{id}"), Value::Null)
        .await;
    assert!(user.get("password").is_none(), "{user}");
    assert_eq!(user["logins_count"], 2);

    // A connection with a stricter policy, on create too.
    tenant
        .seed_connection(json!({"name": "strict", "password_min_length": 12}))
        .await;
    let (status, _) = tenant
        .management(
            reqwest::Method::POST,
            "/users",
            json!({"connection": "strict", "email": "s@example.com", "password": "eleven11111"}),
        )
        .await;
    assert_eq!(status, 400);

    // A user without a database account has no password to set.
    tenant
        .seed_connection(json!({"name": "corp", "strategy": "samlp"}))
        .await;
    let (status, saml) = tenant
        .management(
            reqwest::Method::POST,
            "/users",
            json!({"connection": "corp", "email": "sam@example.com", "user_id": "sam"}),
        )
        .await;
    assert_eq!(status, 201, "{saml}");
    let (status, refused) = tenant
        .patch("samlp|sam", json!({"password": "long-enough-1"}))
        .await;
    assert_eq!(
        (status, &refused["errorCode"]),
        (400, &json!("operation_not_supported"))
    );
}

#[tokio::test]
async fn blocked_users_and_brute_force_blocks_cannot_sign_in() {
    let tenant = Tenant::start().await;
    let id = tenant.create("grace@example.com", "grace-password").await;
    tenant.patch(&id, json!({"blocked": true})).await;
    let (status, refused) = tenant.sign_in("grace@example.com", "grace-password").await;
    assert_eq!((status, &refused["error"]), (401, &json!("unauthorized")));
    tenant.patch(&id, json!({"blocked": false})).await;
    assert_eq!(
        tenant
            .sign_in("grace@example.com", "grace-password")
            .await
            .0,
        200
    );

    // Ten wrong passwords in a row: blocked, even with the right one.
    for attempt in 1..=10 {
        let (status, body) = tenant.sign_in("grace@example.com", "wrong").await;
        let expected = if attempt < 10 { 403 } else { 429 };
        assert_eq!(status, expected, "attempt {attempt}: {body}");
    }
    let (status, refused) = tenant.sign_in("grace@example.com", "grace-password").await;
    assert_eq!(
        (status, &refused["error"]),
        (429, &json!("too_many_attempts"))
    );
    let (status, _) = tenant
        .management(
            reqwest::Method::DELETE,
            &format!("/user-blocks/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        tenant
            .sign_in("grace@example.com", "grace-password")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once() {
    let tenant = Tenant::start().await;
    tenant.create("alan@example.com", "alan-password").await;
    let reply = tenant
        .http
        .post(tenant.url("/dbconnections/change_password"))
        .json(&json!({"client_id": DEFAULT_CLIENT_ID, "email": "alan@example.com", "connection": CONNECTION}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    // Nobody learns from the answer whether there is such a user.
    let unknown = tenant
        .http
        .post(tenant.url("/dbconnections/change_password"))
        .json(&json!({"client_id": DEFAULT_CLIENT_ID, "email": "nobody@example.com", "connection": CONNECTION}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 200);
    let inbox = tenant.inbox().await;
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0]["kind"], "reset_password");

    let link = tenant.link("alan@example.com", "reset_password").await;
    let weak = tenant.reset_through(&link, "short").await;
    assert_eq!(weak.status(), 400);
    let done = tenant.reset_through(&link, "a-new-password").await;
    assert_eq!(done.status(), 200);
    assert_eq!(
        tenant.sign_in("alan@example.com", "alan-password").await.0,
        403
    );
    assert_eq!(
        tenant.sign_in("alan@example.com", "a-new-password").await.0,
        200
    );
    let used = tenant.http.get(&link).send().await.unwrap();
    assert_eq!(used.status(), 400, "a link works once");

    // A Management ticket is not e-mailed; it redirects to its result URL.
    let (status, ticket) = tenant
        .management(
            reqwest::Method::POST,
            "/tickets/password-change",
            json!({"email": "alan@example.com", "connection_id": DEFAULT_CONNECTION_ID,
                "result_url": "https://app.example.com/done"}),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(tenant.inbox().await.len(), 1);
    let done = tenant
        .reset_through(ticket["ticket"].as_str().unwrap(), "third-password")
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()["location"], "https://app.example.com/done");
    assert_eq!(
        tenant.sign_in("alan@example.com", "third-password").await.0,
        200
    );
}

#[tokio::test]
async fn verification_links_verify_the_address() {
    let tenant = Tenant::start().await;
    let id = tenant.create("joan@example.com", "joan-password").await;
    let (status, job) = tenant
        .management(
            reqwest::Method::POST,
            "/jobs/verification-email",
            json!({"user_id": id}),
        )
        .await;
    assert_eq!(status, 201, "{job}");
    let link = tenant.link("joan@example.com", "verify_email").await;
    let page = tenant.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let (_, user) = tenant
        .management(reqwest::Method::GET, &format!("/users/{id}"), Value::Null)
        .await;
    assert_eq!(user["email_verified"], true);

    // A new address is unverified again, and `verify_email` sends a link.
    let (status, user) = tenant
        .patch(&id, json!({"email": "joan@new.example.com", "verify_email": true, "connection": CONNECTION}))
        .await;
    assert_eq!((status, &user["email_verified"]), (200, &json!(false)));
    let link = tenant.link("joan@new.example.com", "verify_email").await;
    tenant.http.get(&link).send().await.unwrap();
    let (_, user) = tenant
        .management(reqwest::Method::GET, &format!("/users/{id}"), Value::Null)
        .await;
    assert_eq!(user["email_verified"], true);
    let stats = tenant.control("/__sim/stats").await;
    assert_eq!(
        stats["verificationEmails"],
        json!(["joan@example.com", "joan@new.example.com"])
    );
}

/// A form post to the token endpoint: its status and body.
async fn grant(tenant: &Tenant, form: &[(&str, &str)]) -> (u16, Value) {
    let reply = tenant
        .http
        .post(tenant.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.json().await.unwrap())
}

/// The MFA API's `mfa-otp` grant of `code` with `token`.
async fn verify(tenant: &Tenant, token: &str, code: &str) -> (u16, Value) {
    let grant_type = "http://auth0.com/oauth/grant-type/mfa-otp";
    let form = [
        ("grant_type", grant_type),
        ("client_id", DEFAULT_CLIENT_ID),
        ("mfa_token", token),
        ("otp", code),
    ];
    grant(tenant, &form).await
}

#[tokio::test]
async fn the_mfa_api_associates_an_authenticator_and_a_code_confirms_it() {
    let tenant = Tenant::start().await;
    let id = tenant.create("ada@example.com", "first-password").await;
    let mfa = format!("{}/mfa/", tenant.sim.base_url());
    let login = |scope: &'static str| {
        let mfa = mfa.clone();
        let tenant = &tenant;
        async move {
            let (status, tokens) = grant(
                tenant,
                &[
                    ("grant_type", "password"),
                    ("client_id", DEFAULT_CLIENT_ID),
                    ("username", "ada@example.com"),
                    ("password", "first-password"),
                    ("audience", &mfa),
                    ("scope", scope),
                ],
            )
            .await;
            assert_eq!(status, 200, "{tokens}");
            assert_eq!(tokens["expires_in"], 600, "an MFA token lasts ten minutes");
            tokens["access_token"].as_str().unwrap().to_owned()
        }
    };
    let associate = |token: String, body: Value| {
        let tenant = &tenant;
        async move {
            let reply = tenant
                .http
                .post(tenant.url("/mfa/associate"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                reply.status().as_u16(),
                reply.json::<Value>().await.unwrap(),
            )
        }
    };
    let otp_only = json!({"authenticator_types": ["otp"]});

    // Without the `enroll` scope, with another type, or with a token of the
    // Management API: refused.
    let (status, _) = associate(login("openid").await, otp_only.clone()).await;
    assert_eq!(status, 403);
    let enroll = login("openid enroll").await;
    let (status, _) = associate(enroll.clone(), json!({"authenticator_types": ["oob"]})).await;
    assert_eq!(status, 400);
    let (status, _) = associate(tenant.bearer.clone(), otp_only.clone()).await;
    assert_eq!(status, 401);

    let (status, associated) = associate(enroll.clone(), otp_only).await;
    assert_eq!(status, 200, "{associated}");
    let secret = associated["secret"].as_str().unwrap();
    assert!(associated["barcode_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    assert_eq!(associated["recovery_codes"].as_array().unwrap().len(), 1);

    // A wrong code, a token that is not one: refused as Auth0 refuses them.
    let wrong = if support::otp(secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (status, refused) = verify(&tenant, &enroll, wrong).await;
    assert_eq!(
        (status, &refused["error_description"]),
        (403, &json!("Invalid otp_code."))
    );
    let (status, refused) = verify(&tenant, "not-a-token", &support::otp(secret)).await;
    assert_eq!(
        (status, &refused["error_description"]),
        (403, &json!("Malformed mfa_token"))
    );
    let enrolled = tenant.enrollments(&id).await;
    assert_eq!(enrolled, json!([]), "nothing confirmed yet");

    let (status, tokens) = verify(&tenant, &enroll, &support::otp(secret)).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["access_token"].is_string());
    let enrolled = tenant.enrollments(&id).await;
    assert_eq!(enrolled[0]["status"], "confirmed", "{enrolled}");
    assert_eq!(enrolled[0]["auth_method"], "authenticator");
}

#[tokio::test]
async fn an_enrollment_link_enrolls_once() {
    let tenant = Tenant::start().await;
    let id = tenant.create("grace@example.com", "first-password").await;
    let (status, ticket) = tenant
        .management(
            reqwest::Method::POST,
            "/guardian/enrollments/ticket",
            json!({"user_id": id, "send_mail": true}),
        )
        .await;
    assert_eq!(status, 200, "{ticket}");
    let link = tenant.link("grace@example.com", "mfa_enrollment").await;
    assert_eq!(link, ticket["ticket_url"].as_str().unwrap());
    let ticket_id = ticket["ticket_id"].as_str().unwrap();
    let secret = support::enrollment_secret(&tenant.http, &link).await;
    assert_eq!(
        support::confirm_enrollment(&tenant.sim, &tenant.http, ticket_id, &secret).await,
        200
    );
    // Used up.
    let again = tenant.http.get(&link).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(
        support::confirm_enrollment(&tenant.sim, &tenant.http, ticket_id, &secret).await,
        400
    );
}
