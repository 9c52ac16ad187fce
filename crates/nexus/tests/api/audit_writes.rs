//! Every write operation of the served OpenAPI document leaves exactly one
//! audit event, with the right actor, request, resource and change; a write
//! that fails leaves none; a login records only what it changes.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::dns_zone::DnsZone;
use crate::support::{basic, both_backends, TestApp, API_AUDIENCE};
use crate::tokens::{jwks_server, jwt_tenant, now, sign, token_headers, token_tenant};

both_backends!(
    every_write_operation_records_one_event,
    a_login_records_only_what_it_changes,
    a_failed_write_records_nothing,
    a_token_caller_is_recorded_as_the_user,
);

/// What a case expects of a field's value in the event.
enum Is {
    Value(Value),
    /// Any value but null (a timestamp the server chooses).
    Set,
}

/// A sender's headers, and the actor and actor type its events name.
type Sender = (Vec<(&'static str, String)>, String, &'static str);

/// One write, set up and ready to send, and the event it must leave.
struct Write {
    method: Method,
    path: String,
    body: Option<Value>,
    resource_type: &'static str,
    /// The resource id; `None`: the `id` the write answers with.
    resource_id: Option<String>,
    /// A field the event must record as changed, from `before` to `after`.
    field: String,
    before: Value,
    after: Is,
    /// Values that must appear nowhere in the event (secrets).
    hidden: Vec<String>,
    /// Who sends the write, when not the writer key: a user's token
    /// headers and the user's id.
    by_user: Option<(Vec<(&'static str, String)>, String)>,
    /// Who sends the write when it is neither the writer key nor a user:
    /// its headers, and the actor and actor type the event names.
    by_other: Option<Sender>,
    /// The operation the event records, when not the OpenAPI operation id.
    recorded_as: Option<&'static str>,
}

impl Write {
    fn new(method: Method, path: impl Into<String>, body: Option<Value>) -> Self {
        Write {
            method,
            path: path.into(),
            body,
            resource_type: "",
            resource_id: None,
            field: String::new(),
            before: Value::Null,
            after: Is::Set,
            hidden: Vec::new(),
            by_user: None,
            by_other: None,
            recorded_as: None,
        }
    }

    fn by_other(
        mut self,
        headers: Vec<(&'static str, String)>,
        actor: &str,
        actor_type: &'static str,
    ) -> Self {
        self.by_other = Some((headers, actor.to_owned(), actor_type));
        self
    }

    fn recorded_as(mut self, operation: &'static str) -> Self {
        self.recorded_as = Some(operation);
        self
    }

    fn by_user(mut self, headers: Vec<(&'static str, String)>, user: String) -> Self {
        self.by_user = Some((headers, user));
        self
    }

    fn on(mut self, resource_type: &'static str, resource_id: Option<String>) -> Self {
        self.resource_type = resource_type;
        self.resource_id = resource_id;
        self
    }

    fn changes(mut self, field: impl Into<String>, before: Value, after: Is) -> Self {
        self.field = field.into();
        self.before = before;
        self.after = after;
        self
    }

    fn hiding(mut self, secrets: &[&str]) -> Self {
        self.hidden = secrets.iter().map(|s| (*s).to_owned()).collect();
        self
    }
}

fn is(value: Value) -> Is {
    Is::Value(value)
}

/// The id of the newest event (0 when there is none).
async fn newest_event(app: &TestApp) -> i64 {
    let reply = app.get("/v1/audit-events?$orderby=id desc&$top=1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["value"][0]["id"].as_i64().unwrap_or(0)
}

/// The events recorded after event `since`, oldest first.
async fn events_since(app: &TestApp, since: i64) -> Vec<Value> {
    let reply = app.get("/v1/audit-events?$orderby=id desc&$top=50").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut events: Vec<Value> = reply.body["value"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|e| e["id"].as_i64().expect("an id") > since)
        .cloned()
        .collect();
    events.reverse();
    events
}

fn id_of(reply: &Value) -> String {
    // An organization's domain names its id `domainId`.
    let id = match &reply["id"] {
        Value::Null => &reply["domainId"],
        id => id,
    };
    match id {
        Value::String(id) => id.clone(),
        Value::Number(id) => id.to_string(),
        _ => panic!("no id in {reply}"),
    }
}

/// Fixtures made with the admin key before a case's write.
struct Setup<'a> {
    app: &'a TestApp,
    n: u32,
    /// The IdP tenant on the Auth0 simulator, made at the first use.
    sim: Option<crate::sim_tenant::Tenant>,
    /// The DNS zone the server verifies domains against.
    dns: Option<&'a DnsZone>,
}

impl Setup<'_> {
    /// The IdP tenant `sim`, on the Auth0 simulator.
    async fn sim(&mut self) -> &crate::sim_tenant::Tenant {
        if self.sim.is_none() {
            self.sim = Some(crate::sim_tenant::tenant(self.app, 100).await);
        }
        self.sim.as_ref().expect("made above")
    }

    /// A user whose Auth0 database account Nexus created on the simulator.
    async fn provisioned_user(&mut self) -> String {
        self.sim().await;
        let email = format!("{}@example.com", self.unique("audit-account-"));
        let (user, azo) = crate::sim_tenant::provisioned_user(self.app, &email).await;
        let sim = self.sim.as_ref().expect("made above");
        crate::sim_tenant::eventually_linked(sim, &azo, &user).await;
        user
    }

    /// A user of the simulator's tenant signed in there: its id, its
    /// e-mail address and the headers that call Nexus as it.
    async fn sim_user(&mut self) -> (String, String, Vec<(&'static str, String)>) {
        if self.sim.is_none() {
            self.sim = Some(crate::sim_tenant::tenant(self.app, 100).await);
        }
        let email = format!("{}@example.com", self.unique("audit-mfa-"));
        let sim = self.sim.as_ref().expect("made above");
        let (user, _, headers) = crate::mfa_enrollment::signed_in(self.app, sim, &email).await;
        (user, email, headers)
    }

    fn unique(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}{}", self.n)
    }

    async fn created(&self, path: &str, body: Value) -> Value {
        let reply = self.app.post(path, body).await;
        assert!(reply.status.is_success(), "{path}: {}", reply.body);
        reply.body
    }

    async fn put(&self, path: &str, body: Value) -> Value {
        let reply = self.app.put(path, body).await;
        assert!(reply.status.is_success(), "{path}: {}", reply.body);
        reply.body
    }

    /// A tenant (optionally with Management credentials); its numeric id.
    async fn tenant(&mut self, secret: Option<&str>) -> i64 {
        let name = self.unique("audit-t");
        let mut body = json!({"name": name, "azoTenantName": format!("eci-{name}"),
            "fqdn": format!("{name}.us.auth0.com")});
        if let Some(secret) = secret {
            body["managementClientId"] = json!("m2m-client");
            body["managementClientSecret"] = json!(secret);
        }
        self.created("/v1/idp_tenants", body).await["id"]
            .as_i64()
            .unwrap()
    }

    /// A domain in the DNS zone, of a new organization: (its path, the
    /// organization's id, its id, the domain).
    async fn domain(&mut self) -> (String, i64, String, String) {
        let organization = self.organization().await;
        let domain = crate::dns_zone::domain("audit");
        let collection = format!("/v1/organizations/{organization}/domains");
        let created = self
            .created(
                &collection,
                json!({"domain": domain, "verificationMethod": "DnsTxt", "authenticationMethod": "Ad"}),
            )
            .await;
        let id = id_of(&created);
        (format!("{collection}/{id}"), organization, id, domain)
    }

    async fn product(&mut self) -> i64 {
        let name = self.unique("audit-product-");
        self.created(
            "/v1/products",
            json!({"name": name, "displayName": "Audit"}),
        )
        .await["id"]
            .as_i64()
            .unwrap()
    }

    async fn application(&mut self) -> i64 {
        let product = self.product().await;
        self.created(
            "/v1/applications",
            json!({"productId": product, "name": "web", "displayName": "Web"}),
        )
        .await["id"]
            .as_i64()
            .unwrap()
    }

    /// An application deployed to a new organization under its
    /// subscription: (the deployment's id, the organization's id).
    async fn deployment(&mut self) -> (i64, i64) {
        let product = self.product().await;
        let application = self
            .created(
                "/v1/applications",
                json!({"productId": product, "name": "web", "displayName": "Web"}),
            )
            .await;
        let organization = self.organization().await;
        let subscription = self
            .created(
                "/v1/subscriptions",
                json!({"organizationId": organization, "productId": product}),
            )
            .await;
        let deployment = self
            .created(
                "/v1/application-deployments",
                json!({"applicationId": application["id"], "subscriptionId": subscription["id"],
                    "name": "audit"}),
            )
            .await;
        (id_of(&deployment).parse().unwrap(), organization)
    }

    async fn organization(&mut self) -> i64 {
        let name = self.unique("audit-org-");
        self.created(
            "/v1/organizations",
            json!({"name": name, "displayName": "Audit Inc.", "crmAccountId": "crm-1", "type": "Customer"}),
        )
        .await["id"]
            .as_i64()
            .unwrap()
    }

    /// A user linked on connection `corp-ad` of a tenant of its own:
    /// (user id, tenant id).
    async fn linked_user(&mut self) -> (String, i64) {
        let (user, tenant, _) = self.linked_account().await;
        (user, tenant)
    }

    /// `linked_user`, and the Auth0 id of its account: (user id, tenant id,
    /// Auth0 user id).
    async fn linked_account(&mut self) -> (String, i64, String) {
        let tenant = self.tenant(None).await;
        let organization = self.organization().await;
        let azo_user_id = self.unique("ad|audit-");
        let user = self
            .created(
                "/v1/users",
                json!({"authenticationMethod": "Ad", "displayName": "Audit User",
                    "idpTenantId": tenant.to_string(), "organization": organization.to_string(),
                    "idpMetadata": {"azoUserId": azo_user_id, "azoConnectionId": "corp-ad"}}),
            )
            .await;
        (id_of(&user), tenant, azo_user_id)
    }

    /// A Database user of a tenant whose tokens a JWKS on loopback verifies:
    /// (user id, headers that call as the user).
    async fn signed_in_user(&mut self) -> (String, Vec<(&'static str, String)>) {
        let jwks = jwks_server().await;
        let tenant = token_tenant(self.app, &jwks, &self.unique("audit-jwt")).await;
        let organization = self.organization().await;
        let user = self
            .created(
                "/v1/users",
                json!({"authenticationMethod": "Database", "displayName": "Audit User",
                    "idpTenantId": id_of(&tenant), "organization": organization.to_string(),
                    "idpMetadata": {"azoUserId": "auth0|audited", "azoConnectionId": "db"}}),
            )
            .await;
        let headers = token_headers(self.app, &jwks, "auth0|audited").await;
        (id_of(&user), headers)
    }

    /// A subscription to every user event, at a port where nothing listens.
    async fn webhook(&mut self) -> String {
        let body = json!({"url": "http://127.0.0.1:9/audited", "eventTypes": ["user.*"],
            "secret": WEBHOOK_SECRET});
        id_of(&self.created("/v1/webhooks", body).await)
    }

    async fn role(&mut self) -> String {
        let name = self.unique("audit-role-");
        id_of(
            &self
                .created(
                    "/v1/roles",
                    json!({"name": name, "audience": "https://other.example.com",
                        "description": "for the audit", "permissions": ["report.read"]}),
                )
                .await,
        )
    }
}

/// The case of each write operation: its fixtures, its request, its event.
/// `None` for an operation without a case, which fails the test.
async fn case(setup: &mut Setup<'_>, operation: &str) -> Option<Write> {
    use Method as M;
    let app = setup.app;
    Some(match operation {
        "CreateUser" => {
            let tenant = setup.tenant(None).await;
            let organization = setup.organization().await;
            Write::new(
                M::POST,
                "/v1/users",
                Some(json!({"authenticationMethod": "Federation", "displayName": "Created",
                    "idpTenantId": tenant.to_string(), "organization": organization.to_string()})),
            )
            .on("user", None)
            .changes("displayName", Value::Null, is(json!("Created")))
        }
        "PatchUser" => {
            let user = app.user().await;
            Write::new(
                M::PATCH,
                format!("/v1/users/{user}"),
                Some(json!({"displayName": "Patched"})),
            )
            .on("user", Some(user))
            .changes("displayName", json!("Justin Buchanan"), is(json!("Patched")))
        }
        "SendUserPasswordReset" => {
            let user = setup.provisioned_user().await;
            let client = auth0_sim::DEFAULT_CLIENT_ID;
            Write::new(
                M::POST,
                format!("/v1/users/{user}/password-reset?clientId={client}"),
                None,
            )
            .on("user", Some(user))
            .changes("passwordResetSentFor", Value::Null, is(json!(client)))
        }
        "SendUserEmailVerification" => {
            let user = setup.provisioned_user().await;
            Write::new(M::POST, format!("/v1/users/{user}/email-verification"), None)
                .on("user", Some(user))
                .changes("email-verify-sent-date", Value::Null, Is::Set)
        }
        "UpdateMeProfile" => {
            let (user, headers) = setup.signed_in_user().await;
            Write::new(M::PATCH, "/v1/me", Some(json!({"nickname": "Me"})))
                .on("user", Some(user.clone()))
                .changes("nickname", Value::Null, is(json!("Me")))
                .by_user(headers, user)
        }
        "CreateMfaEnrollment" => {
            let (user, _, headers) = setup.sim_user().await;
            Write::new(M::POST, "/v1/me/mfa-enrollment?isInteractive=true", None)
                .on("user", Some(user.clone()))
                .changes("mfaEnrollmentStatus", Value::Null, is(json!("Pending")))
                .by_user(headers, user)
        }
        "MeVerifyEnrollmentOtp" => {
            let (user, email, headers) = setup.sim_user().await;
            let sim = setup.sim.as_ref().expect("made by sim_user");
            let (mfa_token, secret) = crate::mfa_enrollment::associate(sim, &email).await;
            let otp = crate::mfa_enrollment::authenticator(&secret)
                .generate_current()
                .unwrap();
            let body = json!({"accessToken": mfa_token, "otp": otp});
            Write::new(M::POST, "/v1/me/verify-enrollment-otp", Some(body))
                .on("user", Some(user.clone()))
                .changes("mfaEnrollmentStatus", Value::Null, is(json!("Enrolled")))
                .by_user(headers, user)
                .hiding(&[&mfa_token])
        }
        "DeleteUser" => {
            let user = app.user().await;
            Write::new(M::DELETE, format!("/v1/users/{user}"), None)
                .on("user", Some(user))
                .changes("displayName", json!("Justin Buchanan"), is(Value::Null))
        }
        "SyncUserIdentity" => {
            let (user, tenant) = setup.linked_user().await;
            Write::new(
                M::PUT,
                format!("/v1/users/{user}/$sync"),
                Some(json!({"audience": API_AUDIENCE, "attributes": [{"key": "dept", "value": "eng"}],
                    "connection": {"connectionId": "corp-ad", "groups": ["Staff"]}})),
            )
            .on("user", Some(user))
            .changes(
                format!("identities.{tenant}.groups.Staff"),
                json!(false),
                is(json!(true)),
            )
        }
        "SyncAccount" => {
            // A linked account; the first login of an unknown one is in jit.rs.
            let (user, tenant, azo) = setup.linked_account().await;
            Write::new(
                M::PUT,
                format!(
                    "/v1/idp_tenants/{tenant}/accounts/{}/$sync",
                    azo.replace('|', "%7C")
                ),
                Some(json!({"audience": API_AUDIENCE, "attributes": [],
                    "connection": {"connectionId": "corp-ad", "groups": ["Staff"]}})),
            )
            .on("user", Some(user))
            .changes(
                format!("identities.{tenant}.groups.Staff"),
                json!(false),
                is(json!(true)),
            )
        }
        "CreateCustomUpn" => {
            let user = app.user().await;
            let value = format!("{}@corp.example.com", setup.unique("created"));
            Write::new(
                M::POST,
                format!("/v1/users/{user}/custom-upns"),
                Some(json!({"clientUpnKey": "rdp", "customUpnValue": value})),
            )
            .on("customUpn", None)
            .changes("customUpnValue", Value::Null, is(json!(value)))
        }
        "PatchCustomUpn" | "DeleteCustomUpn" => {
            let user = app.user().await;
            let path = format!("/v1/users/{user}/custom-upns");
            let old = format!("{}@corp.example.com", setup.unique("old"));
            let new = format!("{}@corp.example.com", setup.unique("new"));
            let upn = id_of(
                &setup
                    .created(&path, json!({"clientUpnKey": "rdp", "customUpnValue": old}))
                    .await,
            );
            let path = format!("{path}/{upn}");
            let before = json!(old);
            if operation == "PatchCustomUpn" {
                Write::new(M::PATCH, path, Some(json!({"customUpnValue": new})))
                    .on("customUpn", Some(upn))
                    .changes("customUpnValue", before, is(json!(new)))
            } else {
                Write::new(M::DELETE, path, None)
                    .on("customUpn", Some(upn))
                    .changes("customUpnValue", before, is(Value::Null))
            }
        }
        "LinkUserToTenant" => {
            let user = app.user().await;
            let tenant = setup.tenant(None).await;
            Write::new(
                M::PUT,
                format!("/v1/users/{user}/idp_tenants/{tenant}"),
                Some(json!({"strategy": "ad", "azoUserId": "ad|linked", "azoConnectionId": "corp-ad"})),
            )
            .on("identity", Some(format!("{user}/{tenant}")))
            .changes("azoUserId", Value::Null, is(json!("ad|linked")))
        }
        "UnlinkUserFromTenant" => {
            let (user, tenant) = setup.linked_user().await;
            Write::new(
                M::DELETE,
                format!("/v1/users/{user}/idp_tenants/{tenant}"),
                None,
            )
            .on("identity", Some(format!("{user}/{tenant}")))
            .changes("azoConnectionId", json!("corp-ad"), is(Value::Null))
        }
        "StartImport" => {
            // A dry run: the import the worker then runs writes nothing
            // that could be counted with a later case.
            setup.sim().await;
            let body = json!({"organization": "acme"});
            Write::new(M::POST, "/v1/idp_tenants/sim/imports?dryRun=true", Some(body))
                .on("import", None)
                .changes("state", Value::Null, is(json!("Queued")))
        }
        "ReceiveLogEvents" => {
            // The tenant's log stream reports an MFA enrollment.
            const TOKEN: &str = "audit-log-stream-token-1";
            setup.sim().await;
            let set = app
                .patch("/v1/idp_tenants/sim", json!({"logStreamToken": TOKEN}))
                .await;
            assert_eq!(set.status, StatusCode::OK, "{}", set.body);
            let sim = setup.sim.as_ref().expect("made above");
            let (user, azo) =
                crate::sim_tenant::linked_user(app, sim, "audited-stream@example.com").await;
            crate::sim_tenant::eventually_linked(sim, &azo, &user).await;
            let events = json!([{"log_id": "audit-1", "data": {"type": "gd_enrollment_complete", "user_id": azo}}]);
            Write::new(M::POST, "/v1/idp_tenants/sim/log-stream", Some(events))
                .by_other(
                    vec![("authorization", format!("Bearer {TOKEN}"))],
                    "auth0-log-stream",
                    "system",
                )
                .recorded_as("logStreamMfaEnrolled")
                .on("user", Some(user))
                .changes("mfaEnrollmentStatus", Value::Null, is(json!("Enrolled")))
                .hiding(&[TOKEN])
        }
        "StartReconciliation" => {
            // The reconciliation the worker then runs finds the simulator's
            // linked accounts in step: it records pushes at most, which
            // are not audited, and marks nothing.
            setup.sim().await;
            Write::new(M::POST, "/v1/idp_tenants/sim/reconciliations", None)
                .on("reconciliation", None)
                .changes("state", Value::Null, is(json!("Queued")))
        }
        "UpdateConnectionEnabledClients" => {
            let sim = setup.sim().await;
            let seeded = reqwest::Client::new()
                .post(format!("{}/__sim/clients", sim.sim.base_url()))
                .json(&json!({"client_id": "audited-app", "client_secret": "audited-app-secret"}))
                .send()
                .await
                .unwrap();
            assert_eq!(seeded.status(), StatusCode::NO_CONTENT);
            let tenant = app.get("/v1/idp_tenants/sim").await.body["id"].clone();
            let connection = auth0_sim::DEFAULT_CONNECTION_ID;
            Write::new(
                M::PATCH,
                format!("/v1/tenants/sim/connections/{connection}/clients"),
                Some(json!({"clientId": "audited-app", "enabled": true})),
            )
            .on("connection", Some(format!("{tenant}/{connection}")))
            .changes("enabledClients.audited-app", json!(false), is(json!(true)))
        }
        "CreateIdpTenant" => Write::new(
            M::POST,
            "/v1/idp_tenants",
            Some(json!({"name": "created-t", "azoTenantName": "eci-created", "fqdn": "created.us.auth0.com",
                "managementClientId": "m2m", "managementClientSecret": "created-secret-value-1"})),
        )
        .on("idpTenant", None)
        .changes("managementClientSecret", Value::Null, is(json!("[redacted]")))
        .hiding(&["created-secret-value-1"]),
        "UpdateIdpTenant" => {
            let tenant = setup.tenant(Some("first-secret-value-1")).await;
            Write::new(
                M::PATCH,
                format!("/v1/idp_tenants/{tenant}"),
                Some(json!({"managementClientId": "m2m-client", "managementClientSecret": "second-secret-value-2"})),
            )
            .on("idpTenant", Some(tenant.to_string()))
            .changes(
                "managementClientSecret",
                json!("[redacted]"),
                is(json!("[redacted]")),
            )
            .hiding(&["first-secret-value-1", "second-secret-value-2"])
        }
        "DeleteIdpTenant" => {
            let tenant = setup.tenant(Some("deleted-secret-value-1")).await;
            Write::new(M::DELETE, format!("/v1/idp_tenants/{tenant}"), None)
                .on("idpTenant", Some(tenant.to_string()))
                .changes("managementClientId", json!("m2m-client"), is(Value::Null))
                .hiding(&["deleted-secret-value-1"])
        }
        "CreateOrganization" => Write::new(
            M::POST,
            "/v1/organizations",
            Some(json!({"name": "created-org", "displayName": "Created Inc.", "crmAccountId": "crm-2", "type": "Partner"})),
        )
        .on("organization", None)
        .changes("displayName", Value::Null, is(json!("Created Inc."))),
        "UpdateOrganization" => {
            let organization = setup.organization().await;
            Write::new(
                M::PATCH,
                format!("/v1/organizations/{organization}"),
                Some(json!({"displayName": "Renamed Inc."})),
            )
            .on("organization", Some(organization.to_string()))
            .changes("displayName", json!("Audit Inc."), is(json!("Renamed Inc.")))
        }
        "DeleteOrganization" => {
            let organization = setup.organization().await;
            Write::new(M::DELETE, format!("/v1/organizations/{organization}"), None)
                .on("organization", Some(organization.to_string()))
                .changes("displayName", json!("Audit Inc."), is(Value::Null))
        }
        "UpdateOrganizationMfa" => {
            let organization = setup.organization().await;
            Write::new(
                M::PATCH,
                format!("/v1/organizations/{organization}/mfa"),
                Some(json!({"isMfaRequired": true})),
            )
            .on("organization", Some(organization.to_string()))
            .changes("isMfaRequired", json!(false), is(json!(true)))
        }
        "CreateProduct" => {
            let name = setup.unique("audit-product-");
            Write::new(
                M::POST,
                "/v1/products",
                Some(json!({"name": name, "displayName": "Audit"})),
            )
            .on("product", None)
            .changes("name", Value::Null, is(json!(name)))
        }
        "UpdateProduct" => {
            let product = setup.product().await;
            Write::new(
                M::PATCH,
                format!("/v1/products/{product}"),
                Some(json!({"publicMetadata": {"tier": "gold"}})),
            )
            .on("product", Some(product.to_string()))
            .changes("publicMetadata.tier", Value::Null, is(json!("gold")))
        }
        "DeleteProduct" => {
            let product = setup.product().await;
            Write::new(M::DELETE, format!("/v1/products/{product}"), None)
                .on("product", Some(product.to_string()))
                .changes("displayName", json!("Audit"), is(Value::Null))
        }
        "CreateApplication" => {
            let product = setup.product().await;
            let tenant = setup.tenant(None).await;
            Write::new(
                M::POST,
                "/v1/applications",
                Some(json!({"productId": product, "name": "web", "displayName": "Web",
                    "clients": [{"idpTenantId": tenant, "clientId": "audit-web"}]})),
            )
            .on("application", None)
            .changes("productId", Value::Null, is(json!(product)))
        }
        "UpdateApplication" => {
            let application = setup.application().await;
            Write::new(
                M::PATCH,
                format!("/v1/applications/{application}"),
                Some(json!({"description": "audited"})),
            )
            .on("application", Some(application.to_string()))
            .changes("description", Value::Null, is(json!("audited")))
        }
        "DeleteApplication" => {
            let application = setup.application().await;
            Write::new(M::DELETE, format!("/v1/applications/{application}"), None)
                .on("application", Some(application.to_string()))
                .changes("displayName", json!("Web"), is(Value::Null))
        }
        "CreateApplicationDeployment" => {
            let (deployment, _) = setup.deployment().await;
            let existing = setup
                .app
                .get(&format!("/v1/application-deployments/{deployment}"))
                .await;
            Write::new(
                M::POST,
                "/v1/application-deployments",
                Some(json!({"applicationId": existing.body["applicationId"],
                    "subscriptionId": existing.body["subscriptionId"], "name": "second"})),
            )
            .on("applicationDeployment", None)
            .changes("name", Value::Null, is(json!("second")))
        }
        "UpdateApplicationDeployment" => {
            let (deployment, _) = setup.deployment().await;
            Write::new(
                M::PATCH,
                format!("/v1/application-deployments/{deployment}"),
                Some(json!({"status": "Suspended"})),
            )
            .on("applicationDeployment", Some(deployment.to_string()))
            .changes("status", json!("Active"), is(json!("Suspended")))
        }
        "DeleteApplicationDeployment" => {
            let (deployment, _) = setup.deployment().await;
            Write::new(
                M::DELETE,
                format!("/v1/application-deployments/{deployment}"),
                None,
            )
            .on("applicationDeployment", Some(deployment.to_string()))
            .changes("name", json!("audit"), is(Value::Null))
        }
        "CreateApplicationDeploymentUsers" => {
            let (deployment, organization) = setup.deployment().await;
            let (user, _) = setup.linked_user().await;
            setup
                .created(
                    &format!("/v1/organizations/{organization}/members"),
                    json!({"userId": user, "isMfaRequired": false, "isGuest": false}),
                )
                .await;
            Write::new(
                M::POST,
                format!("/v1/application-deployments/{deployment}/users"),
                Some(json!({"userId": user})),
            )
            .on("applicationDeploymentUser", Some(format!("{deployment}/{user}")))
            .changes("isActive", Value::Null, is(json!(true)))
        }
        "DeleteApplicationDeploymentUser" => {
            let (deployment, _) = setup.deployment().await;
            let (user, _) = setup.linked_user().await;
            setup
                .created(
                    &format!("/v1/application-deployments/{deployment}/users"),
                    json!({"userId": user, "addToOrganization": true}),
                )
                .await;
            Write::new(
                M::DELETE,
                format!("/v1/application-deployments/{deployment}/users/{user}"),
                None,
            )
            .on("applicationDeploymentUser", Some(format!("{deployment}/{user}")))
            .changes("isActive", json!(true), is(Value::Null))
        }
        "CreateOrganizationAlias" => {
            let organization = setup.organization().await;
            Write::new(
                M::POST,
                format!("/v1/organizations/{organization}/aliases/crm"),
                Some(json!({"systemId": "A-1"})),
            )
            .on("organizationAlias", Some(format!("{organization}/crm/A-1")))
            .changes("systemId", Value::Null, is(json!("A-1")))
        }
        "DeleteOrganizationAlias" => {
            let organization = setup.organization().await;
            setup
                .created(
                    &format!("/v1/organizations/{organization}/aliases/crm"),
                    json!({"systemId": "D-1"}),
                )
                .await;
            Write::new(
                M::DELETE,
                format!("/v1/organizations/{organization}/aliases/crm/D-1"),
                None,
            )
            .on("organizationAlias", Some(format!("{organization}/crm/D-1")))
            .changes("systemId", json!("D-1"), is(Value::Null))
        }
        "CreateOrganizationDomain" => {
            let organization = setup.organization().await;
            Write::new(
                M::POST,
                format!("/v1/organizations/{organization}/domains"),
                Some(json!({"domain": "Audit.Example.com", "verificationMethod": "DnsTxt", "authenticationMethod": "Federation"})),
            )
            .on("organizationDomain", Some(format!("{organization}/")))
            .changes("domain", Value::Null, is(json!("audit.example.com")))
        }
        "DeleteOrganizationDomain" => {
            let (path, organization, id, domain) = setup.domain().await;
            Write::new(M::DELETE, path, None)
                .on("organizationDomain", Some(format!("{organization}/{id}")))
                .changes("domain", json!(domain), is(Value::Null))
        }
        "GenerateOrganizationDomainVerificationCode" => {
            let (path, organization, id, _) = setup.domain().await;
            Write::new(M::POST, format!("{path}/generate-code"), None)
                .on("organizationDomain", Some(format!("{organization}/{id}")))
                .changes("verificationCode", Value::Null, Is::Set)
        }
        "VerifyOrganizationDomain" => {
            let (path, organization, id, domain) = setup.domain().await;
            let code = setup
                .created(&format!("{path}/generate-code"), Value::Null)
                .await["verificationCode"]
                .as_str()
                .unwrap()
                .to_owned();
            let zone = setup.dns.expect("the audit's DNS zone");
            let value = format!("nexus-verification={code}");
            zone.set_txt(&format!("_nexus-verification.{domain}"), &[&value])
                .await;
            Write::new(M::POST, format!("{path}/verify"), None)
                .on("organizationDomain", Some(format!("{organization}/{id}")))
                .changes("isVerified", json!(false), is(json!(true)))
        }
        "AddMember" => {
            let organization = setup.organization().await;
            let user = app.user().await;
            Write::new(
                M::POST,
                format!("/v1/organizations/{organization}/members"),
                Some(json!({"userId": user, "isGuest": true, "isMfaRequired": false})),
            )
            .on("member", Some(format!("{organization}/{user}")))
            .changes("isGuest", Value::Null, is(json!(true)))
        }
        "UpdateMember" => {
            let organization = setup.organization().await;
            let user = app.user().await;
            let path = format!("/v1/organizations/{organization}/members");
            setup
                .created(&path, json!({"userId": user, "isMfaRequired": false}))
                .await;
            Write::new(
                M::PATCH,
                format!("{path}/{user}"),
                Some(json!({"isMfaRequired": true})),
            )
            .on("member", Some(format!("{organization}/{user}")))
            .changes("isMembershipMfaRequired", json!(false), is(json!(true)))
        }
        "InviteOrganizationMember" => {
            // An existing user, added: the membership's event.
            let organization = setup.organization().await;
            let email = format!("{}@example.com", setup.unique("audit-invited-"));
            let user = app.user().await;
            let patched = app.patch(&format!("/v1/users/{user}"), json!({"emailAddress": email})).await;
            assert!(patched.status.is_success(), "{}", patched.body);
            Write::new(
                M::POST,
                format!("/v1/organizations/{organization}/members/invite"),
                Some(json!({"emailAddress": email.to_uppercase()})),
            )
            .on("member", Some(format!("{organization}/{user}")))
            .changes("userId", Value::Null, is(json!(user)))
        }
        "ImportOrganizationMembers" => {
            // No rows: the worker then writes nothing a later case could count.
            let organization = setup.organization().await;
            let body = json!({"id": setup.unique("audit-import-"), "importDate": "2026-01-02T03:04:05Z",
                "importFilename": "members.csv", "importingUserId": "u1",
                "organizationId": organization, "newMembers": []});
            Write::new(
                M::POST,
                format!("/v1/organizations/{organization}/members/import"),
                Some(body),
            )
            .on("memberImport", None)
            .changes("status", Value::Null, is(json!("Queued")))
        }
        "RemoveMember" | "RemoveMemberRoles" => {
            let organization = setup.organization().await;
            let user = app.user().await;
            let path = format!("/v1/organizations/{organization}/members");
            setup
                .created(&path, json!({"userId": user, "makeAdmin": true, "isMfaRequired": false}))
                .await;
            let write = if operation == "RemoveMember" {
                Write::new(M::DELETE, format!("{path}/{user}"), None).changes(
                    "userId",
                    json!(user),
                    is(Value::Null),
                )
            } else {
                Write::new(M::DELETE, format!("{path}/{user}/roles"), None).changes(
                    "roles",
                    json!(["organization-admin"]),
                    is(json!([])),
                )
            };
            write.on("member", Some(format!("{organization}/{user}")))
        }
        "CreateRole" => Write::new(
            M::POST,
            "/v1/roles",
            Some(json!({"name": "created-role", "audience": "https://other.example.com", "permissions": ["report.read"]})),
        )
        .on("role", None)
        .changes("name", Value::Null, is(json!("created-role"))),
        "UpdateRole" | "DeleteRole" => {
            let role = setup.role().await;
            let path = format!("/v1/roles/{role}");
            let before = json!("for the audit");
            if operation == "UpdateRole" {
                Write::new(M::PATCH, path, Some(json!({"description": "changed"})))
                    .on("role", Some(role))
                    .changes("description", before, is(json!("changed")))
            } else {
                Write::new(M::DELETE, path, None)
                    .on("role", Some(role))
                    .changes("description", before, is(Value::Null))
            }
        }
        "AddUserRoles" | "RemoveUserRole" => {
            let role = setup.role().await;
            let user = app.user().await;
            let held = json!([{"id": role, "name": format!("audit-role-{}", setup.n),
                "description": "for the audit", "expires": null}]);
            let path = format!("/v1/users/{user}/roles");
            if operation == "AddUserRoles" {
                Write::new(M::PUT, path, Some(json!({"value": [role]})))
                    .on("user", Some(user))
                    .changes("roles", json!([]), is(held))
            } else {
                let assigned = app.put(&path, json!({"value": [role]})).await;
                assert_eq!(assigned.status, StatusCode::NO_CONTENT, "{}", assigned.body);
                Write::new(M::DELETE, format!("{path}/{role}"), None)
                    .on("user", Some(user))
                    .changes("roles", held, is(json!([])))
            }
        }
        "CreateConnectionMap" => {
            let role = setup.role().await;
            Write::new(
                M::POST,
                format!("/v1/roles/{role}/connection-maps"),
                Some(json!({"groupName": "Domain Admins", "azoConnectionId": "corp-ad"})),
            )
            // The map's own id is in the answer only: checked below.
            .on("connectionMap", Some(format!("{role}/")))
            .changes("groupName", Value::Null, is(json!("Domain Admins")))
        }
        "DeleteConnectionMap" => {
            let role = setup.role().await;
            let map = setup
                .created(
                    &format!("/v1/roles/{role}/connection-maps"),
                    json!({"groupName": "Domain Admins", "azoConnectionId": "corp-ad"}),
                )
                .await;
            let map = id_of(&map);
            Write::new(
                M::DELETE,
                format!("/v1/roles/{role}/connection-maps/{map}"),
                None,
            )
            .on("connectionMap", Some(format!("{role}/{map}")))
            .changes("groupName", json!("Domain Admins"), is(Value::Null))
        }
        "CreateApiKey" => Write::new(
            M::POST,
            "/v1/api-keys",
            Some(json!({"description": "made for the audit", "permissions": "user.read"})),
        )
        .on("apiKey", None)
        .changes("permissions", Value::Null, is(json!("user.read"))),
        "RevokeApiKey" => {
            let key = app.key("user.read").await;
            let id = key.split(':').next().unwrap().to_owned();
            Write::new(M::DELETE, format!("/v1/api-keys/{id}"), None)
                .on("apiKey", Some(id))
                .changes("revokedAt", Value::Null, Is::Set)
                .hiding(&[key.split(':').nth(1).unwrap()])
        }
        "CreateStsClient" => {
            let tenant = setup.tenant(None).await;
            Write::new(
                M::POST,
                "/v1/sts-clients",
                Some(json!({"clientId": "audited-job", "idpTenantId": tenant.to_string(), "permissions": "user.read"})),
            )
            .on("stsClient", Some("audited-job".to_owned()))
            .changes("permissions", Value::Null, is(json!("user.read")))
        }
        "DeleteStsClient" => {
            let tenant = setup.tenant(None).await;
            setup
                .created(
                    "/v1/sts-clients",
                    json!({"clientId": "deleted-job", "idpTenantId": tenant.to_string(), "permissions": "user.read"}),
                )
                .await;
            Write::new(M::DELETE, "/v1/sts-clients/deleted-job@clients", None)
                .on("stsClient", Some("deleted-job".to_owned()))
                .changes("permissions", json!("user.read"), is(Value::Null))
        }
        "CreateWebhook" => Write::new(
            M::POST,
            "/v1/webhooks",
            Some(json!({"url": "http://127.0.0.1:9/audited", "eventTypes": ["user.*"],
                "secret": WEBHOOK_SECRET})),
        )
        .on("webhook", None)
        .changes("url", Value::Null, is(json!("http://127.0.0.1:9/audited")))
        .hiding(&[WEBHOOK_SECRET]),
        "DeleteWebhook" => {
            let webhook = setup.webhook().await;
            Write::new(M::DELETE, format!("/v1/webhooks/{webhook}"), None)
                .on("webhook", Some(webhook))
                .changes("eventTypes", json!(["user.*"]), is(Value::Null))
                .hiding(&[WEBHOOK_SECRET])
        }
        "RedeliverWebhookDelivery" => {
            let webhook = setup.webhook().await;
            // A change the subscription is told of.
            setup.linked_user().await;
            let deliveries = app.get(&format!("/v1/webhooks/{webhook}/deliveries")).await;
            let delivery = id_of(&deliveries.body["value"][0]);
            Write::new(
                M::POST,
                format!("/v1/webhooks/{webhook}/deliveries/{delivery}/redeliver"),
                None,
            )
            .on("webhook", Some(webhook))
            .changes("redelivered", Value::Null, is(json!(delivery.parse::<i64>().unwrap())))
        }
        "CreateSubscription" => {
            let organization = setup.organization().await;
            let product = subscribed_product(setup).await;
            Write::new(
                M::POST,
                "/v1/subscriptions",
                Some(json!({"organizationId": organization, "productId": product})),
            )
            .on("subscription", None)
            .changes("status", Value::Null, is(json!("Active")))
        }
        "PatchSubscription" => {
            let organization = setup.organization().await;
            let product = subscribed_product(setup).await;
            let subscription = setup
                .created(
                    "/v1/subscriptions",
                    json!({"organizationId": organization, "productId": product}),
                )
                .await;
            let id = id_of(&subscription);
            Write::new(
                M::PATCH,
                format!("/v1/subscriptions/{id}"),
                Some(json!({"status": "Suspended"})),
            )
            .on("subscription", Some(id))
            .changes("status", json!("Active"), is(json!("Suspended")))
        }
        "PutUpsellDependencies" => {
            let product = setup.product().await;
            Write::new(
                M::PUT,
                format!("/v1/products/{product}/upsell-dependencies"),
                Some(json!({"moduleString": "PAYROLL", "pupm": 4.5})),
            )
            .on("upsellModule", Some(format!("{product}/PAYROLL")))
            .changes("pupm", Value::Null, is(json!(4.5)))
        }
        "DeleteUpsellDependency" => {
            let product = setup.product().await;
            setup
                .put(
                    &format!("/v1/products/{product}/upsell-dependencies"),
                    json!({"moduleString": "PAYROLL"}),
                )
                .await;
            Write::new(
                M::DELETE,
                format!("/v1/products/{product}/upsell-dependencies/PAYROLL"),
                None,
            )
            .on("upsellModule", Some(format!("{product}/PAYROLL")))
            .changes("moduleString", json!("PAYROLL"), is(Value::Null))
        }
        "CreateUpsellRequest" => {
            let subscription = upsell_subscription(setup).await;
            Write::new(
                M::POST,
                "/v1/upsell-requests",
                Some(json!({"subscriptionId": subscription, "requestItems": [
                    {"moduleString": "PAYROLL", "requestedAdditionalQuantity": 5}]})),
            )
            .on("upsellRequest", None)
            .changes("status", Value::Null, is(json!("Pending")))
        }
        "PatchUpsellRequest" => {
            let subscription = upsell_subscription(setup).await;
            let request = setup
                .created(
                    "/v1/upsell-requests",
                    json!({"subscriptionId": subscription, "requestItems": [
                        {"moduleString": "PAYROLL", "requestedAdditionalQuantity": 5}]}),
                )
                .await;
            let id = id_of(&request);
            Write::new(
                M::PATCH,
                format!("/v1/upsell-requests/{id}"),
                Some(json!({"status": "Completed"})),
            )
            .on("upsellRequest", Some(id))
            .changes("status", json!("Pending"), is(json!("Completed")))
        }
        _ => return None,
    })
}

/// A subscription of a new organization to a product that declares the
/// upsell module PAYROLL.
async fn upsell_subscription(setup: &mut Setup<'_>) -> i64 {
    let product = setup.product().await;
    setup
        .put(
            &format!("/v1/products/{product}/upsell-dependencies"),
            json!({"moduleString": "PAYROLL"}),
        )
        .await;
    let organization = setup.organization().await;
    setup
        .created(
            "/v1/subscriptions",
            json!({"organizationId": organization, "productId": product}),
        )
        .await["id"]
        .as_i64()
        .unwrap()
}

/// A product to subscribe to, made through the products API.
async fn subscribed_product(setup: &mut Setup<'_>) -> i64 {
    let name = setup.unique("audit-subscribed-");
    let product = setup
        .created(
            "/v1/products",
            json!({"name": name, "displayName": "Subscribed"}),
        )
        .await;
    product["id"].as_i64().expect("a product id")
}

/// The signing secret of the audit's webhooks (never to appear in an event).
const WEBHOOK_SECRET: &str = "whsec_YXVkaXQtd2ViaG9vay1zZWNyZXQtMzI=";

/// Every POST, PUT, PATCH and DELETE of the served document, by operation id.
async fn write_operations(app: &TestApp) -> Vec<String> {
    let document = app.get("/openapi.json").await.body;
    let mut operations = Vec::new();
    for item in document["paths"].as_object().expect("paths").values() {
        for (method, operation) in item.as_object().expect("an item") {
            if ["post", "put", "patch", "delete"].contains(&method.as_str()) {
                operations.push(operation["operationId"].as_str().unwrap().to_owned());
            }
        }
    }
    operations.sort();
    operations
}

async fn every_write_operation_records_one_event(mut app: TestApp) {
    // VerifyOrganizationDomain looks its TXT record up here.
    let zone = DnsZone::start().await;
    app.domains = zone.config(std::time::Duration::from_secs(3600));
    app.restart().await;
    let writer = app.key("read write user.sync user.password").await;
    let writer_id = writer.split(':').next().unwrap().to_owned();
    let operations = write_operations(&app).await;
    assert!(operations.len() >= 29, "{operations:?}");
    let mut setup = Setup {
        app: &app,
        n: 0,
        sim: None,
        dns: Some(&zone),
    };
    for operation in &operations {
        let Some(write) = case(&mut setup, operation).await else {
            panic!("{operation} has no audit case: add one to audit_writes.rs");
        };
        let since = newest_event(&app).await;
        let request_id = format!("audit-{operation}");
        let (mut headers, actor, actor_type) = match (write.by_user, write.by_other) {
            (Some((headers, user)), _) => (headers, user, "user"),
            (None, Some(other)) => other,
            (None, None) => (
                vec![("authorization", basic(&writer))],
                writer_id.clone(),
                "apiKey",
            ),
        };
        headers.push(("x-request-id", request_id.clone()));
        let reply = app
            .request_as(
                write.method.clone(),
                &write.path,
                &headers,
                write.body.as_ref(),
            )
            .await;
        assert!(
            reply.status.is_success(),
            "{operation}: {} {}",
            reply.status,
            reply.body
        );
        let events = events_since(&app, since).await;
        assert_eq!(events.len(), 1, "{operation}: {events:#?}");
        let event = &events[0];
        let resource_id = match write.resource_id {
            // A connection map's id: the role's, then the map's own.
            Some(prefix) if prefix.ends_with('/') => format!("{prefix}{}", id_of(&reply.body)),
            Some(id) => id,
            None => id_of(&reply.body),
        };
        let expected = json!({
            "operation": write.recorded_as.unwrap_or(operation), "actor": actor, "actorType": actor_type,
            "requestId": request_id, "outcome": "success",
            "resourceType": write.resource_type, "resourceId": resource_id,
        });
        for (field, value) in expected.as_object().unwrap() {
            assert_eq!(&event[field], value, "{operation}: {field} of {event:#}");
        }
        let change = &event["changes"][&write.field];
        assert_eq!(
            change["before"], write.before,
            "{operation}: {} of {event:#}",
            write.field
        );
        match write.after {
            Is::Value(after) => assert_eq!(
                change["after"], after,
                "{operation}: {} of {event:#}",
                write.field
            ),
            Is::Set => assert!(
                change["after"].is_string(),
                "{operation}: {} of {event:#}",
                write.field
            ),
        }
        let text = event.to_string();
        for secret in &write.hidden {
            assert!(!text.contains(secret.as_str()), "{operation}: {text}");
        }
        let stamps = ["created", "modified", "createdBy", "modifiedBy"];
        assert!(
            stamps.iter().all(|s| event["changes"].get(s).is_none()),
            "{operation}: {event:#}"
        );
    }
}

async fn a_login_records_only_what_it_changes(app: TestApp) {
    let mut setup = Setup {
        app: &app,
        n: 0,
        sim: None,
        dns: None,
    };
    let (user, tenant) = setup.linked_user().await;
    let path = format!("/v1/users/{user}/$sync");
    let login = |groups: Value, dept: &str| {
        json!({"audience": API_AUDIENCE, "attributes": [{"key": "dept", "value": dept}, {"key": "site", "value": "hq"}],
            "connection": {"connectionId": "corp-ad", "groups": groups}})
    };
    let sync = |body: Value| {
        let (app, path) = (&app, &path);
        async move {
            let reply = app.put(path, body).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
    };

    let since = newest_event(&app).await;
    sync(login(json!(["Staff", "Admins"]), "eng")).await;
    let events = events_since(&app, since).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["operation"], json!("SyncUserIdentity"));
    assert_eq!(events[0]["actor"], json!(app.admin_id));
    assert_eq!(events[0]["resourceType"], json!("user"));
    assert_eq!(events[0]["resourceId"], json!(user));
    let groups = format!("identities.{tenant}.groups");
    assert_eq!(
        events[0]["changes"],
        json!({
            format!("{groups}.Admins"): {"before": false, "after": true},
            format!("{groups}.Staff"): {"before": false, "after": true},
            "attributes.dept": {"before": null, "after": "eng"},
            "attributes.site": {"before": null, "after": "hq"},
        })
    );

    // The same login again changes nothing and records nothing.
    let since = newest_event(&app).await;
    sync(login(json!(["Admins", "Staff"]), "eng")).await;
    assert_eq!(events_since(&app, since).await, Vec::<Value>::new());

    // A changed group and attribute: only they are recorded.
    sync(login(json!(["Staff", "Auditors"]), "ops")).await;
    let events = events_since(&app, since).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(
        events[0]["changes"],
        json!({
            format!("{groups}.Admins"): {"before": true, "after": false},
            format!("{groups}.Auditors"): {"before": false, "after": true},
            "attributes.dept": {"before": "eng", "after": "ops"},
        })
    );
}

async fn a_failed_write_records_nothing(app: TestApp) {
    let organization = app.organization("taken").await;
    let user = app.user().await;
    let since = newest_event(&app).await;
    let failures = [
        (
            Method::PATCH,
            "/v1/roles/nope".to_owned(),
            json!({"description": "x"}),
            404,
        ),
        (
            Method::DELETE,
            format!("/v1/users/{user}/custom-upns/nope"),
            Value::Null,
            404,
        ),
        (
            Method::POST,
            "/v1/organizations".to_owned(),
            json!({"name": "taken", "displayName": "Again", "crmAccountId": "crm-1", "type": "Customer"}),
            409,
        ),
        (
            Method::PUT,
            format!("/v1/users/{user}/roles"),
            json!({"value": ["no-such-role"]}),
            422,
        ),
        (
            Method::PATCH,
            format!("/v1/organizations/{}", organization["id"]),
            json!({"displayName": ""}),
            400,
        ),
    ];
    for (method, path, body, status) in failures {
        let body = (!body.is_null()).then_some(body);
        let reply = app.request(method, &path, body.as_ref()).await;
        assert_eq!(reply.status.as_u16(), status, "{path}: {}", reply.body);
    }
    assert_eq!(events_since(&app, since).await, Vec::<Value>::new());
}

async fn a_token_caller_is_recorded_as_the_user(app: TestApp) {
    let jwks = jwks_server().await;
    let tenant = jwt_tenant(&app, &jwks).await;
    let user = app
        .post("/v1/users", json!({"authenticationMethod": "Database", "displayName": "Token User", "idpTenantId": "jwt",
            "organization": "acme", "idpMetadata": {"azoUserId": "auth0|token-user", "azoConnectionId": "db"}}))
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
    let user = id_of(&user.body);
    let writer = app
        .post(
            "/v1/roles",
            json!({"name": "writer", "audience": API_AUDIENCE, "permissions": ["user.write"]}),
        )
        .await;
    let assigned = app
        .put(
            &format!("/v1/users/{user}/roles"),
            json!({"value": [writer.body["id"]]}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::NO_CONTENT, "{}", assigned.body);
    let application = app.key("read write").await;
    let claims = json!({"iss": format!("{}/", jwks.base), "aud": API_AUDIENCE, "sub": "auth0|token-user",
        "exp": now() + 300, "iat": now()});
    let token = sign(&claims, "k1", "jwt-k1.pem");

    let since = newest_event(&app).await;
    let patched = app
        .request_as(
            Method::PATCH,
            &format!("/v1/users/{user}"),
            &[
                ("authorization", format!("Bearer {token}")),
                ("applicationtoken", application),
                ("x-request-id", "by-token".to_owned()),
            ],
            Some(&json!({"nickname": "tok"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let events = events_since(&app, since).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["actorType"], json!("user"), "{event:#}");
    assert_eq!(event["actor"], json!(user));
    assert_eq!(event["actorTenantId"], tenant["id"]);
    assert_eq!(event["requestId"], json!("by-token"));
    assert_eq!(
        event["changes"]["nickname"],
        json!({"before": null, "after": "tok"})
    );
}
