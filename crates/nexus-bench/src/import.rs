//! The `import` scenario: an Auth0 tenant of many users (the simulator, run
//! in this process) imported by a `nexus serve` of its own over the
//! benchmark's database, timed, with that server's peak RSS.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Serialize)]
pub struct ImportFigures {
    pub auth0_users: u64,
    pub created: u64,
    pub seconds: f64,
    pub users_per_second: f64,
    pub server_peak_rss_bytes: u64,
}

/// Seeds the simulator with `auth0_users` users, starts `binary` on `url`,
/// and imports them.
pub async fn measure(
    binary: &std::path::Path,
    url: &str,
    authorization: &str,
    auth0_users: u64,
) -> anyhow::Result<ImportFigures> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim = auth0_sim::serve(listener, 1_000_000).await?;
    let seeding = Instant::now();
    sim.seed_users(auth0_users as usize, "import-");
    eprintln!(
        "import: {auth0_users} Auth0 users seeded in the simulator ({:.1} s)",
        seeding.elapsed().as_secs_f64()
    );

    let secret_key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let (mut server, base) = crate::serve(binary, url, &[("NEXUS_SECRET_KEY", secret_key)]).await?;
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{base}{path}"))
            .header("authorization", authorization);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let reply = request.send().await?;
            let status = reply.status();
            let body: Value = reply.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                bail!("{status}: {body}");
            }
            Ok(body)
        }
    };
    call(
        reqwest::Method::POST,
        "/v1/idp_tenants",
        Some(
            json!({"name": "bench-import", "azoTenantName": "bench-import",
            "fqdn": "bench-import.us.auth0.com", "baseUrl": sim.base_url(),
            "managementClientId": auth0_sim::DEFAULT_CLIENT_ID,
            "managementClientSecret": auth0_sim::DEFAULT_CLIENT_SECRET}),
        ),
    )
    .await
    .context("registering the simulator")?;
    call(
        reqwest::Method::POST,
        "/v1/organizations",
        Some(
            json!({"name": "bench-import", "displayName": "Imported", "crmAccountId": "crm-import",
            "type": "Customer"}),
        ),
    )
    .await
    .context("creating the organization")?;

    let started = Instant::now();
    let job = call(
        reqwest::Method::POST,
        "/v1/idp_tenants/bench-import/imports",
        Some(json!({"organization": "bench-import"})),
    )
    .await
    .context("starting the import")?;
    let path = format!(
        "/v1/idp_tenants/bench-import/imports/{}",
        job["id"].as_str().unwrap_or_default()
    );
    let mut reported = Instant::now();
    let ended = loop {
        let now = call(reqwest::Method::GET, &path, None).await?;
        if now["state"] == "Completed" || now["state"] == "Failed" {
            break now;
        }
        if reported.elapsed() > Duration::from_secs(10) {
            eprintln!("import: {} read", now["progress"]["read"]);
            reported = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    if ended["state"] != "Completed" {
        bail!("the import failed: {ended}");
    }
    let server_peak_rss_bytes = server
        .id()
        .and_then(crate::peak_rss)
        .context("reading the import server's peak RSS")?;
    server.start_kill()?;
    server.wait().await?;
    let created = ended["progress"]["created"].as_u64().unwrap_or(0);
    if created != auth0_users {
        bail!("the import created {created} users of {auth0_users}: {ended}");
    }
    Ok(ImportFigures {
        auth0_users,
        created,
        seconds,
        users_per_second: auth0_users as f64 / seconds,
        server_peak_rss_bytes,
    })
}

pub fn print(figures: &Option<ImportFigures>) {
    if let Some(f) = figures {
        println!(
            "\nimport: {} Auth0 users in {:.1} s ({:.0} users/s), server peak RSS {:.1} MB",
            f.auth0_users,
            f.seconds,
            f.users_per_second,
            f.server_peak_rss_bytes as f64 / 1e6
        );
    }
}
