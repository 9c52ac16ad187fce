//! The client against a scripted local server (retries, token cache) and
//! against the Auth0 simulator (the real operations).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth0::{Config, CreateUser, Error, ManagementClient, UpdateUserRequestContent};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

/// A scripted reply: status and extra headers.
type Reply = (u16, Vec<(&'static str, String)>);

/// A scripted tenant: answers `GET /api/v2/users/{id}` from a queue of
/// (status, headers) replies (then 200), counting token and user requests.
#[derive(Clone, Default)]
struct Script {
    replies: Arc<Mutex<Vec<Reply>>>,
    tokens: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    delay: Arc<Mutex<Duration>>,
}

async fn scripted(script: Script) -> String {
    let tokens = script.clone();
    let users = script.clone();
    let app = Router::new()
        .route(
            "/oauth/token",
            post(move || {
                let script = tokens.clone();
                async move {
                    let n = script.tokens.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Json(json!({"access_token": format!("token-{n}"), "expires_in": 3600, "token_type": "Bearer"}))
                }
            }),
        )
        .route(
            "/api/v2/users/{id}",
            get(move |headers: HeaderMap| {
                let script = users.clone();
                async move {
                    script.calls.fetch_add(1, Ordering::SeqCst);
                    let delay = *script.delay.lock().unwrap();
                    tokio::time::sleep(delay).await;
                    let next = {
                        let mut replies = script.replies.lock().unwrap();
                        (!replies.is_empty()).then(|| replies.remove(0))
                    };
                    let token = headers["authorization"].to_str().unwrap().to_owned();
                    match next {
                        // The token used comes back in user_metadata.
                        None => Json(json!({"user_id": "auth0|1", "user_metadata": {"token": token}}))
                            .into_response(),
                        Some((status, extra)) => {
                            let mut response: Response = (
                                StatusCode::from_u16(status).unwrap(),
                                Json(json!({"statusCode": status, "error": "E", "message": "scripted", "errorCode": "scripted_error"})),
                            )
                                .into_response();
                            for (name, value) in extra {
                                response.headers_mut().insert(name, value.parse().unwrap());
                            }
                            response
                        }
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// The bearer token the scripted tenant saw, as it echoes it.
fn token_used(user: &auth0::User) -> serde_json::Value {
    user.user_metadata.as_ref().unwrap()["token"].clone()
}

fn client(base: &str) -> ManagementClient {
    let mut config = Config::new(base, "id", "secret");
    config.backoff = Duration::from_millis(20);
    config.timeout = Duration::from_millis(500);
    ManagementClient::new(config)
}

#[tokio::test]
async fn concurrent_callers_share_one_token() {
    let script = Script::default();
    let client = client(&scripted(script.clone()).await);
    let results = futures::future::join_all((0..20).map(|_| client.get_user("auth0|1"))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        script.tokens.load(Ordering::SeqCst),
        1,
        "one token fetch for twenty callers"
    );
    assert_eq!(
        token_used(results[0].as_ref().unwrap()),
        json!("Bearer token-0")
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let script = Script::default();
    script
        .replies
        .lock()
        .unwrap()
        .extend([(503, vec![]), (502, vec![])]);
    let client = client(&scripted(script.clone()).await);
    assert_eq!(
        client.get_user("auth0|1").await.unwrap().user_id.as_deref(),
        Some("auth0|1")
    );
    assert_eq!(script.calls.load(Ordering::SeqCst), 3);

    script.replies.lock().unwrap().extend([
        (500, vec![]),
        (500, vec![]),
        (500, vec![]),
        (500, vec![]),
    ]);
    let failed = client.get_user("auth0|1").await.unwrap_err();
    assert!(matches!(failed, Error::Unavailable(_)), "{failed:?}");
    assert!(failed.is_transient());
}

#[tokio::test]
async fn rate_limits_are_waited_out() {
    let script = Script::default();
    script
        .replies
        .lock()
        .unwrap()
        .push((429, vec![("retry-after", "1".into())]));
    let client = client(&scripted(script.clone()).await);
    let started = Instant::now();
    client.get_user("auth0|1").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );

    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    script
        .replies
        .lock()
        .unwrap()
        .push((429, vec![("x-ratelimit-reset", reset.to_string())]));
    let started = Instant::now();
    client.get_user("auth0|1").await.unwrap();
    let until_reset = Duration::from_secs(reset)
        .saturating_sub(SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
    assert!(
        started.elapsed() > Duration::from_millis(10) && until_reset <= Duration::from_millis(50),
        "waited for X-RateLimit-Reset"
    );

    let mut strict = Config::new(&scripted(script.clone()).await, "id", "secret");
    strict.max_rate_limit_wait = Duration::from_millis(100);
    script
        .replies
        .lock()
        .unwrap()
        .push((429, vec![("retry-after", "5".into())]));
    let limited = ManagementClient::new(strict)
        .get_user("auth0|1")
        .await
        .unwrap_err();
    assert!(matches!(limited, Error::RateLimited { .. }), "{limited:?}");
}

#[tokio::test]
async fn errors_are_typed_and_tokens_refreshed_once() {
    let script = Script::default();
    script.replies.lock().unwrap().push((404, vec![]));
    let client = client(&scripted(script.clone()).await);
    match client.get_user("auth0|gone").await.unwrap_err() {
        Error::Api {
            status,
            error_code,
            message,
            ..
        } => {
            assert_eq!(
                (status, error_code.as_str(), message.as_str()),
                (404, "scripted_error", "scripted")
            );
        }
        other => panic!("{other:?}"),
    }
    script.replies.lock().unwrap().push((401, vec![]));
    let user = client.get_user("auth0|1").await.unwrap();
    assert_eq!(
        token_used(&user),
        json!("Bearer token-1"),
        "a 401 fetches a new token and retries"
    );
    assert_eq!(script.tokens.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let script = Script::default();
    *script.delay.lock().unwrap() = Duration::from_secs(2);
    let client = client(&scripted(script.clone()).await);
    let started = Instant::now();
    let failed = client.get_user("auth0|1").await.unwrap_err();
    assert!(matches!(failed, Error::Unavailable(_)), "{failed:?}");
    assert_eq!(
        script.calls.load(Ordering::SeqCst),
        4,
        "every attempt timed out"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn invalid_updates_are_not_sent() {
    let script = Script::default();
    let client = client(&scripted(script.clone()).await);
    let body = UpdateUserRequestContent {
        phone_number: Some(Some("555".into())),
        ..Default::default()
    };
    assert!(matches!(
        client.update_user("auth0|1", &body).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(
        script.tokens.load(Ordering::SeqCst) + script.calls.load(Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn against_the_simulator() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = auth0_sim::serve(listener, 100).await.unwrap();
    let client = ManagementClient::new(Config::new(
        &sim.base_url(),
        auth0_sim::DEFAULT_CLIENT_ID,
        auth0_sim::DEFAULT_CLIENT_SECRET,
    ));
    let created = client
        .create_user(&CreateUser {
            connection: auth0_sim::DEFAULT_CONNECTION.into(),
            email: Some("ada@example.com".into()),
            password: Some("Passw0rd!long".into()),
            ..CreateUser::default()
        })
        .await
        .unwrap();
    let id = created.user_id.as_deref().unwrap();
    let update = UpdateUserRequestContent {
        given_name: Some(Some("Ada".into())),
        app_metadata: Some(
            json!({"nexus_user_id": "u1", "custom_upns": {"rdp": "ada@corp.example.com"}}),
        ),
        ..Default::default()
    };
    let updated = client.update_user(id, &update).await.unwrap();
    assert_eq!(updated.given_name.as_deref(), Some("Ada"));
    assert_eq!(
        updated.app_metadata.unwrap()["custom_upns"]["rdp"],
        "ada@corp.example.com"
    );
    let cleared = UpdateUserRequestContent {
        app_metadata: Some(json!({"custom_upns": null})),
        ..Default::default()
    };
    assert_eq!(
        json!(client.update_user(id, &cleared).await.unwrap().app_metadata),
        json!({"nexus_user_id": "u1"})
    );
    assert_eq!(
        client
            .users_by_email("ada@example.com")
            .await
            .unwrap()
            .len(),
        1
    );
    let page = client
        .list_users(0, 10, Some(&format!("user_id:\"{id}\"")))
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (Some(1), 1));
    let connection = client
        .connection_by_name(auth0_sim::DEFAULT_CONNECTION)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        connection.id.as_deref(),
        Some(auth0_sim::DEFAULT_CONNECTION_ID)
    );
    assert_eq!(connection.strategy.as_deref(), Some("auth0"));
    let detail = client
        .get_connection(auth0_sim::DEFAULT_CONNECTION_ID)
        .await
        .unwrap();
    assert_eq!(detail.name.as_deref(), Some(auth0_sim::DEFAULT_CONNECTION));
    assert_eq!(
        detail.enabled_clients,
        Some(vec![auth0_sim::DEFAULT_CLIENT_ID.to_owned()])
    );
    // A connection's enabled clients: read, changed, read back.
    let connection = auth0_sim::DEFAULT_CONNECTION_ID;
    let enabled = client.all_connection_clients(connection).await.unwrap();
    assert_eq!(enabled, [auth0_sim::DEFAULT_CLIENT_ID]);
    client
        .update_connection_clients(connection, &[(auth0_sim::DEFAULT_CLIENT_ID, false)])
        .await
        .unwrap();
    assert!(client
        .all_connection_clients(connection)
        .await
        .unwrap()
        .is_empty());
    client
        .update_connection_clients(connection, &[(auth0_sim::DEFAULT_CLIENT_ID, true)])
        .await
        .unwrap();
    let missing = client
        .all_connection_clients("con_nothere")
        .await
        .unwrap_err();
    assert_eq!(missing.status(), Some(404));
    let me = client
        .get_client(auth0_sim::DEFAULT_CLIENT_ID)
        .await
        .unwrap();
    assert_eq!(me.name.as_deref(), Some("Nexus (simulator)"));
    assert_eq!(
        client.get_client("nothere").await.unwrap_err().status(),
        Some(404)
    );
    assert!(client.connection_by_name("nope").await.unwrap().is_none());
    assert_eq!(
        client.all_clients().await.unwrap()[0].client_id.as_deref(),
        Some(auth0_sim::DEFAULT_CLIENT_ID)
    );
    client.delete_user(id).await.unwrap();
    assert_eq!(client.get_user(id).await.unwrap_err().status(), Some(404));
}

/// A create whose answer is lost (Auth0 made the account, the client timed
/// out) is not sent again blindly: the client finds the account it asked for.
#[tokio::test]
async fn a_create_that_times_out_makes_one_account() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = auth0_sim::serve(listener, 100).await.unwrap();
    let mut config = Config::new(
        &sim.base_url(),
        auth0_sim::DEFAULT_CLIENT_ID,
        auth0_sim::DEFAULT_CLIENT_SECRET,
    );
    config.timeout = Duration::from_millis(500);
    config.backoff = Duration::from_millis(20);
    let client = ManagementClient::new(config);
    let http = reqwest::Client::new();
    http.put(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"late_routes": ["POST /api/v2/users"], "late_answer_ms": 1500, "late_answers": 1}))
        .send()
        .await
        .unwrap();
    let created = client
        .create_user(&CreateUser {
            connection: auth0_sim::DEFAULT_CONNECTION.into(),
            email: Some("once@example.com".into()),
            password: Some("Passw0rd!long".into()),
            ..CreateUser::default()
        })
        .await
        .expect("the create is reported as done");
    let accounts = client.users_by_email("once@example.com").await.unwrap();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(created.user_id, accounts[0].user_id);
    let stats: serde_json::Value = http
        .get(format!("{}/__sim/stats", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["users"], 1, "{stats}");
    assert_eq!(stats["requests"]["POST /api/v2/users"], 1, "{stats}");
}

/// A create that failed with a 5xx before Auth0 made anything is tried
/// again once the client has checked that no account exists.
#[tokio::test]
async fn a_create_refused_by_a_5xx_is_sent_again_after_a_check() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = auth0_sim::serve(listener, 100).await.unwrap();
    let mut config = Config::new(
        &sim.base_url(),
        auth0_sim::DEFAULT_CLIENT_ID,
        auth0_sim::DEFAULT_CLIENT_SECRET,
    );
    config.backoff = Duration::from_millis(300);
    let client = ManagementClient::new(config);
    // A token first, so that only the create meets the outage.
    client.users_by_email("nobody@example.com").await.unwrap();
    reqwest::Client::new()
        .put(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"fail_for_ms": 100, "fail_methods": ["POST"]}))
        .send()
        .await
        .unwrap();
    let created = client
        .create_user(&CreateUser {
            connection: auth0_sim::DEFAULT_CONNECTION.into(),
            email: Some("again@example.com".into()),
            password: Some("Passw0rd!long".into()),
            ..CreateUser::default()
        })
        .await
        .expect("created on a later attempt");
    let accounts = client.users_by_email("again@example.com").await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(created.user_id, accounts[0].user_id);
}

/// The clients list is read page by page from envelopes shaped as the
/// specification has them (no `length`), until the total is reached.
#[tokio::test]
async fn all_clients_pages_through_specified_envelopes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = auth0_sim::serve(listener, 1000).await.unwrap();
    let http = reqwest::Client::new();
    for n in 0..150 {
        http.post(format!("{}/__sim/clients", sim.base_url()))
            .json(&json!({"client_id": format!("app-{n:03}"), "client_secret": "s"}))
            .send()
            .await
            .unwrap();
    }
    let client = ManagementClient::new(Config::new(
        &sim.base_url(),
        auth0_sim::DEFAULT_CLIENT_ID,
        auth0_sim::DEFAULT_CLIENT_SECRET,
    ));
    let first = client.list_clients(0, 100).await.unwrap();
    assert_eq!(
        (first.start, first.limit, first.total, first.items.len()),
        (0, 100, Some(151), 100)
    );
    let all = client.all_clients().await.unwrap();
    let ids: std::collections::BTreeSet<&str> = all
        .iter()
        .map(|c| c.client_id.as_deref().unwrap())
        .collect();
    assert_eq!((all.len(), ids.len()), (151, 151));
    assert!(ids.contains("app-149") && ids.contains(auth0_sim::DEFAULT_CLIENT_ID));
}
