//! A user enrolling a second factor themselves, against the Auth0
//! simulator, signed in there with their password: an e-mailed (or
//! answered) enrollment link followed the way a user would, and an
//! authenticator associated through the MFA API and confirmed through
//! Nexus; and what must change nothing.

use reqwest::Method;
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::sim_tenant::{
    access_token, eventually_linked, fail, inbox, linked_user, recover, tenant, user_headers,
    Tenant, SEEDED_PASSWORD,
};
use crate::support::{assert_problem, basic, both_backends, Reply, TestApp};

both_backends!(
    an_emailed_link_enrolls_an_authenticator,
    an_authenticator_confirmed_through_nexus_is_recorded,
    nobody_confirms_with_someone_elses_mfa_token,
    with_auth0_down_nothing_changes,
    only_a_users_token_enrolls,
    a_new_user_is_e_mailed_an_enrollment_link,
);

const ENROLL: &str = "/v1/me/mfa-enrollment";
const VERIFY: &str = "/v1/me/verify-enrollment-otp";

type Headers = Vec<(&'static str, String)>;

/// A Nexus user linked to a simulator account `email`, signed in there:
/// (Nexus id, Auth0 id, headers that call Nexus as the user).
pub(crate) async fn signed_in(
    app: &TestApp,
    tenant: &Tenant,
    email: &str,
) -> (String, String, Headers) {
    let (user, azo) = linked_user(app, tenant, email).await;
    eventually_linked(tenant, &azo, &user).await;
    let headers = user_headers(app, tenant, email, SEEDED_PASSWORD).await;
    (user, azo, headers)
}

async fn call(app: &TestApp, headers: &Headers, path: &str, body: Option<Value>) -> Reply {
    app.request_as(Method::POST, path, headers, body.as_ref())
        .await
}

async fn status_of(app: &TestApp, user: &str) -> Value {
    app.get(&format!("/v1/users/{user}")).await.body["mfaEnrollmentStatus"].clone()
}

/// The authenticator app: codes for a base32 secret.
pub(crate) fn authenticator(secret: &str) -> TOTP {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes).unwrap()
}

/// A code the authenticator shows ten minutes from now: wrong now.
fn stale_code(app: &TOTP) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    app.generate(now + 600)
}

/// An MFA token for the simulator's user `email` and the secret
/// `POST /mfa/associate` answers with it.
pub(crate) async fn associate(tenant: &Tenant, email: &str) -> (String, String) {
    let base = tenant.sim.base_url();
    let mfa_token = access_token(
        tenant,
        email,
        SEEDED_PASSWORD,
        &format!("{base}/mfa/"),
        "enroll",
    )
    .await;
    let associated: Value = reqwest::Client::new()
        .post(format!("{base}/mfa/associate"))
        .bearer_auth(&mfa_token)
        .json(&json!({"authenticator_types": ["otp"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(associated["authenticator_type"], "otp", "{associated}");
    let secret = associated["secret"].as_str().unwrap().to_owned();
    (mfa_token, secret)
}

async fn confirmed_enrollments(tenant: &Tenant, azo: &str) -> usize {
    let enrollments = tenant.auth0.enrollments(azo).await.unwrap();
    let confirmed = enrollments.iter();
    confirmed
        .filter(|e| e.status.as_deref() == Some("confirmed"))
        .count()
}

async fn an_emailed_link_enrolls_an_authenticator(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let email = "ada@example.com";
    let (user, azo, headers) = signed_in(&app, &tenant, email).await;
    assert_eq!(status_of(&app, &user).await, Value::Null);

    let made = call(&app, &headers, &format!("{ENROLL}?factor=otp"), None).await;
    assert_eq!(made.status.as_u16(), 200, "{}", made.body);
    assert_eq!(made.body["emailSent"], true);
    assert!(
        made.body.get("ticketUrl").is_none(),
        "the link is e-mailed, not answered: {}",
        made.body
    );
    let ticket_id = made.body["ticketId"].as_str().unwrap();
    assert_eq!(status_of(&app, &user).await, "Pending");

    // The user opens the e-mail, adds the secret to an authenticator app
    // and confirms its first code.
    let emails = inbox(&tenant, email).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["kind"], "mfa_enrollment");
    let link = emails[0]["link"].as_str().unwrap();
    assert!(link.ends_with(&format!("ticket={ticket_id}")), "{link}");
    let app_codes = authenticator(&secret_on_page(link).await);
    let http = reqwest::Client::new();
    let form = format!("{}/lo/mfa-enroll", tenant.sim.base_url());
    let wrong = [
        ("ticket", ticket_id.to_owned()),
        ("otp", stale_code(&app_codes)),
    ];
    let refused = http.post(&form).form(&wrong).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    assert_eq!(confirmed_enrollments(&tenant, &azo).await, 0);
    let right = [
        ("ticket", ticket_id.to_owned()),
        ("otp", app_codes.generate_current().unwrap()),
    ];
    let confirmed = http.post(&form).form(&right).send().await.unwrap();
    assert_eq!(confirmed.status().as_u16(), 200);
    assert_eq!(confirmed_enrollments(&tenant, &azo).await, 1);
    // The link works once.
    assert_eq!(reqwest::get(link).await.unwrap().status().as_u16(), 400);
}

/// The TOTP secret the enrollment link's page shows, as an authenticator
/// app reads it from its `otpauth://` URI.
async fn secret_on_page(link: &str) -> String {
    let page = reqwest::get(link).await.unwrap().text().await.unwrap();
    let uri = page
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let uri = url::Url::parse(&uri).unwrap();
    assert_eq!(uri.scheme(), "otpauth");
    uri.query_pairs()
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// CreateUser with `sendMfaEnrollmentEmail`: the new account is e-mailed an
/// enrollment link, and the user starts `Pending`.
async fn a_new_user_is_e_mailed_an_enrollment_link(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let email = "invited-to-mfa@example.com";
    let created = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Database", "displayName": "Invited", "emailAddress": email,
                "idpTenantId": "sim", "organization": "acme",
                "passwordCredential": {"password": "Corr3ct-Horse!", "sendMfaEnrollmentEmail": true}}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert_eq!(created.body["mfaEnrollmentStatus"], "Pending");
    let azo = created.body["identities"][0]["azoUserId"]
        .as_str()
        .unwrap()
        .to_owned();
    let emails = inbox(&tenant, email).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["kind"], "mfa_enrollment");
    let link = emails[0]["link"].as_str().unwrap();
    let codes = authenticator(&secret_on_page(link).await);
    let ticket = link.rsplit("ticket=").next().unwrap().to_owned();
    let form = format!("{}/lo/mfa-enroll", tenant.sim.base_url());
    let right = [
        ("ticket", ticket),
        ("otp", codes.generate_current().unwrap()),
    ];
    let confirmed = reqwest::Client::new()
        .post(&form)
        .form(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status().as_u16(), 200);
    assert_eq!(confirmed_enrollments(&tenant, &azo).await, 1);
}

async fn an_authenticator_confirmed_through_nexus_is_recorded(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let email = "grace@example.com";
    let (user, azo, headers) = signed_in(&app, &tenant, email).await;

    // Interactive: the link is answered and nothing is e-mailed.
    let made = call(
        &app,
        &headers,
        &format!("{ENROLL}?isInteractive=true"),
        None,
    )
    .await;
    assert_eq!(made.status.as_u16(), 200, "{}", made.body);
    assert_eq!(made.body["emailSent"], false);
    let url = made.body["ticketUrl"].as_str().unwrap();
    assert!(url.contains("/lo/mfa-enroll?ticket="), "{url}");
    assert!(inbox(&tenant, email).await.is_empty());
    assert_eq!(status_of(&app, &user).await, "Pending");

    let (mfa_token, secret) = associate(&tenant, email).await;
    let app_codes = authenticator(&secret);

    // A wrong code is Auth0's refusal, quoted; nothing changes.
    let wrong = json!({"accessToken": mfa_token, "otp": stale_code(&app_codes)});
    let refused = call(&app, &headers, VERIFY, Some(wrong)).await;
    assert_problem(&refused, 422, VERIFY);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains("Invalid otp_code"), "{detail}");
    assert_eq!(status_of(&app, &user).await, "Pending");
    assert_eq!(confirmed_enrollments(&tenant, &azo).await, 0);

    // Malformed bodies never reach Auth0.
    let missing = call(&app, &headers, VERIFY, Some(json!({}))).await;
    assert_problem(&missing, 400, VERIFY);
    let fields = missing.body["errors"].as_object().unwrap();
    assert!(
        fields.contains_key("accessToken") && fields.contains_key("otp"),
        "{fields:?}"
    );
    let code = app_codes.generate_current().unwrap();
    let oob = json!({"accessToken": mfa_token, "otp": code, "oob": "123"});
    let refused = call(&app, &headers, VERIFY, Some(oob)).await;
    assert_problem(&refused, 400, VERIFY);
    assert!(refused.body["errors"]["oob"].is_array(), "{}", refused.body);
    let unknown = call(&app, &headers, &format!("{ENROLL}?factor=sms"), None).await;
    assert_problem(&unknown, 400, ENROLL);

    let right = json!({"accessToken": mfa_token, "otp": app_codes.generate_current().unwrap(), "oob": null});
    let verified = call(&app, &headers, VERIFY, Some(right)).await;
    assert_eq!(verified.status.as_u16(), 200, "{}", verified.body);
    assert_eq!(verified.body["mfaEnrollmentStatus"], "Enrolled");
    assert_eq!(verified.body["id"], json!(user));
    assert_eq!(status_of(&app, &user).await, "Enrolled");
    assert_eq!(confirmed_enrollments(&tenant, &azo).await, 1);

    // A second ticket (another device) leaves the user enrolled.
    let again = call(
        &app,
        &headers,
        &format!("{ENROLL}?isInteractive=true"),
        None,
    )
    .await;
    assert_eq!(again.status.as_u16(), 200, "{}", again.body);
    assert_eq!(status_of(&app, &user).await, "Enrolled");
}

async fn nobody_confirms_with_someone_elses_mfa_token(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (ada, _, ada_headers) = signed_in(&app, &tenant, "ada@example.com").await;
    let (bob, bob_azo, bob_headers) = signed_in(&app, &tenant, "bob@example.com").await;
    let (bob_token, bob_secret) = associate(&tenant, "bob@example.com").await;
    let code = authenticator(&bob_secret).generate_current().unwrap();

    // Ada offers Bob's token and Bob's right code: refused before Auth0
    // hears of it, so Bob's authenticator stays unconfirmed too.
    let body = json!({"accessToken": bob_token, "otp": code});
    let refused = call(&app, &ada_headers, VERIFY, Some(body.clone())).await;
    assert_problem(&refused, 403, VERIFY);
    assert_eq!(refused.body["type"], "urn:nexus:problem:not-the-callers");
    assert_eq!(status_of(&app, &ada).await, Value::Null);
    assert_eq!(confirmed_enrollments(&tenant, &bob_azo).await, 0);

    // A token that is not a JWT names nobody.
    let opaque = json!({"accessToken": "not-a-token", "otp": "123456"});
    assert_problem(
        &call(&app, &ada_headers, VERIFY, Some(opaque)).await,
        403,
        VERIFY,
    );

    // Bob's own call with the same body confirms Bob, and only Bob.
    let verified = call(&app, &bob_headers, VERIFY, Some(body)).await;
    assert_eq!(verified.status.as_u16(), 200, "{}", verified.body);
    assert_eq!(status_of(&app, &bob).await, "Enrolled");
    assert_eq!(status_of(&app, &ada).await, Value::Null);
}

async fn with_auth0_down_nothing_changes(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let email = "down@example.com";
    let (user, azo, headers) = signed_in(&app, &tenant, email).await;
    let (mfa_token, secret) = associate(&tenant, email).await;
    // Nexus's Management token is fetched before the outage.
    tenant.auth0.enrollments(&azo).await.unwrap();

    fail(&tenant, &["POST"]).await;
    let made = call(&app, &headers, ENROLL, None).await;
    let code = authenticator(&secret).generate_current().unwrap();
    let body = json!({"accessToken": mfa_token, "otp": code});
    let verified = call(&app, &headers, VERIFY, Some(body)).await;
    recover(&tenant).await;

    assert_problem(&made, 503, ENROLL);
    assert_problem(&verified, 503, VERIFY);
    assert_eq!(status_of(&app, &user).await, Value::Null);
    assert!(inbox(&tenant, email).await.is_empty());
    assert_eq!(confirmed_enrollments(&tenant, &azo).await, 0);
}

async fn only_a_users_token_enrolls(app: TestApp) {
    let key = app.key("read write user.password").await;
    let as_key = [("authorization", basic(&key))].to_vec();
    for (path, body) in [
        (format!("{ENROLL}?isInteractive=true"), None),
        (
            VERIFY.to_owned(),
            Some(json!({"accessToken": "a.b.c", "otp": "123456"})),
        ),
    ] {
        let refused = call(&app, &as_key, &path, body).await;
        assert_problem(&refused, 403, path.split('?').next().unwrap());
        assert_eq!(
            refused.body["type"], "urn:nexus:problem:not-a-user",
            "{}",
            refused.body
        );
    }
}
