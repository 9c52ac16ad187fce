use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_problem, basic, both_backends, keys, TestApp};

both_backends!(
    alias_lifecycle,
    alias_validation_edges,
    alias_permissions,
    racing_for_one_alias,
);

async fn organization_id(app: &TestApp, name: &str) -> i64 {
    app.organization(name).await["id"].as_i64().unwrap()
}

async fn alias(app: &TestApp, organization: i64, system: &str, id: &str) -> crate::support::Reply {
    app.post(
        &format!("/v1/organizations/{organization}/aliases/{system}"),
        json!({"systemId": id}),
    )
    .await
}

async fn alias_lifecycle(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let other = organization_id(&app, "other").await;
    let created = alias(&app, acme, "salesforce", "001X").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        keys(&created.body),
        [
            "created",
            "createdBy",
            "organizationId",
            "systemId",
            "systemName"
        ]
    );
    assert_eq!(created.body["organizationId"], acme);
    assert_eq!(created.body["systemName"], "salesforce");
    assert_eq!(created.body["systemId"], "001X");
    assert_eq!(
        created.headers["location"],
        format!("/v1/organizations/{acme}/aliases/salesforce/001X").as_str()
    );
    // An organization may have several ids in one system, and ids in others.
    assert_eq!(alias(&app, acme, "salesforce", "001Y").await.status, 201);
    assert_eq!(alias(&app, acme, "erp", "42").await.status, 201);
    // Ids compare exactly: another case is another id.
    assert_eq!(alias(&app, other, "salesforce", "001x").await.status, 201);

    // A system's id names one organization at most, whatever the case of
    // the system's name.
    let taken = alias(&app, other, "SalesForce", "001X").await;
    assert_problem(
        &taken,
        409,
        &format!("/v1/organizations/{other}/aliases/SalesForce"),
    );
    let detail = taken.body["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("organization {acme}")), "{detail}");
    assert_eq!(alias(&app, acme, "salesforce", "001X").await.status, 409);

    let list = app.get(&format!("/v1/organizations/{acme}/aliases")).await;
    assert_eq!(list.status, StatusCode::OK);
    let pairs: Vec<(String, String)> = list.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["systemName"].as_str().unwrap().to_owned(),
                a["systemId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("erp", "42"),
            ("salesforce", "001X"),
            ("salesforce", "001Y")
        ]
        .map(|(n, i)| (n.to_owned(), i.to_owned()))
    );
    let organization = app.get(&format!("/v1/organizations/{acme}")).await.body;
    assert_eq!(organization["aliases"], list.body["value"]);
    let listed = app.get("/v1/organizations?$orderby=name").await.body;
    assert_eq!(listed["value"][0]["aliases"], list.body["value"]);

    let found = app.get("/v1/organizations/by-alias/SALESFORCE/001X").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body, organization);
    let found = app.get("/v1/organizations/by-alias/salesforce/001x").await;
    assert_eq!(found.body["id"], other);
    assert_problem(
        &app.get("/v1/organizations/by-alias/salesforce/nope").await,
        404,
        "/v1/organizations/by-alias/salesforce/nope",
    );

    let path = format!("/v1/organizations/{acme}/aliases/salesforce/001X");
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_problem(&app.delete(&path).await, 404, &path);
    assert_eq!(
        app.get("/v1/organizations/by-alias/salesforce/001X")
            .await
            .status,
        404
    );
    // Freed, the id can name another organization.
    assert_eq!(alias(&app, other, "salesforce", "001X").await.status, 201);
    // Another organization's alias is not this one's to delete.
    let foreign = format!("/v1/organizations/{acme}/aliases/salesforce/001X");
    assert_problem(&app.delete(&foreign).await, 404, &foreign);

    // Deleting an organization deletes its aliases.
    assert_eq!(
        app.delete(&format!("/v1/organizations/{acme}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/v1/organizations/by-alias/erp/42").await.status,
        404
    );
    let events = app
        .get("/v1/audit-events?$filter=resourceType eq 'organizationAlias'&$count=true")
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.body);
    // Five aliases created, one deleted by hand (the cascade is the
    // organization's own event).
    assert_eq!(events.body["@odata.count"], 6, "{}", events.body);
}

async fn alias_validation_edges(app: TestApp) {
    let org = organization_id(&app, "edges").await;
    let base = format!("/v1/organizations/{org}/aliases");
    assert_eq!(alias(&app, org, "crm", &"x".repeat(255)).await.status, 201);
    let long = alias(&app, org, "crm", &"y".repeat(256)).await;
    assert_problem(&long, 400, &format!("{base}/crm"));
    assert_eq!(keys(&long.body["errors"]), ["systemId"]);
    assert_eq!(alias(&app, org, "crm", "").await.status, 400);
    let missing = app.post(&format!("{base}/crm"), json!({})).await;
    assert_eq!(keys(&missing.body["errors"]), ["systemId"]);
    let unknown = app
        .post(
            &format!("{base}/crm"),
            json!({"systemId": "1", "extra": true}),
        )
        .await;
    assert_problem(&unknown, 400, &format!("{base}/crm"));
    let bad_name = alias(&app, org, "-crm", "1").await;
    assert_eq!(keys(&bad_name.body["errors"]), ["systemName"]);
    let name_100 = "n".repeat(100);
    assert_eq!(alias(&app, org, &name_100, "1").await.status, 201);
    assert_eq!(alias(&app, org, &"n".repeat(101), "1").await.status, 400);
    assert_problem(
        &alias(&app, 999_999, "crm", "1").await,
        404,
        "/v1/organizations/999999/aliases/crm",
    );
    assert_problem(
        &app.get("/v1/organizations/999999/aliases").await,
        404,
        "/v1/organizations/999999/aliases",
    );

    // An id with a slash travels encoded in the Location and the path.
    let slashed = alias(&app, org, "ldap", "ou=a/b c").await;
    assert_eq!(slashed.status, 201, "{}", slashed.body);
    let location = slashed.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("{base}/ldap/ou%3Da%2Fb%20c"));
    let found = app
        .get("/v1/organizations/by-alias/ldap/ou%3Da%2Fb%20c")
        .await;
    assert_eq!(found.body["id"], org, "{}", found.body);
    assert_eq!(app.delete(&location).await.status, StatusCode::NO_CONTENT);
}

async fn alias_permissions(app: TestApp) {
    let org = organization_id(&app, "guarded").await;
    let path = format!("/v1/organizations/{org}/aliases/crm");
    let attempt = |permissions: &'static str, id: &'static str| {
        let app = &app;
        let path = path.clone();
        async move {
            let key = app.key(permissions).await;
            app.request_as(
                Method::POST,
                &path,
                &[("authorization", basic(&key))],
                Some(&json!({"systemId": id})),
            )
            .await
        }
    };
    // organization.update, and what grants it: organization.write, write.
    assert_eq!(attempt("organization.update", "1").await.status, 201);
    assert_eq!(attempt("organization.write", "2").await.status, 201);
    assert_eq!(attempt("write", "3").await.status, 201);
    for refused in ["organization.read", "read", "user.write"] {
        let reply = attempt(refused, "4").await;
        assert_problem(&reply, 403, &path);
    }
    // organization.update does not grant the organization's other writes.
    let key = app.key("organization.update").await;
    let patch = app
        .request_as(
            Method::PATCH,
            &format!("/v1/organizations/{org}"),
            &[("authorization", basic(&key))],
            Some(&json!({"displayName": "x"})),
        )
        .await;
    assert_eq!(patch.status, StatusCode::FORBIDDEN, "{}", patch.body);
    let aliases: Value = app
        .get(&format!("/v1/organizations/{org}/aliases"))
        .await
        .body;
    assert_eq!(aliases["value"].as_array().unwrap().len(), 3);
}

async fn racing_for_one_alias(app: TestApp) {
    for round in 0..10 {
        let first = organization_id(&app, &format!("first-{round}")).await;
        let second = organization_id(&app, &format!("second-{round}")).await;
        let id = format!("R{round}");
        let (a, b) = tokio::join!(
            alias(&app, first, "crm", &id),
            alias(&app, second, "crm", &id)
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
        let owner = if a.status == 201 { first } else { second };
        let found = app
            .get(&format!("/v1/organizations/by-alias/crm/{id}"))
            .await;
        assert_eq!(found.body["id"], owner);
    }
}
