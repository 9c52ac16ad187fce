//! `X-Request-Id`: kept from the caller when usable, made up otherwise, and
//! answered in the header and in problem bodies.

use reqwest::Method;

use crate::support::{assert_problem, both_backends, Reply, TestApp};

both_backends!(request_ids);

fn header_id(reply: &Reply) -> String {
    reply.headers["x-request-id"]
        .to_str()
        .expect("an ASCII header")
        .to_owned()
}

fn is_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

async fn request_ids(app: TestApp) {
    let id = |value: &str| vec![("x-request-id", value.to_owned())];

    // The caller's id comes back, in the header and in a problem.
    let health = app
        .request_as(Method::GET, "/healthz", &id("lb-check-7"), None)
        .await;
    assert_eq!(header_id(&health), "lb-check-7");
    let missing = app
        .request_as(Method::GET, "/v1/users/nobody", &id("trace-abc-123"), None)
        .await;
    assert_problem(&missing, 401, "/v1/users/nobody");
    assert_eq!(header_id(&missing), "trace-abc-123");
    assert_eq!(missing.body["requestId"], "trace-abc-123");

    // Without one, each request gets a new UUID, named in the problem too.
    let first = app.get("/v1/users/nobody").await;
    let second = app.get("/v1/users/nobody").await;
    assert_problem(&first, 404, "/v1/users/nobody");
    assert!(is_uuid(&header_id(&first)), "{}", header_id(&first));
    assert_eq!(first.body["requestId"], header_id(&first));
    assert_ne!(header_id(&first), header_id(&second));

    // An unusable id is replaced: too long, or with spaces.
    for bad in ["x".repeat(201), "two words".to_owned()] {
        let reply = app
            .request_as(Method::GET, "/v1/nothing-here", &id(&bad), None)
            .await;
        assert_problem(&reply, 404, "/v1/nothing-here");
        let replaced = header_id(&reply);
        assert!(is_uuid(&replaced), "{replaced}");
        assert_eq!(reply.body["requestId"], replaced);
    }
    // 200 characters are still kept.
    let longest = "y".repeat(200);
    let reply = app
        .request_as(Method::GET, "/healthz", &id(&longest), None)
        .await;
    assert_eq!(header_id(&reply), longest);
}
