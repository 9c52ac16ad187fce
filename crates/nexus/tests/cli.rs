//! The `nexus` binary as an operator runs it: defaults, migrate, shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn nexus(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nexus"));
    command
        .current_dir(dir)
        .env_remove("NEXUS_DATABASE_URL")
        .env_remove("NEXUS_LISTEN")
        .env("NEXUS_LOG", "info");
    command
}

fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ =
                stream.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut reply = String::new();
            let _ = stream.read_to_string(&mut reply);
            if reply.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nexus did not become ready on port {port}");
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "nexus did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_defaults_to_sqlite_file_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = nexus(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_healthy(port);
    assert!(
        dir.path().join("nexus.db").exists(),
        "the default database is ./nexus.db, created on start"
    );
    let status = terminate(&mut child);
    assert!(status.success(), "exit status {status}");
    let log: Vec<String> = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    let request_line = log
        .iter()
        .find(|l| l.contains("/readyz") && l.contains("status=200"));
    assert!(
        request_line.is_some_and(|l| l.contains("GET")
            && l.contains("latency_ms")
            && l.contains("request_id=")),
        "{log:#?}"
    );
    assert!(log.iter().any(|l| l.contains("shutting down")), "{log:#?}");
}

#[test]
fn sigterm_is_not_held_up_by_a_half_sent_request() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = nexus(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("NEXUS_SHUTDOWN_GRACE", "1s")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(port);
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let status = terminate(&mut child);
    assert!(status.success(), "exit status {status}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "stopped after {took:?}");
}

#[test]
fn migrate_creates_the_schema_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    for _ in 0..2 {
        let out = nexus(dir.path())
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = nexus(dir.path())
        .args(["migrate"])
        .env("NEXUS_DATABASE_URL", "mysql://nowhere/x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL scheme"));
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = nexus(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("NEXUS_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_healthy(port);
    terminate(&mut child);
    let lines: Vec<String> = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value["level"].is_string());
    }
    let request = lines
        .iter()
        .find(|l| l.contains("/readyz"))
        .expect("a request line");
    let value: serde_json::Value = serde_json::from_str(request).unwrap();
    assert_eq!(value["fields"]["status"], 200);
}

fn basic(credential: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credential)
    )
}

#[tokio::test]
async fn bootstrap_and_offline_keys_work_and_secrets_stay_out_of_logs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keys.db").display());
    let out = nexus(dir.path())
        .args([
            "api-key",
            "create",
            "--permissions",
            "user.read",
            "--description",
            "reporting",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offline = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (offline_id, offline_secret) = offline.split_once(':').expect("keyId:secret on stdout");
    assert!(offline_id.starts_with("nk_") && offline_secret.len() >= 40);

    const ADMIN: &str = "ops-admin:bootstrap-secret-value-123";
    let port = free_port();
    let start = || {
        nexus(dir.path())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                &url,
            ])
            .env("NEXUS_BOOTSTRAP_API_KEY", ADMIN)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut child = start();
    wait_healthy(port);
    // No pooled connections: the server is restarted on the same port.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let get = |credential: String, path: &'static str| {
        let client = client.clone();
        async move {
            client
                .get(format!("http://127.0.0.1:{port}{path}"))
                .header("authorization", basic(&credential))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        get(ADMIN.to_owned(), "/v1/users").await,
        200,
        "the bootstrap key is an administrator"
    );
    assert_eq!(get(ADMIN.to_owned(), "/v1/api-keys").await, 200);
    assert_eq!(
        get(offline.clone(), "/v1/users").await,
        200,
        "the offline key holds user.read"
    );
    assert_eq!(
        get(offline.clone(), "/v1/roles").await,
        403,
        "and nothing else"
    );
    assert_eq!(
        get(format!("{offline_id}:wrong-secret-value"), "/v1/users").await,
        401
    );
    terminate(&mut child);
    let log = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    for secret in [
        "bootstrap-secret-value-123",
        offline_secret,
        "wrong-secret-value",
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    assert!(log.contains("created the bootstrap API key"), "{log}");

    // Starting again with the same bootstrap key keeps the existing one.
    let mut again = start();
    wait_healthy(port);
    assert_eq!(get(ADMIN.to_owned(), "/v1/users").await, 200);
    // Both keys' creation is in the audit trail, by the part of Nexus that
    // made it, without their secrets; keeping the existing key records nothing.
    let events: serde_json::Value = client
        .get(format!(
            "http://127.0.0.1:{port}/v1/audit-events?$filter=resourceType eq 'apiKey'&$orderby=id"
        ))
        .header("authorization", basic(ADMIN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let recorded: Vec<(&str, &str, &str, &str)> = events["value"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| {
            let text = |field: &str| e[field].as_str().unwrap_or_default();
            (
                text("resourceId"),
                text("actor"),
                text("actorType"),
                text("operation"),
            )
        })
        .collect();
    assert_eq!(
        recorded,
        [
            (offline_id, "cli", "system", "CreateApiKey"),
            ("ops-admin", "system", "system", "BootstrapApiKey"),
        ]
    );
    let text = events.to_string();
    assert!(!text.contains(offline_secret) && !text.contains("bootstrap-secret-value-123"));
    terminate(&mut again);
    let log = std::io::read_to_string(again.stderr.take().unwrap()).unwrap();
    assert!(
        log.contains("the bootstrap API key exists with the configured secret")
            && log.contains("expires="),
        "start-up says what it found: {log}"
    );
}

/// Every secret the environment can give can come from a file instead
/// (`*_FILE`), as container secrets are mounted; a bad key stops the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let url = write(
        "database-url",
        &format!("sqlite://{}\n", dir.path().join("files.db").display()),
    );
    let bootstrap = write("bootstrap", "filed:bootstrap-secret-from-a-file\n");
    let key = write("key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n");
    let mut child = nexus(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("NEXUS_DATABASE_URL_FILE", &url)
        .env("NEXUS_BOOTSTRAP_API_KEY_FILE", &bootstrap)
        .env("NEXUS_SECRET_KEY_FILE", &key)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_healthy(port);
    assert!(
        dir.path().join("files.db").exists(),
        "the URL came from its file"
    );
    let created = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/idp_tenants"))
        .header("authorization", basic("filed:bootstrap-secret-from-a-file"))
        .json(&serde_json::json!({"name": "filed", "azoTenantName": "eci-filed", "fqdn": "eci-filed.us.auth0.com",
            "managementClientId": "m2m", "managementClientSecret": "sealed-with-the-file-key"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.status().as_u16(),
        201,
        "{}",
        created.text().await.unwrap()
    );
    assert!(terminate(&mut child).success());

    // The stored secret needs that key: another key, or none, stops the start.
    let other_key = write("other-key", &"ab".repeat(32));
    let refused = nexus(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("NEXUS_DATABASE_URL_FILE", &url)
        .env("NEXUS_SECRET_KEY_FILE", &other_key)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("cannot be read"), "{stderr}");
    let short_key = write("short-key", "c2hvcnQ=");
    let refused = nexus(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("NEXUS_DATABASE_URL_FILE", &url)
        .env("NEXUS_SECRET_KEY_FILE", &short_key)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("32 random bytes"), "{stderr}");
}

/// The shell blocks of the README's walk-through, in order.
fn walkthrough_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let start = readme
        .find("\n## A walk through the API")
        .expect("the walk-through section");
    let section = &readme[start + 1..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .split("```sh\n")
        .skip(1)
        .map(|rest| rest[..rest.find("```").expect("a closed block")].to_owned())
        .collect()
}

/// Runs the README's walk-through as written, with `set -euo pipefail`: the
/// block that starts the server tells the harness how to start it (with the
/// README's bootstrap key, on a free port over a temporary SQLite file), and
/// every other block runs in bash, `cargo run … -p nexus --` being the
/// binary under test.
#[test]
fn readme_walkthrough_runs_as_written() {
    let blocks = walkthrough_blocks();
    let (serve, rest): (Vec<_>, Vec<_>) = blocks
        .into_iter()
        .partition(|b| b.trim_end().ends_with("-- serve"));
    assert_eq!(serve.len(), 1, "one block starts the server");
    let bootstrap = serve[0]
        .split("NEXUS_BOOTSTRAP_API_KEY='")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("the serve block sets NEXUS_BOOTSTRAP_API_KEY='…'")
        .to_owned();
    let script = rest.join("\n");
    assert!(script.contains("http://127.0.0.1:8080"), "{script}");

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = nexus(dir.path())
        .args(["serve"])
        .env("NEXUS_LISTEN", format!("127.0.0.1:{port}"))
        .env("NEXUS_BOOTSTRAP_API_KEY", &bootstrap)
        .env("NEXUS_LOG", "warn")
        .spawn()
        .unwrap();
    wait_healthy(port);

    let prelude = r#"set -euo pipefail
cargo() {
    case "$*" in
        "run --release --bin nexus -- "*) shift 5; "$NEXUS_BIN" "$@" ;;
        *) echo "the walk-through runs cargo as '$*'" >&2; return 1 ;;
    esac
}
"#;
    let script = script.replace("http://127.0.0.1:8080", &format!("http://127.0.0.1:{port}"));
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .current_dir(dir.path())
        .env_remove("NEXUS_DATABASE_URL")
        .env("NEXUS_BIN", env!("CARGO_BIN_EXE_nexus"))
        .output()
        .unwrap();
    terminate(&mut server);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walk-through failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        lines[0].starts_with("nk_") && lines[0].contains(':'),
        "api-key create prints the credential first: {stdout}"
    );
    for expected in [
        r#""upn":"justin.b@corp.example.com""#,
        r#""name":"billing-admins""#,
        r#""@odata.count":1"#,
    ] {
        assert!(
            stdout.contains(expected),
            "{expected} missing in:\n{stdout}"
        );
    }
    // The last step follows the next link of a one-user page: an empty page.
    let last = lines.last().unwrap();
    assert!(last.starts_with(r#"{"value":[]"#), "last output: {last}");
}

#[test]
fn api_key_create_refuses_permissions_no_route_uses() {
    let dir = tempfile::tempdir().unwrap();
    let output = nexus(dir.path())
        .args(["api-key", "create", "--permissions", "read bogus"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown permissions: bogus;") && stderr.contains("user.sync"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no credential printed");
    assert!(!dir.path().join("nexus.db").exists(), "nothing was written");
}

#[test]
fn a_bare_listen_port_serves_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = nexus(dir.path())
        .args(["serve", "--listen", &port.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_healthy(port);
    terminate(&mut child);
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains(&format!("127.0.0.1:{port}")), "{log}");

    let refused = nexus(dir.path())
        .args(["serve", "--listen", "localhost:99999"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("'99999' is not a port"), "{stderr}");
}

/// `nexus migrate` against `url`: fails within a few seconds, and says `cause`.
fn refused_at_start(url: &str, cause: &str) {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = nexus(dir.path())
        .args(["migrate", "--database-url", url])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(cause), "expected '{cause}' in: {stderr}");
    assert!(!stderr.contains("pool timed out"), "{stderr}");
    assert!(
        elapsed < Duration::from_secs(5),
        "took {elapsed:?}: {stderr}"
    );
}

#[test]
fn an_unreachable_postgres_is_reported_with_its_cause_at_once() {
    refused_at_start(
        "postgres://postgres@127.0.0.1:1/nexus",
        "Connection refused",
    );
    refused_at_start(
        "postgres://postgres@no-such-host.invalid/nexus",
        "failed to lookup address",
    );
    let Ok(server) = std::env::var("NEXUS_TEST_POSTGRES_URL") else {
        eprintln!("NEXUS_TEST_POSTGRES_URL is not set: the PostgreSQL cases are not run");
        return;
    };
    let base = server.rsplit_once('/').unwrap().0;
    let missing = format!("nexus_missing_{}", std::process::id());
    refused_at_start(
        &format!("{base}/{missing}"),
        &format!("database \"{missing}\" does not exist"),
    );
    let host = base.rsplit_once('@').map_or(base, |(_, host)| host);
    refused_at_start(
        &format!(
            "postgres://no_such_role_{}@{host}/postgres",
            std::process::id()
        ),
        &format!(
            "role \"no_such_role_{}\" does not exist",
            std::process::id()
        ),
    );
}
