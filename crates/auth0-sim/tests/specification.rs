//! Every Management operation the simulator serves, walked over real HTTP:
//! each answer's status is one the Auth0 Management API v2 specification
//! lists for the operation, and its body validates against the schema the
//! specification gives for that status (error statuses, which it leaves
//! without a schema, against Auth0's error shape).
//!
//! `fixtures/auth0-management-api.json` is the specification cut down to
//! the operations the simulator serves and the component schemas they
//! reference, unchanged otherwise (`fixtures/extract.py` makes it).

mod support;

use std::collections::BTreeSet;

use auth0_sim::{Simulator, DEFAULT_CLIENT_ID, DEFAULT_CONNECTION_ID};
use reqwest::Method;
use serde_json::{json, Value};

const SPECIFICATION: &str = include_str!("fixtures/auth0-management-api.json");

/// Auth0's error body.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["statusCode", "error", "message"],
        "additionalProperties": false,
        "properties": {
            "statusCode": {"type": "integer"},
            "error": {"type": "string"},
            "message": {"type": "string"},
            "errorCode": {"type": "string"}
        }
    })
}

struct Spec {
    document: Value,
    checked: BTreeSet<(String, String)>,
}

impl Spec {
    fn load() -> Spec {
        Spec {
            document: serde_json::from_str(SPECIFICATION).expect("the specification parses"),
            checked: BTreeSet::new(),
        }
    }

    /// Every (method, path) the specification extract holds.
    fn operations(&self) -> BTreeSet<(String, String)> {
        let paths = self.document["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                let methods = item.as_object().expect("a path item");
                methods.keys().map(|m| (m.clone(), path.clone()))
            })
            .collect()
    }

    /// Checks one answer of the operation `method template`.
    fn check(&mut self, method: &Method, template: &str, status: u16, body: &Value) {
        let method = method.as_str().to_ascii_lowercase();
        let operation = &self.document["paths"][template][method.as_str()];
        assert!(
            operation.is_object(),
            "{method} {template} is not in the specification"
        );
        let response = &operation["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{method} {template} may not answer {status} (answered {body})"
        );
        let schema = match response.pointer("/content/application~1json/schema") {
            Some(schema) => schema.clone(),
            None if status >= 400 => error_schema(),
            None => {
                assert_eq!(
                    body,
                    &Value::Null,
                    "{method} {template} {status} has no body"
                );
                self.checked.insert((method, template.to_owned()));
                return;
            }
        };
        self.validate(&schema, body)
            .unwrap_or_else(|e| panic!("{method} {template} {status}: {e}\nbody: {body:#}"));
        self.checked.insert((method, template.to_owned()));
    }

    /// Validates `body` against `schema`, whose `$ref`s point into the
    /// specification's `#/components/schemas`.
    fn validate(&self, schema: &Value, body: &Value) -> Result<(), String> {
        let mut root = schema.clone();
        root["components"] = self.document["components"].clone();
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("the schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
}

/// One Management request and its answer.
struct Call {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

struct Walk {
    sim: Simulator,
    http: reqwest::Client,
    bearer: String,
    spec: Spec,
}

enum Body {
    None,
    Json(Value),
    Form(Vec<(&'static str, String)>),
}

impl Walk {
    async fn start() -> Walk {
        let (sim, http) = support::start(1000).await;
        Walk {
            bearer: support::access_token(&sim, &http).await,
            sim,
            http,
            spec: Spec::load(),
        }
    }

    /// Sends `method path` (with `bearer`, if any) and checks the answer
    /// against the operation `template`.
    async fn call_as(
        &mut self,
        bearer: Option<&str>,
        method: Method,
        template: &str,
        path: &str,
        body: Body,
    ) -> Call {
        let url = format!("{}/api/v2{path}", self.sim.base_url());
        let mut request = self.http.request(method.clone(), url);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        request = match body {
            Body::None => request,
            Body::Json(json) => request.json(&json),
            Body::Form(form) => request.form(&form),
        };
        let reply = request.send().await.unwrap();
        let status = reply.status().as_u16();
        let headers = reply.headers().clone();
        let bytes = reply.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "{method} {path} answered {status} with a body that is not JSON: {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        self.spec.check(&method, template, status, &body);
        Call {
            status,
            headers,
            body,
        }
    }

    async fn call(&mut self, method: Method, template: &str, path: &str, body: Body) -> Call {
        let bearer = self.bearer.clone();
        self.call_as(Some(&bearer), method, template, path, body)
            .await
    }

    /// A password login (the Authentication API, outside the Management
    /// specification); its status.
    async fn sign_in(&self, username: &str, password: &str) -> u16 {
        support::sign_in(&self.sim, &self.http, username, password)
            .await
            .status()
            .as_u16()
    }

    async fn get(&mut self, template: &str, path: &str) -> Call {
        self.call(Method::GET, template, path, Body::None).await
    }
}

fn password() -> String {
    "Passw0rd!long-enough".to_owned()
}

#[tokio::test]
async fn every_operation_answers_as_the_specification_says() {
    let mut walk = Walk::start().await;
    let users = "/users";
    let user = "/users/{id}";

    // POST /users: JSON and form bodies, and the refusals.
    let created = walk
        .call(
            Method::POST,
            users,
            users,
            Body::Json(json!({"connection": "Username-Password-Authentication",
                "email": "ada.lovelace@example.com", "password": password()})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        (
            &created.body["name"],
            &created.body["nickname"],
            &created.body["logins_count"]
        ),
        (
            &json!("ada.lovelace@example.com"),
            &json!("ada.lovelace"),
            &json!(0)
        )
    );
    assert!(created.body["picture"]
        .as_str()
        .is_some_and(|p| p.starts_with("https://")));
    let id = created.body["user_id"].as_str().unwrap().to_owned();
    let by_form = walk
        .call(
            Method::POST,
            users,
            users,
            Body::Form(vec![
                ("connection", "Username-Password-Authentication".into()),
                ("email", "grace@example.com".into()),
                ("password", password()),
                ("email_verified", "true".into()),
            ]),
        )
        .await;
    assert_eq!(by_form.status, 201, "{}", by_form.body);
    assert_eq!(by_form.body["email_verified"], true);
    let duplicate = walk
        .call(
            Method::POST,
            users,
            users,
            Body::Json(json!({"connection": "Username-Password-Authentication",
                "email": "ada.lovelace@example.com", "password": password()})),
        )
        .await;
    assert_eq!(duplicate.status, 409);
    let no_connection = walk
        .call(
            Method::POST,
            users,
            users,
            Body::Json(json!({"email": "x@example.com"})),
        )
        .await;
    assert_eq!(no_connection.status, 400);
    let anonymous = walk
        .call_as(None, Method::POST, users, users, Body::Json(json!({})))
        .await;
    assert_eq!(anonymous.status, 401);

    // GET /users: plain, with totals (the users envelope has `length`),
    // an empty page, a refused query.
    let listed = walk.get(users, "/users").await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(2));
    let totals = walk
        .get(users, "/users?include_totals=true&per_page=1")
        .await;
    assert_eq!(
        (&totals.body["length"], &totals.body["total"]),
        (&json!(1), &json!(2))
    );
    let empty = walk.get(users, "/users?per_page=0").await;
    assert_eq!((empty.status, empty.body), (200, json!([])));
    let bad_query = walk.get(users, "/users?q=nickname:x").await;
    assert_eq!(bad_query.status, 400);
    let bad_number = walk.get(users, "/users?per_page=ten").await;
    assert_eq!(
        (bad_number.status, &bad_number.body["errorCode"]),
        (400, &json!("invalid_query_string"))
    );

    // GET /users/{id}: found, unknown, malformed.
    let found = walk.get(user, &format!("/users/{id}")).await;
    assert_eq!(found.body["user_id"], json!(id));
    let unknown = walk.get(user, "/users/auth0|nobody").await;
    assert_eq!(unknown.status, 404);
    let malformed = walk.get(user, "/users/nobody").await;
    assert_eq!(
        (malformed.status, &malformed.body["errorCode"]),
        (400, &json!("invalid_uri"))
    );

    // PATCH /users/{id}: JSON, form, a property the schema lets through,
    // values it refuses, unknown and malformed ids.
    let path = format!("/users/{id}");
    let patched = walk
        .call(
            Method::PATCH,
            user,
            &path,
            Body::Json(json!({"given_name": "Ada", "app_metadata": {"k": 1}})),
        )
        .await;
    assert_eq!(
        (
            patched.status,
            &patched.body["given_name"],
            &patched.body["app_metadata"]
        ),
        (200, &json!("Ada"), &json!({"k": 1}))
    );
    let by_form = walk
        .call(
            Method::PATCH,
            user,
            &path,
            Body::Form(vec![
                ("family_name", "Lovelace".into()),
                ("blocked", "true".into()),
            ]),
        )
        .await;
    assert_eq!(
        (
            by_form.status,
            &by_form.body["family_name"],
            &by_form.body["blocked"]
        ),
        (200, &json!("Lovelace"), &json!(true))
    );
    let extra = walk
        .call(
            Method::PATCH,
            user,
            &path,
            Body::Json(json!({"nickname": "ada", "favourite_colour": "green"})),
        )
        .await;
    assert_eq!(
        (extra.status, &extra.body["nickname"]),
        (200, &json!("ada"))
    );
    assert!(extra.body.get("favourite_colour").is_none());
    for refused in [
        json!({"name": ""}),
        json!({"given_name": "g".repeat(151)}),
        json!({"email": "not-an-email"}),
        json!({"blocked": "yes"}),
    ] {
        let answer = walk
            .call(Method::PATCH, user, &path, Body::Json(refused.clone()))
            .await;
        assert_eq!(
            (answer.status, &answer.body["errorCode"]),
            (400, &json!("invalid_body")),
            "{refused}"
        );
    }
    let unknown = walk
        .call(
            Method::PATCH,
            user,
            "/users/auth0|nobody",
            Body::Json(json!({"name": "x"})),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let malformed = walk
        .call(
            Method::PATCH,
            user,
            "/users/nobody",
            Body::Json(json!({"name": "x"})),
        )
        .await;
    assert_eq!(malformed.status, 400);

    // GET /users-by-email.
    let by_email = "/users-by-email";
    let found = walk
        .get(by_email, "/users-by-email?email=ADA.lovelace@example.com")
        .await;
    assert_eq!(found.body[0]["user_id"], json!(id));
    let missing = walk.get(by_email, by_email).await;
    assert_eq!(missing.status, 400);

    // GET/DELETE /user-blocks/{id}: none, a brute-force block, lifted.
    let blocks = "/user-blocks/{id}";
    let blocks_path = format!("/user-blocks/{id}");
    let none = walk.get(blocks, &blocks_path).await;
    assert_eq!(
        (none.status, &none.body),
        (200, &json!({"blocked_for": []}))
    );
    for _ in 0..10 {
        walk.sign_in("ada.lovelace@example.com", "wrong-password")
            .await;
    }
    let blocked = walk.get(blocks, &blocks_path).await;
    assert_eq!(
        blocked.body["blocked_for"][0]["identifier"],
        "ada.lovelace@example.com"
    );
    let lifted = walk
        .call(Method::DELETE, blocks, &blocks_path, Body::None)
        .await;
    assert_eq!((lifted.status, lifted.body), (204, Value::Null));
    let none = walk.get(blocks, &blocks_path).await;
    assert_eq!(none.body, json!({"blocked_for": []}));
    let again = walk
        .call(Method::DELETE, blocks, &blocks_path, Body::None)
        .await;
    assert_eq!(again.status, 204);
    let unknown = walk.get(blocks, "/user-blocks/auth0|nobody").await;
    assert_eq!(unknown.status, 404);
    let unknown = walk
        .call(
            Method::DELETE,
            blocks,
            "/user-blocks/auth0|nobody",
            Body::None,
        )
        .await;
    assert_eq!(unknown.status, 404);
    let malformed = walk.get(blocks, "/user-blocks/nobody").await;
    assert_eq!(malformed.status, 400);

    // POST /tickets/password-change: by user id, by e-mail and connection,
    // and the refusals.
    let tickets = "/tickets/password-change";
    let by_id = walk
        .call(
            Method::POST,
            tickets,
            tickets,
            Body::Json(json!({"user_id": id, "ttl_sec": 60})),
        )
        .await;
    assert_eq!(by_id.status, 201, "{}", by_id.body);
    assert!(by_id.body["ticket"]
        .as_str()
        .unwrap()
        .contains("/lo/reset?ticket="));
    let by_email = walk
        .call(
            Method::POST,
            tickets,
            tickets,
            Body::Json(json!({"email": "ada.lovelace@example.com", "connection_id": DEFAULT_CONNECTION_ID})),
        )
        .await;
    assert_eq!(by_email.status, 201, "{}", by_email.body);
    for (refused, status) in [
        (json!({}), 400),
        (json!({"user_id": id, "colour": "green"}), 400),
        (json!({"user_id": id, "ttl_sec": "soon"}), 400),
        (json!({"user_id": "auth0|nobody"}), 404),
    ] {
        let answer = walk
            .call(Method::POST, tickets, tickets, Body::Json(refused.clone()))
            .await;
        assert_eq!(answer.status, status, "{refused}: {}", answer.body);
    }

    // POST /jobs/verification-email and GET /jobs/{id}.
    let verification = "/jobs/verification-email";
    let job = walk
        .call(
            Method::POST,
            verification,
            verification,
            Body::Json(json!({"user_id": id})),
        )
        .await;
    assert_eq!(
        (job.status, &job.body["type"]),
        (201, &json!("verification_email"))
    );
    let job_id = job.body["id"].as_str().unwrap().to_owned();
    let found = walk.get("/jobs/{id}", &format!("/jobs/{job_id}")).await;
    assert_eq!(
        (found.status, &found.body["status"]),
        (200, &json!("completed"))
    );
    let unknown = walk.get("/jobs/{id}", "/jobs/job_nothere").await;
    assert_eq!(unknown.status, 404);
    for (refused, status) in [
        (json!({}), 400),
        (json!({"user_id": id, "colour": "green"}), 400),
        (json!({"user_id": "auth0|nobody"}), 400),
    ] {
        let answer = walk
            .call(
                Method::POST,
                verification,
                verification,
                Body::Json(refused.clone()),
            )
            .await;
        assert_eq!(answer.status, status, "{refused}: {}", answer.body);
    }

    // POST /guardian/enrollments/ticket and GET /users/{id}/enrollments:
    // none, then one confirmed through the ticket's page.
    let enrollments = "/users/{id}/enrollments";
    let enrollments_path = format!("/users/{id}/enrollments");
    let none = walk.get(enrollments, &enrollments_path).await;
    assert_eq!((none.status, &none.body), (200, &json!([])));
    let guardian = "/guardian/enrollments/ticket";
    let ticket = walk
        .call(
            Method::POST,
            guardian,
            guardian,
            Body::Json(json!({"user_id": id, "send_mail": false, "factor": "otp"})),
        )
        .await;
    assert_eq!(ticket.status, 200, "{}", ticket.body);
    let ticket_id = ticket.body["ticket_id"].as_str().unwrap().to_owned();
    let secret =
        support::enrollment_secret(&walk.http, ticket.body["ticket_url"].as_str().unwrap()).await;
    let confirmed = support::confirm_enrollment(&walk.sim, &walk.http, &ticket_id, &secret).await;
    assert_eq!(confirmed, 200);
    let one = walk.get(enrollments, &enrollments_path).await;
    assert_eq!(one.body[0]["status"], "confirmed", "{}", one.body);
    let mailed = walk
        .call(
            Method::POST,
            guardian,
            guardian,
            Body::Form(vec![("user_id", id.clone()), ("send_mail", "true".into())]),
        )
        .await;
    assert_eq!(mailed.status, 200, "{}", mailed.body);
    for (refused, status) in [
        (json!({}), 400),
        (json!({"user_id": id, "colour": "green"}), 400),
        (json!({"user_id": id, "send_mail": "yes"}), 400),
        (json!({"user_id": id, "factor": "carrier-pigeon"}), 400),
        (json!({"user_id": "nobody"}), 400),
        (json!({"user_id": "auth0|nobody"}), 404),
    ] {
        let answer = walk
            .call(
                Method::POST,
                guardian,
                guardian,
                Body::Json(refused.clone()),
            )
            .await;
        assert_eq!(answer.status, status, "{refused}: {}", answer.body);
    }
    let unknown = walk
        .get(enrollments, "/users/auth0|nobody/enrollments")
        .await;
    assert_eq!(unknown.status, 404);

    // POST /jobs/users-exports, and GET /jobs/{id} until it completes.
    let exports = "/jobs/users-exports";
    let export = walk
        .call(
            Method::POST,
            exports,
            exports,
            Body::Json(
                json!({"connection_id": DEFAULT_CONNECTION_ID, "format": "json",
                "fields": [{"name": "user_id"}, {"name": "email", "export_as": "mail"}]}),
            ),
        )
        .await;
    assert_eq!(
        (export.status, &export.body["status"]),
        (200, &json!("pending"))
    );
    let job = format!("/jobs/{}", export.body["id"].as_str().unwrap());
    let first = walk.get("/jobs/{id}", &job).await;
    assert_eq!(first.body["status"], "pending");
    let done = walk.get("/jobs/{id}", &job).await;
    assert_eq!(done.body["status"], "completed");
    assert!(done.body["location"].is_string(), "{}", done.body);
    let all = walk
        .call(Method::POST, exports, exports, Body::Json(json!({})))
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    for refused in [
        json!({"format": "xml"}),
        json!({"connection_id": "con_nothere000000000"}),
        json!({"connection_id": "not-a-connection"}),
        json!({"limit": 0}),
        json!({"fields": [{"export_as": "nameless"}]}),
        json!({"fields": [{"name": "email", "colour": "green"}]}),
        json!({"colour": "green"}),
    ] {
        let answer = walk
            .call(Method::POST, exports, exports, Body::Json(refused.clone()))
            .await;
        assert_eq!(answer.status, 400, "{refused}: {}", answer.body);
    }

    // GET /clients: plain, with totals (no `length` there), an empty page.
    let clients = "/clients";
    let plain = walk.get(clients, clients).await;
    assert_eq!(plain.body[0]["client_id"], DEFAULT_CLIENT_ID);
    let totals = walk.get(clients, "/clients?include_totals=true").await;
    assert_eq!(totals.body["total"], 1);
    assert!(totals.body.get("length").is_none(), "{}", totals.body);
    let empty = walk.get(clients, "/clients?per_page=0").await;
    assert_eq!((empty.status, empty.body), (200, json!([])));

    // POST /clients: made with its settings and metadata (its secret shown
    // once), a refused body; GET /clients with `fields`, GET /clients/{id}.
    let app = walk
        .call(
            Method::POST,
            clients,
            clients,
            Body::Json(json!({"name": "Portal", "app_type": "regular_web",
                "callbacks": ["https://portal.example.com/cb"],
                "refresh_token": {"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 3},
                "client_metadata": {"app_upn_key": "rdp", "owners": "u-1"}})),
        )
        .await;
    assert_eq!(app.status, 201, "{}", app.body);
    assert_eq!(
        (
            &app.body["app_type"],
            &app.body["client_metadata"]["app_upn_key"]
        ),
        (&json!("regular_web"), &json!("rdp"))
    );
    assert!(app.body["client_secret"]
        .as_str()
        .is_some_and(|s| s.len() == 64));
    let app_id = app.body["client_id"].as_str().unwrap().to_owned();
    for refused in [json!({}), json!({"name": "x", "unheard_of": 1})] {
        let answer = walk
            .call(Method::POST, clients, clients, Body::Json(refused.clone()))
            .await;
        assert_eq!(answer.status, 400, "{refused}: {}", answer.body);
    }
    let some = walk
        .get(
            clients,
            "/clients?fields=client_id,name&include_fields=true",
        )
        .await;
    assert_eq!(some.body[1], json!({"client_id": app_id, "name": "Portal"}));
    assert!(some.body[1].get("client_secret").is_none());
    let client = "/clients/{id}";
    let found = walk.get(client, &format!("/clients/{app_id}")).await;
    assert_eq!(
        found.body["callbacks"],
        json!(["https://portal.example.com/cb"])
    );
    assert!(found.body.get("client_secret").is_none(), "{}", found.body);
    let unknown = walk.get(client, "/clients/nothere").await;
    assert_eq!(unknown.status, 404);

    // GET and PATCH /connections/{id}/clients: enabled, then disabled, and
    // the refusals.
    let enabled = "/connections/{id}/clients";
    let path_of = format!("/connections/{DEFAULT_CONNECTION_ID}/clients");
    let before = walk.get(enabled, &path_of).await;
    assert_eq!(
        before.body,
        json!({"clients": [{"client_id": DEFAULT_CLIENT_ID}]})
    );
    let patch = |status: bool| Body::Json(json!([{"client_id": app_id, "status": status}]));
    let on = walk
        .call(Method::PATCH, enabled, &path_of, patch(true))
        .await;
    assert_eq!(on.status, 204, "{}", on.body);
    let paged = walk.get(enabled, &format!("{path_of}?take=1")).await;
    assert_eq!(paged.body["next"], "1");
    let rest = walk.get(enabled, &format!("{path_of}?take=1&from=1")).await;
    assert_eq!(rest.body, json!({"clients": [{"client_id": app_id}]}));
    let off = walk
        .call(Method::PATCH, enabled, &path_of, patch(false))
        .await;
    assert_eq!(off.status, 204);
    assert_eq!(walk.get(enabled, &path_of).await.body, before.body);
    for (path, body, status) in [
        (
            "/connections/con_nothere/clients".to_owned(),
            patch(true),
            404,
        ),
        (
            path_of.clone(),
            Body::Json(json!([{"client_id": "nothere", "status": true}])),
            404,
        ),
        (path_of.clone(), Body::Json(json!([])), 400),
        (
            path_of.clone(),
            Body::Json(json!([{"client_id": app_id}])),
            400,
        ),
        ("/connections/nope/clients".to_owned(), patch(true), 400),
    ] {
        let answer = walk.call(Method::PATCH, enabled, &path, body).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
    }
    let unknown = walk.get(enabled, "/connections/con_nothere/clients").await;
    assert_eq!(unknown.status, 404);
    let bad_take = walk.get(enabled, &format!("{path_of}?take=0")).await;
    assert_eq!(bad_take.status, 400);

    // GET /connections: plain, with totals, several strategies, a page size
    // below the minimum of 1.
    let connections = "/connections";
    let plain = walk.get(connections, connections).await;
    assert_eq!(plain.body[0]["id"], DEFAULT_CONNECTION_ID);
    assert!(plain.body[0].get("enabled_clients").is_none());
    let totals = walk
        .get(connections, "/connections?include_totals=true")
        .await;
    assert!(totals.body.get("length").is_none(), "{}", totals.body);
    let strategies = walk
        .get(connections, "/connections?strategy=samlp&strategy=auth0")
        .await;
    assert_eq!(strategies.body[0]["strategy"], "auth0");
    let none = walk.get(connections, "/connections?strategy=samlp").await;
    assert_eq!(none.body, json!([]));
    let zero = walk.get(connections, "/connections?per_page=0").await;
    assert_eq!(
        (zero.status, &zero.body["errorCode"]),
        (400, &json!("invalid_query_string"))
    );

    // GET /connections/{id}: found, unknown, malformed.
    let connection = "/connections/{id}";
    let found = walk
        .get(connection, &format!("/connections/{DEFAULT_CONNECTION_ID}"))
        .await;
    assert_eq!(found.body["enabled_clients"], json!([DEFAULT_CLIENT_ID]));
    let unknown = walk.get(connection, "/connections/con_nothere").await;
    assert_eq!(unknown.status, 404);
    let malformed = walk.get(connection, "/connections/not-a-connection").await;
    assert_eq!(malformed.status, 400);

    // POST /log-streams (an http stream; the refusals), GET /log-streams,
    // GET and DELETE /log-streams/{id}.
    let streams = "/log-streams";
    let stream = "/log-streams/{id}";
    let created = walk
        .call(
            Method::POST,
            streams,
            streams,
            Body::Json(json!({"name": "nexus", "type": "http", "sink": {
                "httpEndpoint": "https://nexus.example.com/v1/idp_tenants/us-1/log-stream",
                "httpAuthorization": "Bearer log-stream-token-0123456789",
                "httpContentFormat": "JSONLINES", "httpContentType": "application/json"}})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(
        (
            &created.body["status"],
            &created.body["sink"]["httpContentFormat"]
        ),
        (&json!("active"), &json!("JSONLINES"))
    );
    let stream_id = created.body["id"].as_str().unwrap().to_owned();
    for refused in [
        json!({"type": "http"}),
        json!({"type": "http", "sink": {"httpEndpoint": "ftp://nexus.example.com"}}),
        json!({"type": "http", "sink": {"httpEndpoint": "http://nexus.example.com/"}}),
        json!({"type": "http", "sink": {"httpEndpoint": "https://n.example.com", "httpContentFormat": "XML"}}),
        json!({"type": "http", "sink": {"httpEndpoint": "https://n.example.com", "colour": "green"}}),
        json!({"type": "http", "sink": {"httpEndpoint": "https://n.example.com"}, "colour": "green"}),
    ] {
        let answer = walk
            .call(Method::POST, streams, streams, Body::Json(refused.clone()))
            .await;
        assert_eq!(answer.status, 400, "{refused}: {}", answer.body);
    }
    let listed = walk.get(streams, streams).await;
    assert_eq!(listed.body[0]["id"], stream_id.as_str());
    let found = walk.get(stream, &format!("/log-streams/{stream_id}")).await;
    assert_eq!(found.body["name"], "nexus");
    let gone = walk
        .call(
            Method::DELETE,
            stream,
            &format!("/log-streams/{stream_id}"),
            Body::None,
        )
        .await;
    assert_eq!(gone.status, 204);
    let unknown = walk.get(stream, &format!("/log-streams/{stream_id}")).await;
    assert_eq!(unknown.status, 404);
    let again = walk
        .call(
            Method::DELETE,
            stream,
            &format!("/log-streams/{stream_id}"),
            Body::None,
        )
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(walk.get(streams, streams).await.body, json!([]));

    // DELETE /users/{id}: done, and a malformed id.
    let deleted = walk.call(Method::DELETE, user, &path, Body::None).await;
    assert_eq!(deleted.status, 204);
    let malformed = walk
        .call(Method::DELETE, user, "/users/nobody", Body::None)
        .await;
    assert_eq!(malformed.status, 400);

    // A rate-limited answer is an answer of every operation.
    walk.http
        .put(format!("{}/__sim/faults", walk.sim.base_url()))
        .json(&json!({"burst_429": 1}))
        .send()
        .await
        .unwrap();
    let limited = walk.get(users, users).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");

    assert_eq!(
        walk.spec.checked,
        walk.spec.operations(),
        "operations walked"
    );
}

/// What the log streams post: each event in the stream's format with its
/// Authorization header, and each event an Auth0 log event (the
/// specification's `Log`).
#[tokio::test]
async fn log_streams_post_auth0_log_events() {
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let sink = received.clone();
    let receiver = axum::Router::new().route(
        "/events/{format}",
        axum::routing::post(
            move |axum::extract::Path(format): axum::extract::Path<String>,
                  headers: axum::http::HeaderMap,
                  body: String| {
                let sink = sink.clone();
                async move {
                    let authorization = headers["authorization"].to_str().unwrap().to_owned();
                    sink.lock().unwrap().push((format, authorization, body));
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let mut walk = Walk::start().await;
    // A loopback receiver over plain http: the simulator's one liberty with
    // the specification (which requires https), so not checked against it.
    for format in ["JSONARRAY", "JSONLINES", "JSONOBJECT"] {
        let created = walk
            .http
            .post(format!("{}/api/v2/log-streams", walk.sim.base_url()))
            .bearer_auth(&walk.bearer)
            .json(&json!({"type": "http", "sink": {"httpEndpoint": format!("{endpoint}/{format}"),
                "httpAuthorization": format!("Bearer token-{format}"), "httpContentFormat": format}}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 200);
    }
    let user = walk
        .call(
            Method::POST,
            "/users",
            "/users",
            Body::Json(json!({"connection": "Username-Password-Authentication",
                "email": "streamed@example.com", "password": password()})),
        )
        .await;
    let id = user.body["user_id"].as_str().unwrap().to_owned();
    let path = format!("/users/{id}");
    let verified = walk
        .call(
            Method::PATCH,
            "/users/{id}",
            &path,
            Body::Json(json!({"email_verified": true})),
        )
        .await;
    assert_eq!(verified.status, 200);
    let changed = walk
        .call(
            Method::PATCH,
            "/users/{id}",
            &path,
            Body::Json(json!({"password": "Another-Passw0rd!"})),
        )
        .await;
    assert_eq!(changed.status, 200);
    for _ in 0..10 {
        walk.sign_in("streamed@example.com", "wrong-password").await;
    }
    let deleted = walk
        .call(Method::DELETE, "/users/{id}", &path, Body::None)
        .await;
    assert_eq!(deleted.status, 204);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while received.lock().unwrap().len() < 12 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            received.lock().unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 12, "{received:?}");
    let log = json!({"$ref": "#/components/schemas/Log"});
    let mut types = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut ids = BTreeSet::new();
    for (format, authorization, body) in received {
        assert_eq!(authorization, format!("Bearer token-{format}"));
        let event: Value = match format.as_str() {
            "JSONARRAY" => {
                let events: Vec<Value> = serde_json::from_str(&body).unwrap();
                assert_eq!(events.len(), 1);
                events[0].clone()
            }
            "JSONLINES" => {
                assert!(body.ends_with('\n') && body.lines().count() == 1, "{body}");
                serde_json::from_str(body.trim_end()).unwrap()
            }
            _ => serde_json::from_str(&body).unwrap(),
        };
        let data = &event["data"];
        walk.spec
            .validate(&log, data)
            .unwrap_or_else(|e| panic!("{e}: {data}"));
        assert_eq!(data["user_id"], id.as_str());
        assert_eq!(data["user_name"], "streamed@example.com");
        assert_eq!(data["log_id"], event["log_id"]);
        ids.insert(event["log_id"].as_str().unwrap().to_owned());
        types
            .entry(format)
            .or_default()
            .push(data["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        ids.len(),
        4,
        "each event has its own log_id, the same on every stream"
    );
    for (format, mut seen) in types {
        seen.sort();
        assert_eq!(seen, ["limit_wc", "scp", "sdu", "sv"], "{format}");
    }
}

/// The check has teeth: answers the simulator used to give fail it.
#[test]
fn the_check_refuses_answers_auth0_does_not_give() {
    let mut spec = Spec::load();
    let get = Method::GET;
    let refused = [
        (
            "/clients",
            200,
            json!({"start": 0, "limit": 50, "length": 1, "total": 1, "clients": [{"client_id": "a"}]}),
        ),
        (
            "/connections",
            200,
            json!([{"id": "con_a", "name": "a", "strategy": "auth0", "enabled_clients": []}]),
        ),
        ("/users/{id}", 200, json!({"user_id": 7})),
        ("/users/{id}", 400, json!("Bad Request")),
    ];
    for (template, status, body) in refused {
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            spec.check(&get, template, status, &body)
        }));
        assert!(answer.is_err(), "{template} {status} {body} passed");
    }
    spec.check(
        &get,
        "/clients",
        200,
        &json!({"start": 0, "limit": 50, "total": 1, "clients": [{"client_id": "a"}]}),
    );
}
