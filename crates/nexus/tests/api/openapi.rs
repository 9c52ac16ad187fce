use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{both_backends, concrete, schema_object, TestApp};

both_backends!(document_is_openapi_3_1_and_covers_every_route);

/// Every route the server serves (the API issue's list); the test fails if one
/// is missing from the document, and requests every documented operation to
/// prove the router serves it.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/me"),
    ("PATCH", "/v1/me"),
    ("POST", "/v1/me/mfa-enrollment"),
    ("POST", "/v1/me/verify-enrollment-otp"),
    ("POST", "/v1/users"),
    ("GET", "/v1/users"),
    ("GET", "/v1/users/{userId}"),
    ("PATCH", "/v1/users/{userId}"),
    ("DELETE", "/v1/users/{userId}"),
    ("POST", "/v1/users/{userId}/password-reset"),
    ("POST", "/v1/users/{userId}/email-verification"),
    ("GET", "/v1/users/FindUserByConnection(azoConnectionId='{azoConnectionId}',azoUserId='{azoUserId}')"),
    ("POST", "/v1/users/{userId}/custom-upns"),
    ("GET", "/v1/users/{userId}/custom-upns"),
    ("GET", "/v1/users/{userId}/custom-upns/{upnId}"),
    ("PATCH", "/v1/users/{userId}/custom-upns/{upnId}"),
    ("DELETE", "/v1/users/{userId}/custom-upns/{upnId}"),
    ("PUT", "/v1/users/{userId}/idp_tenants/{idpTenantId}"),
    ("GET", "/v1/users/{userId}/idp_tenants/{idpTenantId}"),
    ("DELETE", "/v1/users/{userId}/idp_tenants/{idpTenantId}"),
    ("GET", "/v1/users/{userId}/idp_tenants"),
    ("POST", "/v1/idp_tenants"),
    ("GET", "/v1/idp_tenants"),
    ("GET", "/v1/idp_tenants/{idpTenantId}"),
    ("PATCH", "/v1/idp_tenants/{idpTenantId}"),
    ("DELETE", "/v1/idp_tenants/{idpTenantId}"),
    ("POST", "/v1/idp_tenants/{idpTenantId}/imports"),
    ("GET", "/v1/idp_tenants/{idpTenantId}/imports/{jobId}"),
    ("POST", "/v1/idp_tenants/{idpTenantId}/reconciliations"),
    ("GET", "/v1/idp_tenants/{idpTenantId}/reconciliations/{jobId}"),
    ("GET", "/v1/tenants/{tenantId}/clients"),
    (
        "PATCH",
        "/v1/tenants/{tenantId}/connections/{connectionId}/clients",
    ),
    ("POST", "/v1/organizations"),
    ("GET", "/v1/organizations"),
    ("GET", "/v1/organizations/{organizationId}"),
    ("PATCH", "/v1/organizations/{organizationId}"),
    ("DELETE", "/v1/organizations/{organizationId}"),
    ("PATCH", "/v1/organizations/{organizationId}/mfa"),
    ("POST", "/v1/organizations/{organizationId}/aliases/{systemName}"),
    ("GET", "/v1/organizations/{organizationId}/aliases"),
    (
        "DELETE",
        "/v1/organizations/{organizationId}/aliases/{systemName}/{systemId}",
    ),
    ("GET", "/v1/organizations/by-alias/{systemName}/{systemId}"),
    ("POST", "/v1/organizations/{organizationId}/domains"),
    ("GET", "/v1/organizations/{organizationId}/domains"),
    ("GET", "/v1/organizations/{organizationId}/domains/{domainId}"),
    ("DELETE", "/v1/organizations/{organizationId}/domains/{domainId}"),
    ("POST", "/v1/organizations/{organizationId}/domains/{domainId}/generate-code"),
    ("POST", "/v1/organizations/{organizationId}/domains/{domainId}/verify"),
    ("POST", "/v1/organizations/{organizationId}/members"),
    ("GET", "/v1/organizations/{organizationId}/members"),
    ("GET", "/v1/organizations/{organizationId}/members/{userId}"),
    ("PATCH", "/v1/organizations/{organizationId}/members/{userId}"),
    ("DELETE", "/v1/organizations/{organizationId}/members/{userId}"),
    ("DELETE", "/v1/organizations/{organizationId}/members/{userId}/roles"),
    ("POST", "/v1/organizations/{organizationId}/members/invite"),
    ("POST", "/v1/organizations/{organizationId}/members/import"),
    ("GET", "/v1/organizations/{organizationId}/members/imports/{id}"),
    ("POST", "/v1/products"),
    ("GET", "/v1/products"),
    ("GET", "/v1/products/{productId}"),
    ("PATCH", "/v1/products/{productId}"),
    ("DELETE", "/v1/products/{productId}"),
    ("POST", "/v1/applications"),
    ("GET", "/v1/applications"),
    ("GET", "/v1/applications/{applicationId}"),
    ("PATCH", "/v1/applications/{applicationId}"),
    ("DELETE", "/v1/applications/{applicationId}"),
    ("POST", "/v1/roles"),
    ("GET", "/v1/roles"),
    ("GET", "/v1/roles/{roleId}"),
    ("PATCH", "/v1/roles/{roleId}"),
    ("DELETE", "/v1/roles/{roleId}"),
    ("PUT", "/v1/users/{userId}/roles"),
    ("DELETE", "/v1/users/{userId}/roles/{roleId}"),
    ("POST", "/v1/roles/{roleId}/connection-maps"),
    ("GET", "/v1/roles/{roleId}/connection-maps"),
    ("GET", "/v1/roles/{roleId}/connection-maps/{mapId}"),
    ("DELETE", "/v1/roles/{roleId}/connection-maps/{mapId}"),
    ("PUT", "/v1/users/{userId}/$sync"),
    ("PUT", "/v1/idp_tenants/{idpTenantId}/accounts/{azoUserId}/$sync"),
    ("POST", "/v1/api-keys"),
    ("GET", "/v1/api-keys"),
    ("GET", "/v1/api-keys/{keyId}"),
    ("DELETE", "/v1/api-keys/{keyId}"),
    ("POST", "/v1/sts-clients"),
    ("GET", "/v1/sts-clients"),
    ("GET", "/v1/sts-clients/{clientId}"),
    ("DELETE", "/v1/sts-clients/{clientId}"),
    ("POST", "/v1/subscriptions"),
    ("GET", "/v1/subscriptions"),
    ("GET", "/v1/subscriptions/{subscriptionId}"),
    ("PATCH", "/v1/subscriptions/{subscriptionId}"),
    ("GET", "/v1/subscriptions/{subscriptionId}/logs"),
    ("GET", "/v1/subscriptions/{subscriptionId}/logs/{logId}"),
    ("POST", "/v1/application-deployments"),
    ("GET", "/v1/application-deployments"),
    ("GET", "/v1/application-deployments/{appDeploymentId}"),
    ("PATCH", "/v1/application-deployments/{appDeploymentId}"),
    ("DELETE", "/v1/application-deployments/{appDeploymentId}"),
    ("POST", "/v1/application-deployments/{appDeploymentId}/users"),
    ("GET", "/v1/application-deployments/{appDeploymentId}/users"),
    ("DELETE", "/v1/application-deployments/{appDeploymentId}/users/{userId}"),
    ("PUT", "/v1/products/{productId}/upsell-dependencies"),
    ("GET", "/v1/products/{productId}/upsell-dependencies"),
    ("GET", "/v1/products/{productId}/upsell-dependencies/{moduleString}"),
    ("DELETE", "/v1/products/{productId}/upsell-dependencies/{moduleString}"),
    ("GET", "/v1/subscriptions/upsell-catalog/{organizationId}"),
    ("POST", "/v1/upsell-requests"),
    ("GET", "/v1/upsell-requests"),
    ("GET", "/v1/upsell-requests/{upsellRequestId}"),
    ("PATCH", "/v1/upsell-requests/{upsellRequestId}"),
    ("GET", "/v1/push/status"),
    ("GET", "/v1/audit-events"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks"),
    ("GET", "/v1/webhooks/{webhookId}"),
    ("DELETE", "/v1/webhooks/{webhookId}"),
    ("GET", "/v1/webhooks/{webhookId}/deliveries"),
    ("POST", "/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver"),
    ("POST", "/v1/idp_tenants/{idpTenantId}/log-stream"),
];

async fn document_is_openapi_3_1_and_covers_every_route(app: TestApp) {
    let response = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let spec = oas3::from_json(&text).expect("the document parses as OpenAPI 3.1");
    assert!(spec.openapi.starts_with("3.1"), "version {}", spec.openapi);
    let document: Value = serde_json::from_str(&text).unwrap();

    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, expected,
        "the document lists exactly the served routes"
    );

    // Every documented operation is served: none answers "no such route" or 405.
    for (method, path) in &documented {
        let concrete = concrete(path);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = matches!(method, Method::POST | Method::PUT | Method::PATCH)
            .then(|| serde_json::json!({}));
        let reply = app.request(method.clone(), &concrete, body.as_ref()).await;
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {concrete}"
        );
        assert_ne!(
            reply.body["type"], "urn:nexus:problem:route-not-found",
            "{method} {concrete}"
        );
    }

    // Every list documents `$skiptoken` (or `$select`) beside `$skip`, and
    // `@odata.nextLink`.
    let mut lists = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let names: Vec<&str> = get["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        if names.contains(&"$skip") {
            lists += 1;
            // A list paged in memory (the tenant's applications, read from
            // Auth0) links its next page by `$skip`, and has `$select`.
            assert!(
                names.contains(&"$skiptoken") || names.contains(&"$select"),
                "{path}: {names:?}"
            );
            let body = get["responses"]["200"]["content"]["application/json"]["schema"].to_string();
            let body = match body.split("#/components/schemas/").nth(1) {
                Some(name) => {
                    document["components"]["schemas"][name.trim_end_matches(['"', '}'])].to_string()
                }
                None => body,
            };
            assert!(body.contains("@odata.nextLink"), "{path}: {body}");
        }
    }
    assert_eq!(lists, 21, "the list endpoints");
    check_orderby_examples(&app, &document).await;

    // Problem responses are documented with their media type.
    let get_user = &document["paths"]["/v1/users/{userId}"]["get"]["responses"]["404"]["content"];
    assert!(
        get_user.get("application/problem+json").is_some(),
        "{get_user}"
    );
    // Every operation can answer 503 (request timeout, database unreachable),
    // and every response carries X-Request-Id.
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let responses = operation["responses"].as_object().unwrap();
            let unavailable = &responses["503"]["content"]["application/problem+json"];
            assert!(unavailable.is_object(), "{method} {path}: no 503 problem");
            for (status, response) in responses {
                assert!(
                    response["headers"]["x-request-id"].is_object(),
                    "{method} {path} {status}: no X-Request-Id"
                );
            }
        }
    }

    check_operation_ids(&document);
    check_body_rules(&document);
    check_access_and_body_answers(&document);
    assert!(
        !text.to_lowercase().contains("seed"),
        "the served document speaks the users' words"
    );

    let docs = app
        .client
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(
        docs.text().await.unwrap().contains("swagger"),
        "the browsable page is Swagger UI"
    );
}

/// Each documented operation with its method and path.
fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                all.push((method.clone(), path.clone(), operation));
            }
        }
    }
    all
}

/// Operation ids are unique and in one style, PascalCase (`SyncUserIdentity`).
fn check_operation_ids(document: &Value) {
    let mut ids = BTreeSet::new();
    for (method, path, operation) in operations(document) {
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(
            id.starts_with(|c: char| c.is_ascii_uppercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{method} {path}: operation id {id:?} is not PascalCase"
        );
        assert!(ids.insert(id.to_owned()), "{id} twice");
    }
    for id in [
        "SyncUserIdentity",
        "LinkUserToTenant",
        "CreateUser",
        "PatchUser",
    ] {
        assert!(ids.contains(id), "{id} in {ids:?}");
    }
}

/// What the middleware answers is documented: 401 and 429 on every protected
/// operation, 403 where a permission is required; 413 and 415 wherever a
/// body is read.
fn check_access_and_body_answers(document: &Value) {
    for (method, path, operation) in operations(document) {
        let responses = operation["responses"].as_object().unwrap();
        let problem = |status: &str| {
            responses
                .get(status)
                .is_some_and(|r| r["content"]["application/problem+json"].is_object())
        };
        if operation.get("security").is_some() {
            for status in ["401", "429"] {
                assert!(problem(status), "{method} {path}: no {status}");
            }
        } else {
            assert!(!problem("401"), "{method} {path}: open, yet 401");
        }
        if operation.get("x-nexus-permission").is_some() {
            assert!(problem("403"), "{method} {path}: no 403");
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                assert!(problem(status), "{method} {path}: no {status}");
            }
        }
    }
    let sync = &document["paths"]["/v1/users/{userId}/$sync"]["put"]["responses"];
    assert!(sync["401"].is_object() && sync["403"].is_object(), "{sync}");
    let link = &document["paths"]["/v1/users/{userId}/idp_tenants/{idpTenantId}"]["put"];
    assert!(link["responses"]["422"].is_object(), "{link}");
}

/// Each list's `$orderby` example is one that list accepts.
async fn check_orderby_examples(app: &TestApp, document: &Value) {
    for (method, path, operation) in operations(document) {
        let Some(orderby) = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "$orderby")
        else {
            continue;
        };
        let example = orderby["example"].as_str().expect("an $orderby example");
        let url = format!(
            "{}?$orderby={}",
            concrete(&path),
            example.replace(' ', "%20")
        );
        let reply = app.request(Method::GET, &url, None).await;
        assert_ne!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{method} {url}: {}",
            reply.body
        );
    }
}

/// The rules the server applies to bodies are in their schemas: required
/// fields, item counts, the control-character rule, date-times, enumerations.
fn check_body_rules(document: &Value) {
    let schemas = &document["components"]["schemas"];
    let required = |schema: &str| -> Vec<String> {
        schema_object(document, schema)["required"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    for (schema, fields) in [
        ("NewCustomUpnBody", &["customUpnValue"][..]),
        ("NewIdpTenantBody", &["name", "azoTenantName", "fqdn"]),
        ("NewRoleBody", &["audience"]),
        ("LinkBody", &["strategy", "azoUserId", "azoConnectionId"]),
        ("SyncBody", &["audience", "attributes", "connection"]),
        (
            "CreateUserBody",
            &[
                "authenticationMethod",
                "displayName",
                "idpTenantId",
                "organization",
            ],
        ),
        (
            "CreateOrganizationBody",
            &["name", "displayName", "crmAccountId", "type"],
        ),
        ("AddMemberBody", &["userId", "isMfaRequired"]),
        ("UserRolesBody", &["value"]),
    ] {
        let listed = required(schema);
        for field in fields {
            assert!(
                listed.iter().any(|f| f == field),
                "{schema}.{field} not required: {listed:?}"
            );
        }
    }
    assert!(
        required("CustomUpnBody").is_empty(),
        "PATCH bodies require nothing"
    );
    assert_eq!(
        schema_object(document, "UserRolesBody")["properties"]["value"]["minItems"],
        1
    );
    let name_choice = schemas["NewRoleBody"]["allOf"][1]["oneOf"].to_string();
    assert!(name_choice.contains("productName"), "{name_choice}");
    let pattern = schema_object(document, "CreateUserBody")["properties"]["displayName"]["pattern"]
        .as_str()
        .expect("a text pattern");
    assert!(pattern.contains("u0000-"), "{pattern}");
    assert_eq!(
        schema_object(document, "UserRolesBody")["properties"]["expires"]["format"],
        "date-time"
    );
    assert!(schemas.get("OrganizationIdType").is_some());
    let credential = schema_object(document, "PasswordCredential")["properties"]
        .as_object()
        .unwrap();
    assert!(
        !credential.contains_key("createLinkedEmailUser"),
        "unsupported fields are not offered"
    );
    assert!(
        credential.contains_key("clientId")
            && credential.contains_key("sendForgotPasswordEmail")
            && credential.contains_key("sendMfaEnrollmentEmail")
    );
    let ties = document["components"]["schemas"]["PasswordCredential"]["allOf"].to_string();
    assert!(
        ties.contains(r#""required":["clientId","sendForgotPasswordEmail"]"#),
        "the clientId tie is in the document: {ties}"
    );
}
