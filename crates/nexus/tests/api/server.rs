//! The HTTP server's own bounds: slow and idle clients, the connection cap,
//! the request timeout and a shutdown that ends in time. These are about the
//! server loop, not the storage, so they run over SQLite only.

use std::time::{Duration, Instant};

use nexus::{HttpLimits, RunningServer};
use nexus_core::Timestamp;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{basic, create_key, test_auth};

/// A server over a fresh SQLite file, and an admin credential.
struct Server {
    running: RunningServer,
    credential: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(limits: HttpLimits) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
        let store = nexus::open_store(&url).await.expect("open store");
        let nexus = nexus_service::Nexus::new(store.clone(), test_auth());
        let credential = create_key(&nexus, "read write", Timestamp::now().plus_days(1)).await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let running = nexus::start_with_limits(store, test_auth(), listener, limits)
            .await
            .expect("start server");
        Server {
            running,
            credential,
            _dir: dir,
        }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.running.addr)
            .await
            .expect("connect")
    }
}

fn limits() -> HttpLimits {
    HttpLimits {
        header_read_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(5),
        keep_alive_timeout: Duration::from_secs(5),
        max_connections: 64,
        shutdown_grace: Duration::from_secs(2),
    }
}

const PARTIAL_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: nexus\r\nX-Slow: ";

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut received)).await {
        Ok(_) => received,
        Err(_) => panic!(
            "the connection was still open after {within:?}; received {:?}",
            String::from_utf8_lossy(&received)
        ),
    }
}

/// `GET /healthz` on a new connection, answered within `within`.
async fn healthz(server: &Server, within: Duration) -> Value {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let reply = tokio::time::timeout(
        within,
        client
            .get(format!("http://{}/healthz", server.running.addr))
            .send(),
    )
    .await
    .unwrap_or_else(|_| panic!("/healthz was not answered within {within:?}"))
    .expect("healthz");
    assert_eq!(reply.status(), 200);
    reply.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_are_closed_and_healthz_is_still_answered() {
    let server = Server::start(limits()).await;
    let mut first = server.connect().await;
    first.write_all(PARTIAL_HEAD).await.unwrap();
    let first_sent = Instant::now();
    // A few hundred more, more than the cap of 64, each stalled mid-head.
    let mut stalled = Vec::new();
    for _ in 0..250 {
        let mut stream = server.connect().await;
        stream.write_all(PARTIAL_HEAD).await.unwrap();
        stalled.push(stream);
    }

    let started = Instant::now();
    assert_eq!(
        healthz(&server, Duration::from_secs(10)).await,
        serde_json::json!({"status": "ok"})
    );
    eprintln!("/healthz answered after {:?}", started.elapsed());

    // The first stalled connection was closed by the header timeout: not
    // before it, and not much later.
    read_to_close(&mut first, Duration::from_secs(5)).await;
    let held = first_sent.elapsed();
    assert!(held >= Duration::from_millis(900), "closed after {held:?}");
    // Every other stalled connection is closed too, in waves of 64.
    let all_closed = Instant::now();
    for stream in &mut stalled {
        read_to_close(stream, Duration::from_secs(15)).await;
    }
    eprintln!(
        "all stalled connections closed {:?} later",
        all_closed.elapsed()
    );
    server.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_sent_byte_by_byte_is_cut_off_at_the_header_timeout() {
    let server = Server::start(HttpLimits {
        keep_alive_timeout: Duration::from_secs(30),
        ..limits()
    })
    .await;
    let mut stream = server.connect().await;
    let started = Instant::now();
    // A byte every 200 ms never lets the connection look idle.
    for byte in PARTIAL_HEAD.iter().take(15) {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    read_to_close(&mut stream, Duration::from_secs(5)).await;
    let held = started.elapsed();
    assert!(
        held >= Duration::from_millis(900) && held < Duration::from_secs(3),
        "closed after {held:?}"
    );
    server.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let server = Server::start(HttpLimits {
        header_read_timeout: Duration::from_secs(30),
        keep_alive_timeout: Duration::from_secs(1),
        ..limits()
    })
    .await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: nexus\r\n\r\n")
        .await
        .unwrap();
    let mut response = vec![0; 1024];
    let n = stream.read(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response[..n]).into_owned();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");
    let idle = Instant::now();
    let rest = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert!(rest.is_empty());
    let held = idle.elapsed();
    assert!(held >= Duration::from_millis(900), "closed after {held:?}");
    server.running.stop().await.unwrap();
}

/// A POST whose body never arrives in full.
fn tenant_head(credential: &str, length: usize) -> String {
    format!(
        "POST /v1/idp_tenants HTTP/1.1\r\nHost: nexus\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\nX-Request-Id: slow-upload-1\r\n\r\n",
        basic(credential)
    )
}

fn tenant_body(name: &str) -> String {
    serde_json::json!({
        "name": name,
        "azoTenantName": format!("eci-{name}-prod"),
        "fqdn": format!("eci-{name}-prod.us.auth0.com"),
        "loginDomain": format!("login.{name}.example.com"),
    })
    .to_string()
}

/// Splits a raw HTTP/1.1 response into its head and its body.
fn split_response(raw: &[u8]) -> (String, Value) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (head.to_owned(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_takes_too_long_is_answered_with_a_problem() {
    let server = Server::start(HttpLimits {
        request_timeout: Duration::from_secs(1),
        keep_alive_timeout: Duration::from_secs(30),
        ..limits()
    })
    .await;
    let body = tenant_body("slow");
    let mut stream = server.connect().await;
    let started = Instant::now();
    stream
        .write_all(tenant_head(&server.credential, body.len()).as_bytes())
        .await
        .unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    let mut raw = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut raw))
        .await
        .expect("answered within the request timeout")
        .unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "after {elapsed:?}");
    let (head, problem) = split_response(&raw[..n]);
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
    assert!(head.contains("retry-after: 1"), "{head}");
    assert!(head.contains("x-request-id: slow-upload-1"), "{head}");
    assert_eq!(problem["type"], "urn:nexus:problem:timeout");
    assert_eq!(problem["status"], 503);
    assert_eq!(problem["instance"], "/v1/idp_tenants");
    assert_eq!(problem["requestId"], "slow-upload-1");
    server.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_within_the_grace_period_and_answers_requests_in_flight() {
    let server = Server::start(HttpLimits {
        header_read_timeout: Duration::from_secs(60),
        keep_alive_timeout: Duration::from_secs(60),
        request_timeout: Duration::from_secs(60),
        shutdown_grace: Duration::from_secs(2),
        ..limits()
    })
    .await;
    let addr = server.running.addr;
    // One client never finishes its request head.
    let mut stalled = server.connect().await;
    stalled.write_all(PARTIAL_HEAD).await.unwrap();
    // Another is sending its request body when the shutdown begins.
    let body = tenant_body("inflight");
    let mut in_flight = server.connect().await;
    in_flight
        .write_all(tenant_head(&server.credential, body.len()).as_bytes())
        .await
        .unwrap();
    in_flight.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let stopping = tokio::spawn(server.running.stop());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new connections once stopping"
    );
    in_flight.write_all(&body.as_bytes()[10..]).await.unwrap();
    let raw = read_to_close(&mut in_flight, Duration::from_secs(5)).await;
    let (head, tenant) = split_response(&raw);
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    assert_eq!(tenant["name"], "inflight");

    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("stop() returned within the grace period and a margin")
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "stopped after {took:?}"
    );
    // The half-sent request was closed, not answered.
    let rest = read_to_close(&mut stalled, Duration::from_secs(1)).await;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
}
