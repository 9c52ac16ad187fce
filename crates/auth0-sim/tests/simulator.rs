//! The simulator over real HTTP: tokens, scopes, rate limits and faults.

use std::time::{Duration, Instant};

mod support;

use auth0_sim::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use serde_json::{json, Value};
use support::{access_token, start, token};

#[tokio::test]
async fn tokens_carry_the_clients_scopes_and_are_checked() {
    let (sim, http) = start(100).await;
    assert_eq!(
        token(&sim, &http, DEFAULT_CLIENT_ID, "wrong")
            .await
            .status(),
        401
    );
    let control = format!("{}/__sim/clients", sim.base_url());
    http.post(&control)
        .json(&json!({"client_id": "reader", "client_secret": "reader-secret", "scopes": ["read:users"]}))
        .send()
        .await
        .unwrap();
    let reply: Value = token(&sim, &http, "reader", "reader-secret")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reply["scope"], "read:users");
    let reader = reply["access_token"].as_str().unwrap();
    let users = format!("{}/api/v2/users", sim.base_url());
    assert_eq!(
        http.get(&users)
            .bearer_auth(reader)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let denied = http
        .post(&users)
        .bearer_auth(reader)
        .json(&json!({"connection": "Username-Password-Authentication", "email": "a@b.co", "password": "Passw0rd!long"}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let body: Value = denied.json().await.unwrap();
    assert_eq!(
        (body["statusCode"].clone(), body["errorCode"].clone()),
        (json!(403), json!("insufficient_scope"))
    );
    assert_eq!(
        http.get(&users)
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(http.get(&users).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn rate_limit_headers_and_429s() {
    let (sim, http) = start(5).await;
    let bearer = access_token(&sim, &http).await;
    let url = format!("{}/api/v2/clients", sim.base_url());
    let mut statuses = Vec::new();
    let mut successes_per_window: std::collections::HashMap<String, u32> = Default::default();
    for _ in 0..12 {
        let reply = http.get(&url).bearer_auth(&bearer).send().await.unwrap();
        for header in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ] {
            assert!(reply.headers().contains_key(header), "{header}");
        }
        assert_eq!(reply.headers()["x-ratelimit-limit"], "5");
        let window = reply.headers()["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .to_owned();
        if reply.status() == 200 {
            *successes_per_window.entry(window).or_default() += 1;
        }
        statuses.push(reply.status().as_u16());
    }
    assert!(
        successes_per_window.values().all(|n| *n <= 5),
        "{successes_per_window:?}"
    );
    // Twelve quick requests span at most two or three windows of five.
    assert!(
        statuses.contains(&429) || successes_per_window.len() >= 3,
        "{statuses:?}"
    );
    let stats: Value = http
        .get(format!("{}/__sim/stats", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["rateLimited"],
        statuses.iter().filter(|s| **s == 429).count()
    );

    http.put(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"burst_429": 2}))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let burst: Vec<u16> = {
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(
                http.get(&url)
                    .bearer_auth(&bearer)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        seen
    };
    assert_eq!(burst, [429, 429, 200]);
}

#[tokio::test]
async fn injected_outages_end() {
    let (sim, http) = start(100).await;
    let bearer = access_token(&sim, &http).await;
    let url = format!(
        "{}/api/v2/connections?name=Username-Password-Authentication",
        sim.base_url()
    );
    http.put(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"fail_for_ms": 300}))
        .send()
        .await
        .unwrap();
    let failed = http.get(&url).bearer_auth(&bearer).send().await.unwrap();
    assert_eq!(failed.status(), 503);
    let body: Value = failed.json().await.unwrap();
    assert_eq!(body["statusCode"], 503);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let recovered: Value = http
        .get(&url)
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recovered[0]["id"], auth0_sim::DEFAULT_CONNECTION_ID);
    http.put(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"latency_ms": 200}))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    http.get(&url).bearer_auth(&bearer).send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn users_by_email_and_json_token_bodies() {
    let (sim, http) = start(100).await;
    let reply = http
        .post(format!("{}/oauth/token", sim.base_url()))
        .json(&json!({"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, "audience": format!("{}/api/v2/", sim.base_url())}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "JSON bodies work as well as forms");
    let bearer = access_token(&sim, &http).await;
    let users = format!("{}/api/v2/users", sim.base_url());
    let body = json!({"connection": "Username-Password-Authentication", "email": "Eve@Example.com", "password": "Passw0rd!long"});
    assert_eq!(
        http.post(&users)
            .bearer_auth(&bearer)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let again = http
        .post(&users)
        .bearer_auth(&bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let found: Value = http
        .get(format!(
            "{}/api/v2/users-by-email?email=eve@example.com",
            sim.base_url()
        ))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1);
    let weak = json!({"connection": "Username-Password-Authentication", "email": "w@example.com", "password": "short"});
    assert_eq!(
        http.post(&users)
            .bearer_auth(&bearer)
            .json(&weak)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
}

/// PATCH /users/{id} holds the limits of `UpdateUserRequestContent`, and
/// answers a value outside them as Auth0 does: 400, naming the property.
#[tokio::test]
async fn user_updates_are_checked_against_the_schema() {
    let (sim, http) = start(100).await;
    let bearer = access_token(&sim, &http).await;
    let created: Value = http
        .post(format!("{}/api/v2/users", sim.base_url()))
        .bearer_auth(&bearer)
        .json(&json!({"connection": "Username-Password-Authentication", "email": "lim@example.com", "password": "Passw0rd!long"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user = format!(
        "{}/api/v2/users/{}",
        sim.base_url(),
        created["user_id"].as_str().unwrap()
    );
    let patch = |body: Value| {
        let request = http.patch(&user).bearer_auth(&bearer).json(&body);
        async move {
            let reply = request.send().await.unwrap();
            let status = reply.status().as_u16();
            (status, reply.json::<Value>().await.unwrap())
        }
    };
    let cases = [
        ("given_name", json!(""), 400),
        ("given_name", json!("g".repeat(150)), 200),
        ("given_name", json!("g".repeat(151)), 400),
        ("family_name", json!(""), 400),
        ("family_name", json!(null), 200),
        ("name", json!("n".repeat(300)), 200),
        ("name", json!("n".repeat(301)), 400),
        ("nickname", json!(""), 400),
        ("nickname", json!("n".repeat(300)), 200),
        ("phone_number", json!("+14155550123"), 200),
        ("phone_number", json!("555-0123"), 400),
        ("email", json!("not-an-email"), 400),
        ("picture", json!("https://cdn.example.com/a.png"), 200),
        ("picture", json!("not a uri"), 400),
        ("given_name", json!(7), 400),
    ];
    for (field, value, expected) in cases {
        let (status, body) = patch(json!({field: value})).await;
        assert_eq!(status, expected, "{field} = {value}: {body}");
        if expected == 400 {
            let message = body["message"].as_str().unwrap();
            assert!(
                message.ends_with(&format!("on property {field}.")),
                "{message}"
            );
            assert_eq!(body["errorCode"], "invalid_body");
        } else {
            assert_eq!(body[field], value);
        }
    }

    // A field refused on purpose, whatever its value.
    http.put(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"refuse_fields": ["family_name"]}))
        .send()
        .await
        .unwrap();
    let (status, body) = patch(json!({"family_name": "Byron"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .ends_with("on property family_name."));
    let (status, _) = patch(json!({"app_metadata": {"k": 1}})).await;
    assert_eq!(status, 200, "other fields are taken");
}
