//! A database that is gone or hangs: clients are told to come back later,
//! and the health endpoints and metrics keep answering quickly.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nexus::HttpLimits;
use nexus_core::Timestamp;
use nexus_store::{Store, StoreOptions};
use serde_json::json;
use sqlx::{Connection, Row};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::support::{
    assert_problem, basic, both_backends, create_key, drop_postgres_database, postgres_database,
    test_auth, with_database, Reply, TestApp,
};

both_backends!(a_closed_database_answers_503_with_retry_after);

async fn a_closed_database_answers_503_with_retry_after(app: TestApp) {
    app.store.close().await;
    let write = app
        .post(
            "/v1/idp_tenants",
            json!({"name": "down", "azoTenantName": "eci-down", "fqdn": "down.auth0.com", "loginDomain": "login.down.com"}),
        )
        .await;
    assert_problem(&write, 503, "/v1/idp_tenants");
    assert_eq!(write.body["type"], "urn:nexus:problem:unavailable");
    assert_eq!(write.headers["retry-after"], "5");
    let ready = app.get("/readyz").await;
    assert_problem(&ready, 503, "/readyz");
    assert_eq!(ready.headers["retry-after"], "5");
}

/// A pooled connection is not pinged each time it is handed out (a round
/// trip per read), only once it has been idle for `ping_after_idle`: one
/// the server closed meanwhile is replaced, and the read still succeeds.
#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_replaced() {
    let Some((admin_url, name)) = postgres_database().await else {
        eprintln!("NEXUS_TEST_POSTGRES_URL is not set: PostgreSQL case not run");
        return;
    };
    let url = with_database(&admin_url, &name);
    let options = StoreOptions {
        max_connections: 1,
        ping_after_idle: Duration::from_millis(200),
        ..StoreOptions::default()
    };
    let store = Store::connect_with(&url, options).await.expect("connect");
    let backend_pid = |row: sqlx::any::AnyRow| row.get::<i32, _>("pid");
    let first = {
        let mut conn = store.read_one().await.expect("connection");
        let row = sqlx::query("SELECT pg_backend_pid() AS pid")
            .fetch_one(&mut *conn)
            .await
            .expect("first read");
        backend_pid(row)
    };
    let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
    let closed = sqlx::query("SELECT pg_terminate_backend($1) AS closed")
        .bind(first)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(closed.get::<bool, _>("closed"));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut conn = store.read_one().await.expect("connection");
    let row = sqlx::query("SELECT pg_backend_pid() AS pid")
        .fetch_one(&mut *conn)
        .await
        .expect("a read after the server closed the idle connection");
    assert_ne!(backend_pid(row), first, "a new connection");
    drop(conn);
    store.close().await;
    drop_postgres_database(&admin_url, &name).await;
}

/// A TCP proxy to PostgreSQL that can fall silent: from then on it forwards
/// nothing, and new connections are accepted and never answered, as with a
/// database host that hangs or a network that drops packets.
struct SilentProxy {
    addr: SocketAddr,
    silence: watch::Sender<bool>,
}

impl SilentProxy {
    async fn start(upstream: String) -> SilentProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let (silence, silenced) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let upstream = upstream.clone();
                let silenced = silenced.clone();
                tokio::spawn(async move {
                    let silent = *silenced.borrow();
                    if silent {
                        return hang(client).await;
                    }
                    let server = TcpStream::connect(&upstream).await.expect("PostgreSQL");
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        forward(client_read, server_write, silenced.clone()),
                        forward(server_read, client_write, silenced),
                    );
                });
            }
        });
        SilentProxy { addr, silence }
    }

    fn silence(&self) {
        self.silence.send_replace(true);
    }
}

/// Keeps a connection open and says nothing, for as long as the test runs.
async fn hang(stream: TcpStream) {
    std::future::pending::<()>().await;
    drop(stream);
}

async fn forward<R, W>(mut from: R, mut to: W, mut silenced: watch::Receiver<bool>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let silent = *silenced.borrow_and_update();
        if silent {
            break;
        }
        tokio::select! {
            read = from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if to.write_all(&buffer[..n]).await.is_err() {
                        return;
                    }
                }
            },
            _ = silenced.changed() => {}
        }
    }
    // Silent from now on, with both ends left open.
    std::future::pending::<()>().await;
    drop((from, to));
}

/// `host:port` of a `postgres://user@host:port/db` URL, and the URL with
/// another `host:port`.
fn host_port(url: &str) -> (String, impl Fn(SocketAddr) -> String + '_) {
    let start = url
        .find('@')
        .map_or_else(|| url.find("://").unwrap() + 3, |at| at + 1);
    let end = start + url[start..].find('/').unwrap_or(url.len() - start);
    let host = url[start..end].to_owned();
    (host, move |addr| {
        format!("{}{addr}{}", &url[..start], &url[end..])
    })
}

async fn timed(
    client: &reqwest::Client,
    url: String,
    credential: Option<&str>,
) -> (Reply, Duration) {
    let started = Instant::now();
    let mut request = client.get(url);
    if let Some(credential) = credential {
        request = request.header("authorization", basic(credential));
    }
    let response = tokio::time::timeout(Duration::from_secs(15), request.send())
        .await
        .expect("answered within 15 s")
        .expect("response");
    let reply = TestApp::reply(response).await;
    (reply, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_database_does_not_hang_health_readiness_or_metrics() {
    let Some((admin_url, name)) = postgres_database().await else {
        eprintln!("NEXUS_TEST_POSTGRES_URL is not set: PostgreSQL case not run");
        return;
    };
    let url = with_database(&admin_url, &name);
    let (upstream, through) = host_port(&url);
    let proxy = SilentProxy::start(upstream).await;
    let store = nexus::open_store(&through(proxy.addr))
        .await
        .expect("open store");
    let nexus = nexus_service::Nexus::new(store.clone(), test_auth());
    let credential = create_key(&nexus, "read write", Timestamp::now().plus_days(1)).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let limits = HttpLimits {
        request_timeout: Duration::from_secs(3),
        shutdown_grace: Duration::from_secs(2),
        ..HttpLimits::default()
    };
    let server = nexus::start_with_limits(store, test_auth(), listener, limits)
        .await
        .expect("start server");
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let (ready, _) = timed(&client, format!("{base}/readyz"), None).await;
    assert_eq!(ready.body, json!({"status": "ok"}));

    proxy.silence();

    let (health, took) = timed(&client, format!("{base}/healthz"), None).await;
    assert_eq!(health.body, json!({"status": "ok"}));
    assert!(took < Duration::from_secs(1), "/healthz took {took:?}");

    let (ready, took) = timed(&client, format!("{base}/readyz"), None).await;
    assert_problem(&ready, 503, "/readyz");
    assert_eq!(ready.headers["retry-after"], "5");
    assert!(
        ready.body["detail"]
            .as_str()
            .unwrap()
            .contains("within 2 s"),
        "{}",
        ready.body
    );
    assert!(took < Duration::from_secs(4), "/readyz took {took:?}");

    let (metrics, took) = timed(&client, format!("{base}/metrics"), None).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .body
            .as_str()
            .unwrap()
            .contains("nexus_push_pending"),
        "{}",
        metrics.body
    );
    assert!(took < Duration::from_secs(3), "/metrics took {took:?}");

    // A request that needs the database gets its answer when the request
    // timeout passes, not when the database gives up.
    let (user, took) = timed(
        &client,
        format!("{base}/v1/users/nobody"),
        Some(&credential),
    )
    .await;
    assert_problem(&user, 503, "/v1/users/nobody");
    assert!(user.headers.contains_key("retry-after"));
    assert!(took < Duration::from_secs(6), "the request took {took:?}");

    // Nor does it hold a shutdown beyond the grace period.
    let stopping = Instant::now();
    tokio::time::timeout(Duration::from_secs(6), server.stop())
        .await
        .expect("stopped within the grace period and a margin")
        .expect("stop");
    eprintln!("stopped in {:?}", stopping.elapsed());
    drop_postgres_database(&admin_url, &name).await;
}
