//! Concurrent PATCHes of different fields of one record, sent to two servers
//! over the same database (two replicas; two processes on one SQLite file):
//! every change must be kept, and `modified` must be the latest write's.

use futures::future::join_all;
use nexus::RunningServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, Reply, TestApp};

both_backends!(
    user_patches_keep_every_field,
    custom_upn_patches_keep_every_field,
    organization_patches_keep_every_field,
    role_patches_keep_every_field,
    idp_tenant_patches_keep_every_field
);

const ROUNDS: usize = 20;

/// The test server and a replica of it: the PATCHes of a round alternate
/// between them.
struct Servers {
    app: TestApp,
    replica: Option<RunningServer>,
    replica_base: String,
}

impl Servers {
    async fn start(app: TestApp) -> Servers {
        let replica = app.replica().await;
        Servers {
            replica_base: format!("http://{}", replica.addr),
            replica: Some(replica),
            app,
        }
    }

    async fn patch(&self, on_replica: bool, path: &str, body: Value) -> Reply {
        let base = if on_replica {
            &self.replica_base
        } else {
            &self.app.base
        };
        let request = self
            .app
            .client
            .patch(format!("{base}{path}"))
            .json(&body)
            .send();
        TestApp::reply(request.await.expect("request sent")).await
    }

    /// `ROUNDS` rounds on the record at `path`: each sends the PATCHes of
    /// `patches(round)` at once, then reads the record back and checks it
    /// with `kept(round, record)`.
    async fn race(
        &self,
        path: &str,
        patches: impl Fn(usize) -> Vec<(String, Value)>,
        kept: impl Fn(usize, &Value),
    ) {
        let mut previous = modified(&self.app.get(path).await.body);
        for round in 0..ROUNDS {
            let replies = join_all(
                patches(round)
                    .into_iter()
                    .enumerate()
                    .map(|(i, (at, body))| async move { self.patch(i % 2 == 1, &at, body).await }),
            )
            .await;
            for reply in &replies {
                assert_eq!(
                    reply.status,
                    StatusCode::OK,
                    "round {round}: {}",
                    reply.body
                );
            }
            let record = self.app.get(path).await;
            assert_eq!(record.status, StatusCode::OK, "{}", record.body);
            kept(round, &record.body);
            let last = replies
                .iter()
                .max_by_key(|reply| modified(&reply.body))
                .expect("a reply");
            // The last write's answer is the full record as it stays.
            assert_eq!(last.body, record.body, "round {round}");
            let latest = modified(&record.body);
            assert!(
                latest > previous,
                "round {round}: modified went from {previous} to {latest}"
            );
            previous = latest;
        }
    }

    async fn stop(mut self) {
        if let Some(replica) = self.replica.take() {
            replica.stop().await.expect("stop replica");
        }
    }
}

fn modified(record: &Value) -> String {
    record["modified"]
        .as_str()
        .unwrap_or_else(|| panic!("no modified in {record}"))
        .to_owned()
}

fn each(path: &str, bodies: Vec<Value>) -> Vec<(String, Value)> {
    bodies.into_iter().map(|b| (path.to_owned(), b)).collect()
}

async fn user_patches_keep_every_field(app: TestApp) {
    let user = app.user().await;
    let path = format!("/v1/users/{user}");
    let servers = Servers::start(app).await;
    servers
        .race(
            &path,
            |r| {
                each(
                    &path,
                    vec![
                        json!({"isBlocked": r.is_multiple_of(2)}),
                        json!({"givenName": format!("Given{r}")}),
                        json!({"familyName": format!("Family{r}")}),
                        json!({"nickname": format!("nick{r}")}),
                    ],
                )
            },
            |r, user| {
                assert_eq!(user["isActive"], !r.is_multiple_of(2), "round {r}: {user}");
                assert_eq!(user["givenName"], format!("Given{r}"), "round {r}");
                assert_eq!(user["familyName"], format!("Family{r}"), "round {r}");
                assert_eq!(user["nickname"], format!("nick{r}"), "round {r}");
            },
        )
        .await;
    servers.stop().await;
}

async fn custom_upn_patches_keep_every_field(app: TestApp) {
    let user = app.user().await;
    let created = app
        .post(
            &format!("/v1/users/{user}/custom-upns"),
            json!({"clientUpnKey": "rdp", "customUpnValue": "start@corp.example.com"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let path = format!(
        "/v1/users/{user}/custom-upns/{}",
        created.body["id"].as_str().expect("id")
    );
    let servers = Servers::start(app).await;
    servers
        .race(
            &path,
            |r| {
                each(
                    &path,
                    vec![
                        json!({"clientUpnKey": format!("key{r}")}),
                        json!({"customUpnValue": format!("u{r}@corp.example.com")}),
                    ],
                )
            },
            |r, upn| {
                assert_eq!(upn["clientUpnKey"], format!("key{r}"), "round {r}");
                assert_eq!(
                    upn["customUpnValue"],
                    format!("u{r}@corp.example.com"),
                    "round {r}"
                );
            },
        )
        .await;
    servers.stop().await;
}

async fn organization_patches_keep_every_field(app: TestApp) {
    let organization = app.organization("race-org").await;
    let path = format!("/v1/organizations/{}", organization["id"]);
    let mfa = format!("{path}/mfa");
    let servers = Servers::start(app).await;
    servers
        .race(
            &path,
            |r| {
                vec![
                    (path.clone(), json!({"displayName": format!("Display {r}")})),
                    (mfa.clone(), json!({"isMfaRequired": r.is_multiple_of(2)})),
                    (
                        path.clone(),
                        json!({"contact": format!("c{r}@example.com")}),
                    ),
                    (
                        path.clone(),
                        json!({"technicalContact": format!("t{r}@example.com")}),
                    ),
                ]
            },
            |r, organization| {
                assert_eq!(organization["displayName"], format!("Display {r}"));
                assert_eq!(
                    organization["isMfaRequired"],
                    r.is_multiple_of(2),
                    "round {r}"
                );
                assert_eq!(organization["contact"], format!("c{r}@example.com"));
                assert_eq!(
                    organization["technicalContact"],
                    format!("t{r}@example.com")
                );
            },
        )
        .await;
    servers.stop().await;
}

/// The permissions of round `r`: they differ from one round to the next.
fn permissions(r: usize) -> Vec<&'static str> {
    if r.is_multiple_of(2) {
        vec!["user.read", "user.write"]
    } else {
        vec!["user.read"]
    }
}

async fn role_patches_keep_every_field(app: TestApp) {
    let created = app
        .post(
            "/v1/roles",
            json!({"name": "race-role", "audience": "https://api.example.com", "permissions": ["user.read"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let path = format!("/v1/roles/{}", created.body["id"].as_str().expect("id"));
    let servers = Servers::start(app).await;
    servers
        .race(
            &path,
            |r| {
                each(
                    &path,
                    vec![
                        json!({"name": format!("race-role-{r}")}),
                        json!({"description": format!("Description {r}")}),
                        json!({"permissions": permissions(r)}),
                    ],
                )
            },
            |r, role| {
                assert_eq!(role["name"], format!("race-role-{r}"), "round {r}");
                assert_eq!(role["description"], format!("Description {r}"));
                let codes: Vec<&str> = role["permissions"]
                    .as_array()
                    .expect("permissions")
                    .iter()
                    .map(|p| p["code"].as_str().expect("code"))
                    .collect();
                assert_eq!(codes, permissions(r), "round {r}");
            },
        )
        .await;
    servers.stop().await;
}

async fn idp_tenant_patches_keep_every_field(app: TestApp) {
    let tenant = app.tenant("race").await;
    let path = format!("/v1/idp_tenants/{}", tenant["id"]);
    let servers = Servers::start(app).await;
    servers
        .race(
            &path,
            |r| {
                each(
                    &path,
                    vec![
                        json!({"azoTenantName": format!("eci-race-{r}")}),
                        json!({"loginDomain": format!("login{r}.race.example.com")}),
                        json!({"fqdn": format!("race{r}.us.auth0.com")}),
                    ],
                )
            },
            |r, tenant| {
                assert_eq!(tenant["azoTenantName"], format!("eci-race-{r}"));
                assert_eq!(tenant["loginDomain"], format!("login{r}.race.example.com"));
                assert_eq!(tenant["fqdn"], format!("race{r}.us.auth0.com"), "round {r}");
            },
        )
        .await;
    servers.stop().await;
}
