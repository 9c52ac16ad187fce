//! `GET /metrics`: what operators scrape.

use reqwest::{Method, StatusCode};

use crate::support::{basic, both_backends, TestApp};

both_backends!(
    requests_are_counted_by_route_and_status,
    refusals_are_counted_by_reason
);

/// Each refused request counts once, under why it was refused.
async fn refusals_are_counted_by_reason(app: TestApp) {
    let me = |headers: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            app.request_as(Method::GET, "/v1/me", &headers, None)
                .await
                .status
        }
    };
    assert_eq!(me(vec![]).await, StatusCode::UNAUTHORIZED);
    let reader = app.key("user.read").await;
    let (id, _) = reader.split_once(':').unwrap();
    let wrong = basic(&format!("{id}:not-the-secret-at-all"));
    assert_eq!(
        me(vec![("authorization", wrong.clone())]).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me(vec![("authorization", wrong)]).await,
        StatusCode::UNAUTHORIZED
    );
    let forbidden = app
        .request_as(
            Method::GET,
            "/v1/roles",
            &[("authorization", basic(&reader))],
            None,
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);

    let text = scrape(&app).await;
    let refused = |reason: &str| {
        sample(
            &text,
            &format!(r#"nexus_auth_failures_total{{reason="{reason}"}}"#),
        )
    };
    assert_eq!(refused("malformed"), Some(1.0), "{text}");
    assert_eq!(refused("unknown_key"), Some(2.0), "{text}");
    assert_eq!(refused("permission"), Some(1.0), "{text}");
    assert_eq!(refused("expired"), None, "{text}");
}

/// The scrape as text, and the value of one sample line (name with labels).
pub async fn scrape(app: &TestApp) -> String {
    let reply = app
        .anonymous
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(
        reply.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    reply.text().await.unwrap()
}

pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

async fn requests_are_counted_by_route_and_status(app: TestApp) {
    for _ in 0..3 {
        assert_eq!(
            app.get("/v1/users/nobody").await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(app.get("/v1/me").await.status, StatusCode::OK);
    let anonymous = app
        .anonymous
        .get(format!("{}/v1/me", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/no/such/route").await.status,
        StatusCode::NOT_FOUND
    );

    let text = scrape(&app).await;
    let count = |route: &str, status: u16| {
        sample(
            &text,
            &format!(
                r#"nexus_http_requests_total{{method="GET",route="{route}",status="{status}"}}"#
            ),
        )
    };
    assert_eq!(count("/v1/users/{userId}", 404), Some(3.0), "{text}");
    assert_eq!(count("/v1/me", 200), Some(1.0), "{text}");
    assert_eq!(count("/v1/me", 401), Some(1.0), "{text}");
    assert_eq!(count("unmatched", 404), Some(1.0), "{text}");
    let latency = |suffix: &str| {
        sample(
            &text,
            &format!(
                r#"nexus_http_request_duration_seconds_{suffix}{{method="GET",route="/v1/users/{{userId}}",status="404"}}"#
            ),
        )
    };
    assert_eq!(latency("count"), Some(3.0), "{text}");
    assert!(latency("sum").unwrap() > 0.0);
    assert!(text.contains(r#"nexus_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/v1/users/{userId}",status="404"} 3"#)
        || text.contains(r#"nexus_http_request_duration_seconds_bucket{method="GET",route="/v1/users/{userId}",status="404",le="+Inf"} 3"#), "{text}");
    let open = sample(
        &text,
        r#"nexus_db_pool_connections{pool="read",state="idle"}"#,
    )
    .unwrap()
        + sample(
            &text,
            r#"nexus_db_pool_connections{pool="read",state="in_use"}"#,
        )
        .unwrap();
    assert!(open >= 1.0, "{text}");
    assert!(sample(
        &text,
        r#"nexus_db_pool_connections{pool="write",state="idle"}"#
    )
    .is_some());
    assert_eq!(sample(&text, "nexus_push_pending"), Some(0.0), "{text}");
    assert_eq!(sample(&text, "nexus_push_failed"), Some(0.0), "{text}");
    assert!(text.ends_with("# EOF\n"));
}
