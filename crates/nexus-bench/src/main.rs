//! `nexus-bench`: seeds a directory, starts `nexus serve` on it, drives the
//! login path and the directory over HTTP, and prints what it measured.

mod audit;
mod import;
mod load;
mod member_import;
mod seed;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine as _;
use clap::{Parser, ValueEnum};
use nexus_core::auth::{NewApiKey, Permissions};
use nexus_core::{Actor, Timestamp};
use nexus_service::auth::AuthConfig;
use nexus_service::Nexus;
use nexus_store::Store;
use serde::Serialize;
use sqlx::Connection;

use load::{Figures, Scenario, Target};

#[derive(Clone, Copy, Debug, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Database {
    Sqlite,
    Postgres,
}

#[derive(Parser, Debug)]
#[command(about = "Benchmark nexus serve over HTTP on a seeded directory")]
struct Args {
    #[arg(long, value_enum, default_value = "sqlite")]
    database: Database,
    /// A PostgreSQL server to create the benchmark database on.
    #[arg(
        long,
        env = "NEXUS_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres_url: String,
    /// Users in the directory.
    #[arg(long, default_value_t = 10_000)]
    users: u64,
    /// Measured seconds per scenario and connection count.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds before each measurement.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Connection counts to run each scenario at.
    #[arg(long, value_delimiter = ',', default_value = "1,32")]
    connections: Vec<usize>,
    /// Where to write the figures as JSON.
    #[arg(long, default_value = "target/bench/nexus-bench.json")]
    out: PathBuf,
    /// The nexus binary; defaults to the one next to this one.
    #[arg(long)]
    nexus: Option<PathBuf>,
    /// Run only these scenarios (all by default).
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Vec<Scenario>,
    /// The two sizes of the audit trail the `audit` scenario compares.
    #[arg(
        long,
        value_delimiter = ',',
        num_args = 2,
        default_value = "10000,10000000"
    )]
    audit_events: Vec<u64>,
    /// Auth0 users the `import` scenario imports.
    #[arg(long, default_value_t = 100_000)]
    import_users: u64,
    /// New members the `member-import` scenario imports.
    #[arg(long, default_value_t = 10_000)]
    member_import_rows: u64,
    /// A tiny directory and a few seconds: proves the tool works (CI).
    #[arg(long)]
    smoke: bool,
}

#[derive(Serialize)]
struct Report {
    date: String,
    database: Database,
    users: u64,
    seed_seconds: f64,
    database_bytes: u64,
    server_peak_rss_bytes: u64,
    results: Vec<Figures>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    audit: Vec<audit::AuditFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    import: Option<import::ImportFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    member_import: Option<member_import::MemberImportFigures>,
}

const KEY_ID: &str = "bench";
const KEY_SECRET: &str = "bench-secret-0123456789";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.smoke {
        args.users = args.users.min(300);
        args.duration = 0.5;
        args.warmup = 0.2;
        args.connections = vec![1, 4];
        args.audit_events = vec![1000, 20_000];
        args.import_users = args.import_users.min(300);
        args.member_import_rows = args.member_import_rows.min(300);
        if args.scenarios.is_empty() {
            args.scenarios = Scenario::ALL.to_vec();
            args.scenarios.push(Scenario::Audit);
            args.scenarios.push(Scenario::Import);
            args.scenarios.push(Scenario::MemberImport);
        }
    }
    let dir = tempfile::tempdir()?;
    let (url, postgres_db) = match args.database {
        Database::Sqlite => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
        Database::Postgres => {
            let name = format!("nexus_bench_{}", std::process::id());
            let mut admin = sqlx::PgConnection::connect(&args.postgres_url)
                .await
                .context("connecting to PostgreSQL")?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await?;
            let url = with_database(&args.postgres_url, &name);
            (url, Some(name))
        }
    };
    let result = bench(&args, &url).await;
    if let Some(name) = postgres_db {
        let mut admin = sqlx::PgConnection::connect(&args.postgres_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
    }
    let report = result?;
    print_table(&report);
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    println!("\nfigures written to {}", args.out.display());
    let errors: u64 = report.results.iter().map(|r| r.errors).sum();
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}

async fn bench(args: &Args, url: &str) -> anyhow::Result<Report> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let seeding = Instant::now();
    let users = args.users;
    eprint!("seeding {users} users");
    seed::seed(&store, users, |done| {
        if done % 200_000 == 0 || done == users {
            eprint!(" {done}");
        }
    })
    .await?;
    let seed_seconds = seeding.elapsed().as_secs_f64();
    eprintln!(" ({seed_seconds:.1} s)");
    let nexus = Nexus::new(store.clone(), AuthConfig::default());
    let key = NewApiKey {
        description: Some("benchmark".into()),
        permissions: Permissions::parse("read write user.sync").expect("permissions"),
        role_id: None,
        expires_at: Timestamp::now().plus_days(1),
    };
    nexus_service::api_keys::create_with(
        &nexus,
        &Actor::system("CreateApiKey"),
        &nexus_core::auth::Authority::Operator,
        KEY_ID,
        KEY_SECRET,
        &key,
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the benchmark key: {e}"))?;
    store.close().await;

    let binary = match &args.nexus {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("nexus"),
    };
    let (mut server, base) = serve(&binary, url, &[]).await?;
    let authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY_ID}:{KEY_SECRET}"))
    );
    let deep_links = load::deep_links(&base, &authorization, users).await?;
    let target = Target {
        base,
        authorization,
        users,
        deep_links,
    };
    let mut results = Vec::new();
    let scenarios = if args.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        args.scenarios.clone()
    };
    let mut audit_figures = Vec::new();
    let mut member_import_figures = None;
    for &scenario in &scenarios {
        if scenario == Scenario::Import {
            continue;
        }
        if scenario == Scenario::MemberImport {
            let figures = member_import::measure(
                &target.base,
                &target.authorization,
                args.member_import_rows,
            )
            .await?;
            eprintln!(
                "member-import: {} rows in {:.1} s ({:.0} rows/s)",
                figures.rows, figures.seconds, figures.rows_per_second
            );
            member_import_figures = Some(figures);
            continue;
        }
        if scenario == Scenario::Audit {
            let [small, large] = args.audit_events[..] else {
                bail!("--audit-events takes two sizes, e.g. 10000,10000000");
            };
            audit_figures =
                audit::compare(url, &target.base, &target.authorization, small, large).await?;
            continue;
        }
        for &connections in &args.connections {
            let figures = load::run(
                &target,
                scenario,
                connections,
                Duration::from_secs_f64(args.warmup),
                Duration::from_secs_f64(args.duration),
            )
            .await?;
            eprintln!(
                "{:<52} {:>3} conn {:>9.0} req/s  p99 {:>7.2} ms  errors {}",
                figures.scenario,
                connections,
                figures.requests_per_second,
                figures.p99_ms,
                figures.errors
            );
            if let Some(error) = &figures.first_error {
                eprintln!("  first error: {}", truncate(error, 300));
            }
            results.push(figures);
        }
    }
    let server_peak_rss_bytes = server
        .id()
        .and_then(peak_rss)
        .context("reading the server's peak RSS")?;
    server.start_kill()?;
    server.wait().await?;
    // After the others, by a server of its own: its peak RSS is the import's.
    let import_figures = if scenarios.contains(&Scenario::Import) {
        let figures =
            import::measure(&binary, url, &target.authorization, args.import_users).await?;
        eprintln!(
            "import: {} users in {:.1} s, server peak RSS {:.1} MB",
            figures.auth0_users,
            figures.seconds,
            figures.server_peak_rss_bytes as f64 / 1e6
        );
        Some(figures)
    } else {
        None
    };
    let database_bytes = database_size(url).await?;
    Ok(Report {
        date: Timestamp::now().to_text(),
        database: args.database,
        users,
        seed_seconds,
        database_bytes,
        server_peak_rss_bytes,
        results,
        audit: audit_figures,
        import: import_figures,
        member_import: member_import_figures,
    })
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// Starts `nexus serve` on `url` (with `env` besides) and waits until it is
/// ready; the process and its address.
async fn serve(
    binary: &std::path::Path,
    url: &str,
    env: &[(&str, String)],
) -> anyhow::Result<(tokio::process::Child, String)> {
    let port = free_port()?;
    let server = tokio::process::Command::new(binary)
        .arg("serve")
        .env("NEXUS_DATABASE_URL", url)
        .env("NEXUS_LISTEN", format!("127.0.0.1:{port}"))
        .env("NEXUS_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await?;
    Ok((server, base))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(reply) = reqwest::get(format!("{base}/readyz")).await {
            if reply.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("nexus serve did not become ready at {base}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// VmHWM: the most resident memory the process ever had.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

async fn database_size(url: &str) -> anyhow::Result<u64> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        let size = |suffix: &str| {
            std::fs::metadata(format!("{path}{suffix}"))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        return Ok(size("") + size("-wal"));
    }
    let mut connection = sqlx::PgConnection::connect(url).await?;
    let (bytes,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
        .fetch_one(&mut connection)
        .await?;
    Ok(bytes as u64)
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(at) if at > "postgres://".len() => &base[..at],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

fn print_table(report: &Report) {
    println!(
        "\nNexus benchmark, {} — {:?}, {} users",
        report.date, report.database, report.users
    );
    println!(
        "seed {:.1} s, database {:.1} MB, server peak RSS {:.1} MB\n",
        report.seed_seconds,
        report.database_bytes as f64 / 1e6,
        report.server_peak_rss_bytes as f64 / 1e6
    );
    println!(
        "| {:<50} | {:>5} | {:>10} | {:>8} | {:>8} | {:>8} | {:>6} |",
        "scenario", "conns", "req/s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    println!(
        "|{}|------:|-----------:|---------:|---------:|---------:|-------:|",
        "-".repeat(52)
    );
    for r in &report.results {
        println!(
            "| {:<50} | {:>5} | {:>10.0} | {:>8.2} | {:>8.2} | {:>8.2} | {:>6} |",
            r.scenario,
            r.connections,
            r.requests_per_second,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.errors
        );
    }
    audit::print(&report.audit);
    import::print(&report.import);
    member_import::print(&report.member_import);
}
