//! No caller can give what it does not hold, and only roles of Nexus's own
//! audience give Nexus permissions.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_problem, basic, both_backends, Reply, TestApp, API_AUDIENCE};

both_backends!(
    keys_and_mappings_carry_only_what_their_creator_holds,
    roles_of_nexus_give_only_what_their_giver_holds,
    a_membership_role_is_a_grant,
    only_roles_of_nexus_audience_count,
);

/// Requests with one API key.
struct Caller<'a> {
    app: &'a TestApp,
    authorization: String,
}

impl<'a> Caller<'a> {
    async fn new(app: &'a TestApp, permissions: &str) -> Caller<'a> {
        Caller {
            app,
            authorization: basic(&app.key(permissions).await),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let headers = [("authorization", self.authorization.clone())];
        self.app
            .request_as(method, path, &headers, body.as_ref())
            .await
    }
}

/// A 403 naming exactly these missing permissions.
fn assert_not_held(reply: &Reply, instance: &str, missing: &[&str]) {
    assert_problem(reply, 403, instance);
    assert_eq!(reply.body["type"], "urn:nexus:problem:permission-not-held");
    let detail = reply.body["detail"].as_str().unwrap();
    let named = detail.rsplit_once("missing: ").expect(detail).1;
    assert_eq!(named.split(", ").collect::<Vec<_>>(), missing, "{detail}");
}

/// A role's id.
pub async fn role(app: &TestApp, name: &str, audience: &str, permissions: &[&str]) -> String {
    crate::roles::role(app, name, audience, permissions).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn key_count(app: &TestApp) -> u64 {
    app.get("/v1/api-keys?$count=true&$top=1").await.body["@odata.count"]
        .as_u64()
        .unwrap()
}

async fn keys_and_mappings_carry_only_what_their_creator_holds(app: TestApp) {
    let key_writer = Caller::new(&app, "apikey.write user.read user.sync").await;
    let keys_before = key_count(&app).await;

    // The escalation: a key that may only manage keys makes an administrator.
    let escalation = key_writer
        .send(
            Method::POST,
            "/v1/api-keys",
            Some(json!({"permissions": "read write"})),
        )
        .await;
    assert_not_held(&escalation, "/v1/api-keys", &["read", "write"]);
    // Every read permission is not the bare `read`, which covers future ones.
    let bare = key_writer
        .send(
            Method::POST,
            "/v1/api-keys",
            Some(json!({"permissions": "user.read read"})),
        )
        .await;
    assert_not_held(&bare, "/v1/api-keys", &["read"]);
    let mixed = key_writer
        .send(
            Method::POST,
            "/v1/api-keys",
            Some(json!({"permissions": "user.sync tenant.write apikey.write"})),
        )
        .await;
    assert_not_held(&mixed, "/v1/api-keys", &["tenant.write"]);
    assert_eq!(key_count(&app).await, keys_before, "nothing was created");

    // What it holds, it may give.
    let narrower = key_writer
        .send(
            Method::POST,
            "/v1/api-keys",
            Some(json!({"permissions": "user.sync user.read"})),
        )
        .await;
    assert_eq!(narrower.status, StatusCode::CREATED, "{}", narrower.body);
    assert_eq!(narrower.body["permissions"], "user.read user.sync");

    // Through a role: the role's permissions count as given.
    let admin_role = role(&app, "admins", API_AUDIENCE, &["read", "write"]).await;
    let by_role = key_writer
        .send(
            Method::POST,
            "/v1/api-keys",
            Some(json!({"roleId": admin_role, "permissions": "user.read"})),
        )
        .await;
    assert_not_held(&by_role, "/v1/api-keys", &["read", "write"]);
    let syncer_role = role(&app, "syncers", API_AUDIENCE, &["user.sync"]).await;
    let held_role = key_writer
        .send(
            Method::POST,
            "/v1/api-keys",
            Some(json!({"roleId": syncer_role})),
        )
        .await;
    assert_eq!(held_role.status, StatusCode::CREATED, "{}", held_role.body);

    // STS client mappings.
    app.tenant("sts").await;
    let sts_writer = Caller::new(&app, "sts.write sts.read user.read").await;
    let mapping = |permissions: &str| json!({"clientId": format!("c-{}", permissions.len()), "idpTenantId": "sts", "permissions": permissions});
    let refused = sts_writer
        .send(Method::POST, "/v1/sts-clients", Some(mapping("read write")))
        .await;
    assert_not_held(&refused, "/v1/sts-clients", &["read", "write"]);
    assert_eq!(
        app.get("/v1/sts-clients").await.body,
        json!([]),
        "nothing was mapped"
    );
    let allowed = sts_writer
        .send(Method::POST, "/v1/sts-clients", Some(mapping("user.read")))
        .await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{}", allowed.body);
}

async fn roles_of_nexus_give_only_what_their_giver_holds(app: TestApp) {
    let user = app.user().await;
    let role_writer = Caller::new(&app, "role.write role.read user.read").await;
    let admins = role(&app, "admins", API_AUDIENCE, &["read", "write"]).await;

    // Creating a role of Nexus's audience with more than the creator holds.
    let created = role_writer
        .send(
            Method::POST,
            "/v1/roles",
            Some(json!({"name": "writers", "audience": API_AUDIENCE, "permissions": ["user.write", "user.read"]})),
        )
        .await;
    assert_not_held(&created, "/v1/roles", &["user.write"]);
    // Roles of other APIs are not Nexus's business.
    let billing = role_writer
        .send(
            Method::POST,
            "/v1/roles",
            Some(json!({"name": "billing-admins", "audience": "https://billing.example.com", "permissions": ["write"]})),
        )
        .await;
    assert_eq!(billing.status, StatusCode::CREATED, "{}", billing.body);
    let billing = billing.body["id"].as_str().unwrap().to_owned();
    let readers = role_writer
        .send(
            Method::POST,
            "/v1/roles",
            Some(
                json!({"name": "readers", "audience": API_AUDIENCE, "permissions": ["user.read"]}),
            ),
        )
        .await;
    assert_eq!(readers.status, StatusCode::CREATED, "{}", readers.body);
    let readers = readers.body["id"].as_str().unwrap().to_owned();

    // Giving roles to a user.
    let roles_path = format!("/v1/users/{user}/roles");
    let refused = role_writer
        .send(
            Method::PUT,
            &roles_path,
            Some(json!({"value": [readers, admins]})),
        )
        .await;
    assert_not_held(&refused, &roles_path, &["read", "write"]);
    let held = app.get(&format!("/v1/users/{user}")).await.body["roles"].clone();
    assert_eq!(held, json!([]), "nothing was assigned");
    let given = role_writer
        .send(
            Method::PUT,
            &roles_path,
            Some(json!({"value": [readers, billing]})),
        )
        .await;
    assert_eq!(given.status, StatusCode::NO_CONTENT, "{}", given.body);

    // Changing what a role of Nexus's audience gives.
    let readers_path = format!("/v1/roles/{readers}");
    let widened = role_writer
        .send(
            Method::PATCH,
            &readers_path,
            Some(json!({"permissions": ["user.read", "tenant.write"]})),
        )
        .await;
    assert_not_held(&widened, &readers_path, &["tenant.write"]);
    let billing_path = format!("/v1/roles/{billing}");
    let moved = role_writer
        .send(
            Method::PATCH,
            &billing_path,
            Some(json!({"audience": API_AUDIENCE})),
        )
        .await;
    assert_not_held(&moved, &billing_path, &["write"]);
    let admins_path = format!("/v1/roles/{admins}");
    let renamed = role_writer
        .send(
            Method::PATCH,
            &admins_path,
            Some(json!({"name": "everyone"})),
        )
        .await;
    assert_not_held(&renamed, &admins_path, &["read", "write"]);
    let described = role_writer
        .send(
            Method::PATCH,
            &admins_path,
            Some(json!({"description": "full access"})),
        )
        .await;
    assert_eq!(described.status, StatusCode::OK, "{}", described.body);
    let admins_now = app.get(&admins_path).await.body;
    assert_eq!(admins_now["name"], "admins");
    assert_eq!(admins_now["permissions"][0]["code"], "read");
    assert_eq!(admins_now["permissions"][1]["code"], "write");
    assert_eq!(admins_now["permissions"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get(&billing_path).await.body["audience"],
        "https://billing.example.com"
    );

    // Mapping an IdP group to a role gives it to every member of the group.
    let map = json!({"groupName": "Everyone", "azoConnectionId": "corp-ad"});
    let maps_path = format!("/v1/roles/{admins}/connection-maps");
    let mapped = role_writer
        .send(Method::POST, &maps_path, Some(map.clone()))
        .await;
    assert_not_held(&mapped, &maps_path, &["read", "write"]);
    assert_eq!(
        app.get(&format!("{maps_path}?$count=true")).await.body["@odata.count"],
        0
    );
    let readers_maps = format!("/v1/roles/{readers}/connection-maps");
    let allowed = role_writer
        .send(Method::POST, &readers_maps, Some(map))
        .await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{}", allowed.body);
}

async fn a_membership_role_is_a_grant(app: TestApp) {
    let user = app.user().await;
    let organization = app.organization("grants").await["id"].clone();
    // Organization administrators hold the role of Nexus's audience of that name.
    role(
        &app,
        "Organization-Admin",
        API_AUDIENCE,
        &["organization.write", "role.write"],
    )
    .await;
    let org_writer = Caller::new(&app, "organization.write organization.read").await;
    let members = format!("/v1/organizations/{organization}/members");
    let admin = org_writer
        .send(
            Method::POST,
            &members,
            Some(json!({"userId": user, "isMfaRequired": false, "makeAdmin": true})),
        )
        .await;
    assert_not_held(&admin, &members, &["role.write"]);
    assert_eq!(
        app.get(&format!("{members}?$count=true")).await.body["@odata.count"],
        0
    );
    let member = org_writer
        .send(
            Method::POST,
            &members,
            Some(json!({"userId": user, "isMfaRequired": false})),
        )
        .await;
    assert_eq!(member.status, StatusCode::CREATED, "{}", member.body);
}

async fn only_roles_of_nexus_audience_count(app: TestApp) {
    let billing = role(&app, "billing", "https://billing.example.com", &["write"]).await;
    let refused = app.post("/v1/api-keys", json!({"roleId": billing})).await;
    assert_problem(&refused, 422, "/v1/api-keys");
    assert!(refused.body["errors"]["roleId"][0]
        .as_str()
        .unwrap()
        .contains("https://billing.example.com"));

    // A key whose role moves to another audience keeps only its own permissions.
    let writers = role(&app, "writers", API_AUDIENCE, &["user.write", "user.read"]).await;
    let created = app
        .post(
            "/v1/api-keys",
            json!({"roleId": writers, "permissions": "tenant.read"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let moved = app
        .patch(
            &format!("/v1/roles/{writers}"),
            json!({"audience": "https://billing.example.com"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let headers = [(
        "authorization",
        basic(created.body["credential"].as_str().unwrap()),
    )];
    let users = app
        .request_as(Method::GET, "/v1/users", &headers, None)
        .await;
    assert_problem(&users, 403, "/v1/users");
    let tenants = app
        .request_as(Method::GET, "/v1/idp_tenants", &headers, None)
        .await;
    assert_eq!(tenants.status, StatusCode::OK, "{}", tenants.body);
}
