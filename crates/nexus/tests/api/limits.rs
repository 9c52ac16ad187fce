//! Every length limit the document states is the one the server applies: for
//! each request-body field (or array item) with `minLength`/`maxLength`, a
//! value at the limit is not refused for that field, and a value past it is.
//! Storage plays no part, so this runs on SQLite only.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{Reply, TestApp};
use crate::tokens::{jwks_server, token_headers, token_tenant};

/// Where a limited value sits in a body: object keys, and `None` for the
/// first item of an array.
type Pointer = Vec<Option<String>>;

/// A limited string the document states.
struct Limit {
    pointer: Pointer,
    min: Option<usize>,
    max: Option<usize>,
    schema: Value,
}

/// An operation with a body that the server would accept, sent to one of
/// its concrete paths. An operation may have several, for fields that only
/// one shape of body carries.
struct Base {
    method: Method,
    template: &'static str,
    path: String,
    body: Value,
    /// The credentials to send instead of the admin key.
    headers: Option<Vec<(&'static str, String)>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_length_limit_is_the_servers() {
    let app = TestApp::sqlite().await;
    let document = app.get("/openapi.json").await.body;
    let bases = bases(&app).await;

    let mut checked = 0;
    let mut disagreements = Vec::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(schema) = operation.pointer("/requestBody/content/application~1json/schema")
            else {
                continue;
            };
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut limits = Vec::new();
            collect(&document, schema, &mut Vec::new(), &mut limits);
            for limit in limits {
                // The body that has the field, else the first with its parent.
                let of_operation = || {
                    bases
                        .iter()
                        .filter(|b| b.method == method && b.template == template)
                };
                let base = of_operation()
                    .find(|b| holds(&b.body, &limit.pointer))
                    .or_else(|| of_operation().find(|b| holds_parent(&b.body, &limit.pointer)))
                    .unwrap_or_else(|| {
                        panic!(
                            "no base body of {method} {template} for {}",
                            name(&limit.pointer)
                        )
                    });
                for (value, refused) in probes(&limit) {
                    let mut body = base.body.clone();
                    *slot(&mut body, &limit.pointer) = json!(value);
                    let reply = match &base.headers {
                        Some(headers) => {
                            app.request_as(method.clone(), &base.path, headers, Some(&body))
                                .await
                        }
                        None => app.request(method.clone(), &base.path, Some(&body)).await,
                    };
                    let named = reply.status == 400 && names(&reply.body, &limit.pointer);
                    checked += 1;
                    if named != refused {
                        disagreements.push(format!(
                            "{method} {template} {} ({} characters): {} {}",
                            name(&limit.pointer),
                            value.chars().count(),
                            reply.status,
                            reply.body
                        ));
                    }
                }
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // Every limited field of every body was probed (about 75, most twice over).
    assert!(checked > 300, "only {checked} probes");
}

/// The values to send, each with whether the server must refuse it.
fn probes(limit: &Limit) -> Vec<(String, bool)> {
    let mut probes = Vec::new();
    if let Some(min) = limit.min.filter(|&min| min > 0) {
        probes.extend(shaped(&limit.schema, min).map(|v| (v, false)));
        probes.push(("a".repeat(min - 1), true));
    }
    if let Some(max) = limit.max {
        probes.extend(shaped(&limit.schema, max).map(|v| (v, false)));
        let past = shaped(&limit.schema, max + 1).unwrap_or_else(|| "a".repeat(max + 1));
        probes.push((past, true));
    }
    probes
}

/// A value of exactly `length` characters that the field's format and
/// pattern allow, when one exists.
fn shaped(schema: &Value, length: usize) -> Option<String> {
    let pattern = schema["pattern"].as_str().unwrap_or_default();
    let format = schema["format"].as_str().unwrap_or_default();
    let url = "https://a.example/";
    if format == "email" {
        (length >= 5).then(|| format!("a@a.{}", dns_name(length - 4)))
    } else if format == "uri" || pattern.contains("[Hh][Tt][Tt][Pp]") {
        (length >= url.len()).then(|| format!("{url}{}", "a".repeat(length - url.len())))
    } else if pattern.ends_with(r")+\.?$") {
        // An organization's domain: at least two labels.
        (length >= 3).then(|| format!("a.{}", dns_name(length - 2)))
    } else if pattern.starts_with("^[A-Za-z0-9](") {
        Some(dns_name(length))
    } else if pattern.starts_with("^[^@") {
        // user_part@domain_part: a long value has a long user part.
        let domain = "@example.com";
        match length {
            0..3 => None,
            3..=255 => Some(format!("a@{}", dns_name(length - 2))),
            _ => Some(format!("{}{domain}", "a".repeat(length - domain.len()))),
        }
    } else {
        Some("a".repeat(length))
    }
}

/// A DNS name of `length` characters: labels of at most 63.
fn dns_name(mut length: usize) -> String {
    let mut name = String::new();
    while length > 63 {
        name.push_str(&"a".repeat(62));
        name.push('.');
        length -= 63;
    }
    name.push_str(&"a".repeat(length));
    name
}

/// Gathers the limited strings of a schema, following `$ref`s, `allOf`s,
/// properties and array items.
fn collect(document: &Value, schema: &Value, pointer: &mut Pointer, out: &mut Vec<Limit>) {
    let schema = resolve(document, schema);
    for part in ["allOf", "oneOf", "anyOf"] {
        for sub in schema[part].as_array().into_iter().flatten() {
            collect(document, sub, pointer, out);
        }
    }
    let length = |key: &str| schema[key].as_u64().map(|n| n as usize);
    if length("minLength").is_some() || length("maxLength").is_some() {
        out.push(Limit {
            pointer: pointer.clone(),
            min: length("minLength"),
            max: length("maxLength"),
            schema: schema.clone(),
        });
    }
    for (key, property) in schema["properties"].as_object().into_iter().flatten() {
        pointer.push(Some(key.clone()));
        collect(document, property, pointer, out);
        pointer.pop();
    }
    if schema["items"].is_object() {
        pointer.push(None);
        collect(document, &schema["items"], pointer, out);
        pointer.pop();
    }
}

fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let target = reference.trim_start_matches('#');
            resolve(
                document,
                document.pointer(target).expect("a resolvable $ref"),
            )
        }
        None => schema,
    }
}

fn holds(body: &Value, pointer: &Pointer) -> bool {
    let mut at = body;
    for step in pointer {
        at = match step {
            Some(key) => &at[key.as_str()],
            None => &at[0],
        };
    }
    !at.is_null()
}

/// Whether the body has the object or array the value goes into.
fn holds_parent(body: &Value, pointer: &Pointer) -> bool {
    let mut at = body;
    for step in &pointer[..pointer.len() - 1] {
        at = match step {
            Some(key) => &at[key.as_str()],
            None => &at[0],
        };
    }
    match pointer.last().unwrap() {
        Some(_) => at.is_object(),
        None => at.is_array(),
    }
}

fn slot<'a>(body: &'a mut Value, pointer: &Pointer) -> &'a mut Value {
    pointer.iter().fold(body, |at, step| match step {
        Some(key) => &mut at[key.as_str()],
        None => &mut at[0],
    })
}

/// The field's name as the `errors` of a 400 give it: `parent.child`, with
/// `[0]` for the array item (or without, for a rule on the whole array).
fn name(pointer: &Pointer) -> String {
    pointer.iter().fold(String::new(), |name, step| match step {
        Some(key) if name.is_empty() => key.clone(),
        Some(key) => format!("{name}.{key}"),
        None => format!("{name}[0]"),
    })
}

fn names(body: &Value, pointer: &Pointer) -> bool {
    let item = name(pointer);
    let whole = item.replace("[0]", "");
    body["errors"]
        .as_object()
        .is_some_and(|errors| errors.contains_key(&item) || errors.contains_key(&whole))
}

/// A body of every operation that has one, and what they refer to.
async fn bases(app: &TestApp) -> Vec<Base> {
    let tenant = app.tenant("limits").await;
    let tenant_name = tenant["name"].as_str().unwrap().to_owned();
    // Renamed by the PATCH probes: a tenant of its own.
    let patched_tenant = app.tenant("limits-patched").await["id"].to_string();
    let organization = app.organization("limits-org").await["id"].to_string();
    let tenant_id = tenant["id"].as_i64().unwrap();
    let product = app
        .post(
            "/v1/products",
            json!({"name": "limits-base", "displayName": "Limits"}),
        )
        .await
        .body["id"]
        .to_string();
    let application = app
        .post(
            "/v1/applications",
            json!({"productId": product.parse::<i32>().unwrap(), "name": "limits-base", "displayName": "Limits"}),
        )
        .await
        .body["id"]
        .to_string();
    let user = app.user().await;
    let upn = created_id(
        app.post(
            &format!("/v1/users/{user}/custom-upns"),
            json!({"customUpnValue": "limits@example.com"}),
        )
        .await,
    );
    let role_body = json!({
        "name": "Reader", "audience": "https://nexus.test/api", "description": "reads",
        "permissions": ["read"],
    });
    let mut product_role_body = role_body.clone();
    product_role_body["productName"] = product_role_body["name"].take();
    let role = created_id(app.post("/v1/roles", role_body.clone()).await);
    let subscribed = app
        .post(
            "/v1/products",
            json!({"name": "limits-subscribed", "displayName": "Limits"}),
        )
        .await;
    assert_eq!(subscribed.status, 201, "{}", subscribed.body);
    let subscription_body = json!({
        "organizationId": organization.parse::<i32>().unwrap(), "productId": subscribed.body["id"],
        "statusText": "limits", "type": "Annual", "description": "limits", "details": "limits",
        "sfLicenseId": "l", "sfContractId": "c", "sfSubscriptionId": "s",
    });
    let subscription = app
        .post("/v1/subscriptions", subscription_body.clone())
        .await;
    assert_eq!(subscription.status, 201, "{}", subscription.body);
    let subscription = subscription.body["id"].to_string();
    let deployed = app
        .post(
            "/v1/applications",
            json!({"productId": subscribed.body["id"], "name": "limits-app", "displayName": "Limits"}),
        )
        .await;
    assert_eq!(deployed.status, 201, "{}", deployed.body);
    let deployment_body = json!({
        "applicationId": deployed.body["id"], "subscriptionId": subscription.parse::<i32>().unwrap(),
        "name": "limits", "displayName": "Limits", "statusResolution": "limits", "configuration": "limits",
    });
    let deployment = app
        .post("/v1/application-deployments", deployment_body.clone())
        .await;
    assert_eq!(deployment.status, 201, "{}", deployment.body);
    let deployment = deployment.body["id"].to_string();
    let modules = format!("/v1/products/{}/upsell-dependencies", subscribed.body["id"]);
    let core = app.put(&modules, json!({"moduleString": "CORE"})).await;
    assert_eq!(core.status, 201, "{}", core.body);
    let upsell_body = json!({
        "organizationId": organization.parse::<i32>().unwrap(),
        "subscriptionId": subscription.parse::<i32>().unwrap(),
        "requestItems": [{"moduleString": "CORE", "requestedAdditionalQuantity": 1,
            "sfModuleId": "m", "sfProductId": "p", "sfSubscriptionId": "s"}],
    });
    let upsell_request = app.post("/v1/upsell-requests", upsell_body.clone()).await;
    assert_eq!(upsell_request.status, 422, "{}", upsell_request.body);
    let upsell_request = app
        .post(
            "/v1/upsell-requests",
            json!({"subscriptionId": subscription.parse::<i32>().unwrap(),
                "requestItems": [{"moduleString": "CORE", "requestedAdditionalQuantity": 1}]}),
        )
        .await;
    assert_eq!(upsell_request.status, 201, "{}", upsell_request.body);
    let upsell_request = upsell_request.body["id"].to_string();
    let create_user = json!({
        "authenticationMethod": "Database", "displayName": "Justin Buchanan",
        "idpTenantId": tenant_name, "organization": organization,
    });
    let mut with_metadata = create_user.clone();
    with_metadata["idpMetadata"] = json!({"azoUserId": "auth0|1", "azoConnectionId": "db"});
    let mut with_assignments = create_user.clone();
    with_assignments["roles"] = json!(["no-such-role"]);
    with_assignments["applications"] = json!(["no-such-application"]);
    let mut with_password = create_user.clone();
    with_password["passwordCredential"] = json!({"password": "Correct-Horse-9", "azoDatabaseName": "db",
            "sendForgotPasswordEmail": true, "clientId": "app"});
    let tenant_body = json!({
        "name": "limits-2", "azoTenantName": "eci-limits-2", "fqdn": "eci-limits-2.us.auth0.com",
        "managementClientId": "client", "managementClientSecret": "secret",
        "managementAudience": "https://eci-limits-2.us.auth0.com/api/v2/",
        "jitProvisioning": {"enabled": true, "organization": organization},
    });
    let organization_body = json!({
        "name": "limits-org-2", "displayName": "Limits", "crmAccountId": "crm-2", "type": "Customer",
    });
    let upn_body = json!({"clientUpnKey": "rdp", "customUpnValue": "a@example.com"});
    // Invitations create users in it: a default tenant, no domain rule.
    let inviting = app.organization("limits-inviting").await["id"].to_string();
    let set = app
        .patch(
            &format!("/v1/organizations/{inviting}"),
            json!({"defaultIdpTenantId": tenant_name, "isDomainVerificationRequired": false}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let base = |method: Method, template: &'static str, path: String, body: Value| Base {
        method,
        template,
        path,
        body,
        headers: None,
    };
    let user_headers = user_token(app).await;
    let as_user = Base {
        headers: Some(user_headers.clone()),
        ..base(Method::PATCH, "/v1/me", "/v1/me".into(), json!({}))
    };
    // The token names no account of the caller's: refused (403) after the
    // body's limits, before Auth0 is asked.
    let verify_otp = "/v1/me/verify-enrollment-otp";
    let as_user_verifying = Base {
        headers: Some(user_headers),
        ..base(
            Method::POST,
            verify_otp,
            verify_otp.into(),
            json!({"accessToken": "a", "otp": "123456"}),
        )
    };
    // Loopback, allowed on test servers; an event type the probes never cause.
    let webhook_body = json!({
        "url": "https://127.0.0.1:9/hook", "eventTypes": ["identity.unlinked"], "description": "d",
    });
    vec![
        as_user,
        as_user_verifying,
        base(
            Method::POST,
            "/v1/webhooks",
            "/v1/webhooks".into(),
            webhook_body,
        ),
        // The tenant has no Management credentials: no import starts.
        base(
            Method::POST,
            "/v1/idp_tenants/{idpTenantId}/imports",
            format!("/v1/idp_tenants/{tenant_name}/imports"),
            json!({"organization": "limits-org"}),
        ),
        // The same tenant: the body is checked, then 409, before Auth0.
        base(
            Method::PATCH,
            "/v1/tenants/{tenantId}/connections/{connectionId}/clients",
            format!("/v1/tenants/{tenant_name}/connections/con_x/clients"),
            json!({"clientId": "app", "enabled": true}),
        ),
        base(Method::POST, "/v1/users", "/v1/users".into(), create_user),
        base(Method::POST, "/v1/users", "/v1/users".into(), with_metadata),
        base(Method::POST, "/v1/users", "/v1/users".into(), with_password),
        base(
            Method::POST,
            "/v1/users",
            "/v1/users".into(),
            with_assignments,
        ),
        base(
            Method::PATCH,
            "/v1/users/{userId}",
            format!("/v1/users/{user}"),
            json!({}),
        ),
        base(
            Method::POST,
            "/v1/users/{userId}/custom-upns",
            format!("/v1/users/{user}/custom-upns"),
            upn_body.clone(),
        ),
        base(
            Method::PATCH,
            "/v1/users/{userId}/custom-upns/{upnId}",
            format!("/v1/users/{user}/custom-upns/{upn}"),
            upn_body,
        ),
        base(
            Method::PUT,
            "/v1/users/{userId}/idp_tenants/{idpTenantId}",
            format!("/v1/users/{user}/idp_tenants/{tenant_name}"),
            json!({"strategy": "auth0", "azoUserId": "auth0|2", "azoConnectionId": "db"}),
        ),
        base(
            Method::POST,
            "/v1/idp_tenants",
            "/v1/idp_tenants".into(),
            tenant_body,
        ),
        base(
            Method::PATCH,
            "/v1/idp_tenants/{idpTenantId}",
            format!("/v1/idp_tenants/{patched_tenant}"),
            json!({"jitProvisioning": {"enabled": true, "organization": organization}}),
        ),
        base(
            Method::POST,
            "/v1/organizations",
            "/v1/organizations".into(),
            organization_body,
        ),
        base(
            Method::PATCH,
            "/v1/organizations/{organizationId}",
            format!("/v1/organizations/{organization}"),
            json!({}),
        ),
        base(
            Method::PATCH,
            "/v1/organizations/{organizationId}/mfa",
            format!("/v1/organizations/{organization}/mfa"),
            json!({"isMfaRequired": true}),
        ),
        base(
            Method::POST,
            "/v1/products",
            "/v1/products".into(),
            json!({"name": "limits-product", "displayName": "Limits", "url": "https://limits.example.com",
                "longDescription": "long"}),
        ),
        base(
            Method::POST,
            "/v1/products",
            "/v1/products".into(),
            json!({"name": "limits-role", "displayName": "Limits",
                "developersRoleAudience": "https://limits.example.com"}),
        ),
        base(
            Method::PATCH,
            "/v1/products/{productId}",
            format!("/v1/products/{product}"),
            json!({"name": "limits-patched", "displayName": "Limits", "url": "https://limits.example.com",
                "longDescription": "long"}),
        ),
        base(
            Method::POST,
            "/v1/applications",
            "/v1/applications".into(),
            json!({"productId": product.parse::<i32>().unwrap(), "name": "web", "displayName": "Web",
                "description": "d", "clients": [{"idpTenantId": tenant_id, "clientId": "limits-web"}]}),
        ),
        base(
            Method::PATCH,
            "/v1/applications/{applicationId}",
            format!("/v1/applications/{application}"),
            json!({"name": "web-2", "displayName": "Web", "description": "d",
                "clients": [{"idpTenantId": tenant_id, "clientId": "limits-patched"}]}),
        ),
        base(
            Method::POST,
            "/v1/organizations/{organizationId}/aliases/{systemName}",
            format!("/v1/organizations/{organization}/aliases/crm"),
            json!({"systemId": "limits-1"}),
        ),
        base(
            Method::POST,
            "/v1/organizations/{organizationId}/domains",
            format!("/v1/organizations/{organization}/domains"),
            json!({"domain": "limits.example.com", "verificationMethod": "DnsTxt", "authenticationMethod": "Database"}),
        ),
        base(
            Method::POST,
            "/v1/organizations/{organizationId}/members",
            format!("/v1/organizations/{organization}/members"),
            json!({"userId": user, "isMfaRequired": false}),
        ),
        base(
            Method::POST,
            "/v1/organizations/{organizationId}/members/invite",
            format!("/v1/organizations/{inviting}/members/invite"),
            json!({"emailAddress": "invited@example.com", "displayName": "Invited", "givenName": "In",
                "familyName": "Vited", "idpTenantId": tenant_name, "clientId": "app"}),
        ),
        base(
            Method::POST,
            "/v1/organizations/{organizationId}/members/import",
            format!("/v1/organizations/{inviting}/members/import"),
            json!({"id": "limits-import", "importDate": "2026-01-02T03:04:05Z", "importFilename": "members.csv",
                "importingUserId": "u1", "organizationId": inviting.parse::<i32>().unwrap(), "newMembers": []}),
        ),
        base(
            Method::POST,
            "/v1/roles",
            "/v1/roles".into(),
            role_body.clone(),
        ),
        base(
            Method::POST,
            "/v1/roles",
            "/v1/roles".into(),
            product_role_body.clone(),
        ),
        base(
            Method::PATCH,
            "/v1/roles/{roleId}",
            format!("/v1/roles/{role}"),
            role_body,
        ),
        base(
            Method::PATCH,
            "/v1/roles/{roleId}",
            format!("/v1/roles/{role}"),
            product_role_body,
        ),
        base(
            Method::PUT,
            "/v1/users/{userId}/roles",
            format!("/v1/users/{user}/roles"),
            json!({"value": [role]}),
        ),
        base(
            Method::POST,
            "/v1/roles/{roleId}/connection-maps",
            format!("/v1/roles/{role}/connection-maps"),
            json!({"name": "admins", "groupName": "Admins", "azoConnectionId": "db"}),
        ),
        base(
            Method::PUT,
            "/v1/users/{userId}/$sync",
            format!("/v1/users/{user}/$sync"),
            json!({
                "audience": "https://nexus.test/api", "clientUpnKey": "rdp",
                "attributes": [{"key": "title", "value": "Engineer"}],
                "connection": {"connectionId": "db", "groups": ["Admins"]},
            }),
        ),
        base(
            Method::PUT,
            "/v1/idp_tenants/{idpTenantId}/accounts/{azoUserId}/$sync",
            format!("/v1/idp_tenants/{tenant_name}/accounts/auth0%7C1/$sync"),
            json!({
                "audience": "https://nexus.test/api", "clientUpnKey": "rdp",
                "attributes": [{"key": "title", "value": "Engineer"}],
                "connection": {"connectionId": "db", "groups": ["Admins"]},
            }),
        ),
        base(
            Method::POST,
            "/v1/api-keys",
            "/v1/api-keys".into(),
            json!({"description": "limits", "permissions": "read"}),
        ),
        base(
            Method::POST,
            "/v1/sts-clients",
            "/v1/sts-clients".into(),
            json!({"clientId": "limits", "idpTenantId": tenant_name, "permissions": "read", "description": "limits"}),
        ),
        base(
            Method::POST,
            "/v1/subscriptions",
            "/v1/subscriptions".into(),
            subscription_body.clone(),
        ),
        base(
            Method::PATCH,
            "/v1/subscriptions/{subscriptionId}",
            format!("/v1/subscriptions/{subscription}"),
            json!({"status": "Active", "statusText": "limits", "type": "Annual", "description": "limits",
                "details": "limits", "sfLicenseId": "l", "sfContractId": "c", "sfSubscriptionId": "s"}),
        ),
        base(
            Method::POST,
            "/v1/application-deployments",
            "/v1/application-deployments".into(),
            deployment_body,
        ),
        base(
            Method::PATCH,
            "/v1/application-deployments/{appDeploymentId}",
            format!("/v1/application-deployments/{deployment}"),
            json!({"name": "limits", "displayName": "Limits", "statusResolution": "limits",
                "configuration": "limits"}),
        ),
        base(
            Method::POST,
            "/v1/application-deployments/{appDeploymentId}/users",
            format!("/v1/application-deployments/{deployment}/users"),
            json!({"userId": user, "addToOrganization": true}),
        ),
        base(
            Method::PUT,
            "/v1/products/{productId}/upsell-dependencies",
            modules,
            json!({"moduleString": "PAYROLL", "requires": [{"mode": "Requires", "moduleString": "CORE"}],
                "sfModuleId": "m", "sfProductId": "p", "softwareDeliveryType": "Cloud", "pupm": 1}),
        ),
        base(
            Method::POST,
            "/v1/upsell-requests",
            "/v1/upsell-requests".into(),
            upsell_body,
        ),
        base(
            Method::PATCH,
            "/v1/upsell-requests/{upsellRequestId}",
            format!("/v1/upsell-requests/{upsell_request}"),
            json!({"statusText": "limits", "sfOpportunityId": "o"}),
        ),
    ]
}

/// Headers that call as a user of a tenant whose tokens a JWKS on loopback
/// verifies (`PATCH /v1/me` takes nothing else).
async fn user_token(app: &TestApp) -> Vec<(&'static str, String)> {
    let jwks = jwks_server().await;
    let tenant = token_tenant(app, &jwks, "limits-jwt").await;
    let organization = app.organization("limits-me").await["id"].to_string();
    let user = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Database", "displayName": "Me",
            "idpTenantId": tenant["name"], "organization": organization,
            "idpMetadata": {"azoUserId": "auth0|limits-me", "azoConnectionId": "db"}}),
        )
        .await;
    created_id(user);
    token_headers(app, &jwks, "auth0|limits-me").await
}

fn created_id(reply: Reply) -> String {
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().expect("an id").to_owned()
}
