//! InviteOrganizationMember and organizations' defaultIdpTenantId: an
//! invitation adds the user with the address, or creates one (a Nexus user,
//! or with an Auth0 account and a set-your-password e-mail where the tenant
//! has Management credentials); a new address must be of a verified domain
//! unless the organization says otherwise; racing invitations create one user.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::sim_tenant::{fail, inbox, recover, tenant};
use crate::support::{assert_problem, both_backends, TestApp, API_AUDIENCE};

both_backends!(
    default_idp_tenant_is_set_resolved_cleared_and_follows_the_tenant,
    an_invitation_creates_a_nexus_user_in_the_default_tenant,
    an_invitation_adds_the_user_with_the_address,
    a_new_user_needs_a_tenant_and_a_good_body,
    a_new_address_needs_a_verified_domain,
    an_invitation_through_auth0_creates_the_account_and_sends_the_e_mail,
    an_auth0_outage_creates_nothing,
    making_an_admin_needs_the_admin_role_s_permissions,
    racing_invitations_create_one_user,
);

/// An organization whose new members are created in `tenant` (a name),
/// without the domain rule; its id.
pub async fn inviting_organization(app: &TestApp, name: &str, tenant: &str) -> i64 {
    let organization = app.organization(name).await["id"].as_i64().unwrap();
    let set = app
        .patch(
            &format!("/v1/organizations/{organization}"),
            json!({"defaultIdpTenantId": tenant, "isDomainVerificationRequired": false}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    organization
}

fn invite_path(organization: impl std::fmt::Display) -> String {
    format!("/v1/organizations/{organization}/members/invite")
}

async fn users_with(app: &TestApp, email: &str) -> Vec<Value> {
    let found = app
        .get(&format!("/v1/users?$filter=emailAddress eq '{email}'"))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    found.body["value"].as_array().unwrap().clone()
}

async fn default_idp_tenant_is_set_resolved_cleared_and_follows_the_tenant(app: TestApp) {
    let first = app.tenant("eu-1").await;
    let second = app.tenant("eu-2").await;
    let created = app
        .post(
            "/v1/organizations",
            json!({"name": "defaults", "displayName": "Defaults", "crmAccountId": "crm", "type": "Customer",
                "defaultIdpTenantId": "eci-eu-1-prod"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["defaultIdpTenantId"], first["id"]);
    let path = format!("/v1/organizations/{}", created.body["id"]);
    // Any reference a tenant path takes; PATCH …/mfa takes the same body.
    for (reference, expected) in [
        ("login.eu-2.example.com", &second["id"]),
        (&first["id"].to_string() as &str, &first["id"]),
        ("EU-2", &second["id"]),
    ] {
        let patched = app
            .patch(&path, json!({"defaultIdpTenantId": reference}))
            .await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        assert_eq!(&patched.body["defaultIdpTenantId"], expected, "{reference}");
    }
    // Absent leaves it; null clears it.
    let kept = app.patch(&path, json!({"contact": "c"})).await;
    assert_eq!(kept.body["defaultIdpTenantId"], second["id"]);
    let mfa = format!("{path}/mfa");
    let cleared = app.patch(&mfa, json!({"defaultIdpTenantId": null})).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(cleared.body["defaultIdpTenantId"], Value::Null);
    // An unknown tenant: 422, nothing changed.
    let unknown = app
        .patch(
            &path,
            json!({"defaultIdpTenantId": "no-such-tenant", "contact": "d"}),
        )
        .await;
    assert_problem(&unknown, 422, &path);
    assert!(
        unknown.body["errors"]["defaultIdpTenantId"].is_array(),
        "{}",
        unknown.body
    );
    assert_eq!(app.get(&path).await.body["contact"], "c");
    let refused = app
        .post(
            "/v1/organizations",
            json!({"name": "defaults-2", "displayName": "D", "crmAccountId": "crm", "type": "Customer",
                "defaultIdpTenantId": "nowhere"}),
        )
        .await;
    assert_problem(&refused, 422, "/v1/organizations");
    assert_eq!(
        app.get("/v1/organizations?$filter=name eq 'defaults-2'")
            .await
            .body["value"],
        json!([])
    );
    let long = app
        .patch(&path, json!({"defaultIdpTenantId": "t".repeat(201)}))
        .await;
    assert_problem(&long, 400, &path);

    // Deleting the default tenant clears the organization's default.
    app.patch(&path, json!({"defaultIdpTenantId": "eu-1"}))
        .await;
    let deleted = app
        .delete(&format!("/v1/idp_tenants/{}", first["id"]))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(app.get(&path).await.body["defaultIdpTenantId"], Value::Null);
}

async fn an_invitation_creates_a_nexus_user_in_the_default_tenant(app: TestApp) {
    let tenant = app.tenant("plain").await;
    let organization = inviting_organization(&app, "inviting", "plain").await;
    let path = invite_path(organization);
    let created = app
        .post(
            &path,
            json!({"emailAddress": "Ada@Example.com", "givenName": "Ada", "familyName": "Lovelace",
                "isMfaDisabled": true}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let membership = &created.body;
    let user = &membership["user"];
    let user_id = user["id"].as_str().unwrap();
    assert_eq!(
        created.headers["location"].to_str().unwrap(),
        format!("/v1/organizations/{organization}/members/{user_id}")
    );
    assert_eq!(membership["organizationId"], organization);
    assert_eq!(membership["userId"], user["id"]);
    assert_eq!(membership["roles"], json!([]));
    assert_eq!(user["emailAddress"], "Ada@Example.com");
    assert_eq!(user["displayName"], "Ada Lovelace");
    assert_eq!(user["authenticationMethod"], "Database");
    assert_eq!(user["isMfaDisabled"], true);
    assert_eq!(user["organizationId"], organization);
    // No Management credentials: a user of Nexus only, without an account.
    assert_eq!(user["identities"], json!([]), "{user}");
    assert_eq!(tenant["hasManagementCredentials"], false);
    let member = app
        .get(&format!(
            "/v1/organizations/{organization}/members/{user_id}"
        ))
        .await;
    assert_eq!(member.status, StatusCode::OK);

    // The same address again (any case): the member as it is, 200.
    let again = app
        .post(&path, json!({"emailAddress": "ADA@example.COM"}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["id"], membership["id"]);
    assert_eq!(again.body["user"]["id"], user["id"]);
    assert_eq!(users_with(&app, "Ada@Example.com").await.len(), 1);

    // An invitation naming another tenant creates its user there.
    let other = app.tenant("other").await;
    let named = app
        .post(
            &path,
            json!({"emailAddress": "grace@example.com", "idpTenantId": other["azoTenantName"]}),
        )
        .await;
    assert_eq!(named.status, StatusCode::CREATED, "{}", named.body);
    assert_eq!(named.body["user"]["displayName"], "grace@example.com");
}

async fn an_invitation_adds_the_user_with_the_address(app: TestApp) {
    let user = app.user().await;
    let patched = app
        .patch(
            &format!("/v1/users/{user}"),
            json!({"emailAddress": "known@example.com"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    // No default tenant and the domain rule on: neither matters to an existing user.
    let organization = app.organization("adding").await["id"].clone();
    let path = invite_path(&organization);
    let added = app
        .post(&path, json!({"emailAddress": "Known@Example.com"}))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(added.body["userId"], user.as_str());
    assert_eq!(added.body["user"]["id"], user.as_str());
    assert_eq!(added.body["roles"], json!([]));
    assert_eq!(
        added.headers["location"].to_str().unwrap(),
        format!("/v1/organizations/{organization}/members/{user}")
    );
    // A member already: makeAdmin adds the admin role, and nothing else changes.
    let admin = app
        .post(
            &path,
            json!({"emailAddress": "known@example.com", "makeAdmin": true}),
        )
        .await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    assert_eq!(admin.body["id"], added.body["id"]);
    assert_eq!(admin.body["roles"], json!(["organization-admin"]));
    let same = app
        .post(
            &path,
            json!({"emailAddress": "known@example.com", "makeAdmin": true}),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(same.body["roles"], json!(["organization-admin"]));
    // The user's own organization is still its first.
    let read = app.get(&format!("/v1/users/{user}")).await.body;
    assert_ne!(read["organizationId"], organization);
    assert_eq!(read["memberOf"].as_array().unwrap().len(), 2, "{read}");
}

async fn a_new_user_needs_a_tenant_and_a_good_body(app: TestApp) {
    let organization = app.organization("no-default").await["id"].clone();
    let unchecked = app
        .patch(
            &format!("/v1/organizations/{organization}"),
            json!({"isDomainVerificationRequired": false}),
        )
        .await;
    assert_eq!(unchecked.status, StatusCode::OK);
    let path = invite_path(&organization);
    // Neither the invitation nor the organization names a tenant: 422.
    let untenanted = app
        .post(&path, json!({"emailAddress": "new@example.com"}))
        .await;
    assert_problem(&untenanted, 422, &path);
    assert!(
        untenanted.body["errors"]["idpTenantId"][0]
            .as_str()
            .unwrap()
            .contains("defaultIdpTenantId"),
        "{}",
        untenanted.body
    );
    // A tenant that does not exist: 422.
    let unknown = app
        .post(
            &path,
            json!({"emailAddress": "new@example.com", "idpTenantId": "nowhere"}),
        )
        .await;
    assert_problem(&unknown, 422, &path);
    assert!(unknown.body["errors"]["idpTenantId"].is_array());
    assert!(users_with(&app, "new@example.com").await.is_empty());
    // Bodies, field by field.
    let long_address = format!("{}@example.com", "a".repeat(240));
    for (body, field) in [
        (json!({}), "emailAddress"),
        (json!({"emailAddress": ""}), "emailAddress"),
        (json!({"emailAddress": "not-an-address"}), "emailAddress"),
        (json!({"emailAddress": long_address}), "emailAddress"),
        (
            json!({"emailAddress": "a@example.com", "displayName": "d".repeat(251)}),
            "displayName",
        ),
        (
            json!({"emailAddress": "a@example.com", "givenName": "g".repeat(101)}),
            "givenName",
        ),
        (
            json!({"emailAddress": "a@example.com", "familyName": ""}),
            "familyName",
        ),
        (
            json!({"emailAddress": "a@example.com", "clientId": "c".repeat(101)}),
            "clientId",
        ),
    ] {
        let refused = app.post(&path, body.clone()).await;
        assert_problem(&refused, 400, &path);
        assert!(
            refused.body["errors"][field].is_array(),
            "{body}: {}",
            refused.body
        );
    }
    let typo = app
        .post(
            &path,
            json!({"emailAddress": "a@example.com", "isAdmin": true}),
        )
        .await;
    assert_problem(&typo, 400, &path);
    for missing in [
        "/v1/organizations/999999/members/invite",
        "/v1/organizations/x/members/invite",
    ] {
        let reply = app
            .post(missing, json!({"emailAddress": "a@example.com"}))
            .await;
        assert_problem(&reply, 404, missing);
    }
}

async fn a_new_address_needs_a_verified_domain(app: TestApp) {
    app.tenant("checked").await;
    let organization = app.organization("checked").await["id"].clone();
    let org_path = format!("/v1/organizations/{organization}");
    let set = app
        .patch(&org_path, json!({"defaultIdpTenantId": "checked"}))
        .await;
    assert_eq!(
        set.body["isDomainVerificationRequired"], true,
        "{}",
        set.body
    );
    let path = invite_path(&organization);
    let refused = app
        .post(&path, json!({"emailAddress": "someone@Unverified.Example"}))
        .await;
    assert_problem(&refused, 422, &path);
    let reason = refused.body["errors"]["emailAddress"][0].as_str().unwrap();
    assert!(
        reason.contains("unverified.example") && reason.contains("isDomainVerificationRequired"),
        "{reason}"
    );
    assert!(users_with(&app, "someone@Unverified.Example")
        .await
        .is_empty());
    // Without the rule, the same address is admitted.
    app.patch(&org_path, json!({"isDomainVerificationRequired": false}))
        .await;
    let created = app
        .post(&path, json!({"emailAddress": "someone@Unverified.Example"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

async fn an_invitation_through_auth0_creates_the_account_and_sends_the_e_mail(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let organization = inviting_organization(&app, "through-auth0", "sim").await;
    let path = invite_path(organization);
    // Auth0 refuses the e-mail (an unknown application): nothing anywhere.
    let refused = app
        .post(
            &path,
            json!({"emailAddress": "nobody@example.com", "clientId": "unknown-app"}),
        )
        .await;
    assert_problem(&refused, 422, &path);
    assert!(users_with(&app, "nobody@example.com").await.is_empty());
    assert!(tenant
        .auth0
        .users_by_email("nobody@example.com")
        .await
        .unwrap()
        .is_empty());

    let email = "invited@example.com";
    let created = app
        .post(
            &path,
            json!({"emailAddress": email, "displayName": "Invited One"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let user = &created.body["user"];
    assert_eq!(user["authenticationMethod"], "Database");
    let identity = &user["identities"][0];
    assert_eq!(identity["strategy"], "auth0", "{user}");
    let accounts = tenant.auth0.users_by_email(email).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(
        Some(identity["azoUserId"].as_str().unwrap()),
        accounts[0].user_id.as_deref()
    );
    // The set-your-password e-mail, by default for the Management client.
    let emails = inbox(&tenant, email).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["kind"], "reset_password");
    // And with a named application.
    let named = app
        .post(
            &path,
            json!({"emailAddress": "second@example.com", "clientId": auth0_sim::DEFAULT_CLIENT_ID}),
        )
        .await;
    assert_eq!(named.status, StatusCode::CREATED, "{}", named.body);
    assert_eq!(inbox(&tenant, "second@example.com").await.len(), 1);
}

async fn an_auth0_outage_creates_nothing(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let organization = inviting_organization(&app, "outage", "sim").await;
    let path = invite_path(organization);
    fail(&tenant, &["POST", "GET"]).await;
    let down = app
        .post(&path, json!({"emailAddress": "during@example.com"}))
        .await;
    assert_problem(&down, 503, &path);
    recover(&tenant).await;
    assert!(users_with(&app, "during@example.com").await.is_empty());
    assert!(tenant
        .auth0
        .users_by_email("during@example.com")
        .await
        .unwrap()
        .is_empty());
    let members = app
        .get(&format!(
            "/v1/organizations/{organization}/members?$count=true"
        ))
        .await;
    assert_eq!(members.body["@odata.count"], 0);
}

async fn making_an_admin_needs_the_admin_role_s_permissions(app: TestApp) {
    app.tenant("admins").await;
    let organization = inviting_organization(&app, "admins", "admins").await;
    let role = app
        .post(
            "/v1/roles",
            json!({"name": "organization-admin", "audience": API_AUDIENCE, "permissions": ["organization.write", "role.write"]}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.body);
    let writer = app.key("organization.write organization.read").await;
    let headers = [("authorization", crate::support::basic(&writer))];
    let path = invite_path(organization);
    let body = json!({"emailAddress": "boss@example.com", "makeAdmin": true});
    let refused = app
        .request_as(Method::POST, &path, &headers, Some(&body))
        .await;
    assert_problem(&refused, 403, &path);
    assert!(users_with(&app, "boss@example.com").await.is_empty());
    let plain = json!({"emailAddress": "boss@example.com"});
    let member = app
        .request_as(Method::POST, &path, &headers, Some(&plain))
        .await;
    assert_eq!(member.status, StatusCode::CREATED, "{}", member.body);
    assert_eq!(member.body["roles"], json!([]));
    // The admin key holds everything: it may make one.
    let admin = app.post(&path, body).await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    assert_eq!(admin.body["roles"], json!(["organization-admin"]));
}

async fn racing_invitations_create_one_user(app: TestApp) {
    app.tenant("racing").await;
    let first = inviting_organization(&app, "racing-1", "racing").await;
    let second = inviting_organization(&app, "racing-2", "racing").await;
    // Into one organization, and into two at once.
    let replies = futures::future::join_all((0..12).map(|i| {
        let organization = if i % 3 == 0 { second } else { first };
        let app = &app;
        async move {
            app.post(
                &invite_path(organization),
                json!({"emailAddress": "racer@example.com"}),
            )
            .await
        }
    }))
    .await;
    let mut created = 0;
    for reply in &replies {
        match reply.status.as_u16() {
            201 => created += 1,
            200 => {}
            other => panic!("{other}: {}", reply.body),
        }
    }
    let users = users_with(&app, "racer@example.com").await;
    assert_eq!(users.len(), 1, "{users:?}");
    // One creation and one addition to the other organization.
    assert_eq!(created, 2);
    let user = users[0]["id"].as_str().unwrap();
    for organization in [first, second] {
        let member = app
            .get(&format!("/v1/organizations/{organization}/members/{user}"))
            .await;
        assert_eq!(member.status, StatusCode::OK, "{}", member.body);
    }
}
