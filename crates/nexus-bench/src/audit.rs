//! The `audit` scenario: the audit trail's filtered lists at a small and a
//! large size of the trail. The events are written by SQL that generates
//! its own rows; the server answers the same filter shapes at both sizes,
//! first page and a keyset page from the middle of the matches, and the
//! figures show how the time grows with the trail (target: within 2×).

use std::time::Instant;

use anyhow::Context;
use nexus_core::Timestamp;
use nexus_store::{Backend, Store};
use serde::Serialize;
use serde_json::Value;

/// Seconds between two generated events: 10 million span 347 days, inside
/// the default retention, so the server keeps them all.
const STEP_SECONDS: i64 = 3;
const CHUNK: u64 = 250_000;
const PAGE: u64 = 100;
const WARMUP: usize = 5;
const SAMPLES: usize = 40;

/// One filter shape at both sizes.
#[derive(Debug, Clone, Serialize)]
pub struct AuditFigures {
    pub shape: String,
    pub page: &'static str,
    pub small_events: u64,
    pub large_events: u64,
    pub small_matches: u64,
    pub large_matches: u64,
    pub small_median_ms: f64,
    pub large_median_ms: f64,
    pub ratio: f64,
}

/// A filter shape; its values depend on how many events there are.
struct Shape {
    name: &'static str,
    filter: fn(&Trail) -> String,
}

const SHAPES: [Shape; 4] = [
    Shape {
        name: "actor eq",
        filter: |_| "actor eq 'key-admin-3'".to_owned(),
    },
    Shape {
        name: "resourceType eq and resourceId eq",
        filter: |trail| {
            format!(
                "resourceType eq 'user' and resourceId eq 'u-{}'",
                resource(trail.events / 2)
            )
        },
    },
    Shape {
        name: "operation eq",
        filter: |_| "operation eq 'PatchUser'".to_owned(),
    },
    Shape {
        name: "time ge and time lt (the middle tenth)",
        filter: |trail| {
            format!(
                "time ge '{}' and time lt '{}'",
                trail.time(trail.events * 45 / 100).to_text(),
                trail.time(trail.events * 55 / 100).to_text()
            )
        },
    },
];

/// The resource of the user events of event `i`: about ten events each,
/// spread over a stretch of ten thousand events.
fn resource(i: u64) -> u64 {
    i % 1000 + 1000 * (i / 10_000)
}

/// The generated trail: event `i` is made at `start + i * STEP_SECONDS`.
struct Trail {
    start: i64,
    events: u64,
}

impl Trail {
    fn time(&self, i: u64) -> Timestamp {
        Timestamp::parse("1970-01-01T00:00:00Z")
            .expect("the epoch")
            .plus_seconds(self.start + i as i64 * STEP_SECONDS)
    }
}

/// Writes events `lo..hi` of the trail: 70 % by the login path's key
/// (`SyncUser`), 20 % by seven administrators' keys (`PatchUser`,
/// `CreateUser`), 10 % by fifty users (`CreateRole`).
async fn write(store: &Store, start: i64, lo: u64, hi: u64) -> anyhow::Result<()> {
    let (series, time) = match store.backend() {
        Backend::Sqlite => (
            format!("WITH RECURSIVE s(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {}) ", hi - 1),
            format!("strftime('%Y-%m-%dT%H:%M:%S', {start} + s.i * {STEP_SECONDS}, 'unixepoch') || '.000000Z'"),
        ),
        Backend::Postgres => (
            format!("WITH s(i) AS (SELECT generate_series({lo}::bigint, {}::bigint)) ", hi - 1),
            format!("to_char(to_timestamp({start} + s.i * {STEP_SECONDS}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || '.000000Z'"),
        ),
    };
    let text = |expr: &str| format!("CAST({expr} AS TEXT)");
    let sql = format!(
        "{series}INSERT INTO audit_events (time, actor, actor_type, actor_tenant_id, request_id, \
         client_address, operation, resource_type, resource_id, changes, outcome) \
         SELECT {time}, \
           CASE WHEN s.i % 10 < 7 THEN 'key-sync' WHEN s.i % 10 < 9 THEN 'key-admin-' || {admin} \
                ELSE 'user-' || {user} END, \
           CASE WHEN s.i % 10 < 9 THEN 'apiKey' ELSE 'user' END, NULL, 'req-' || {i}, '10.0.0.1', \
           CASE WHEN s.i % 10 < 7 THEN 'SyncUser' WHEN s.i % 10 = 7 THEN 'PatchUser' \
                WHEN s.i % 10 = 8 THEN 'CreateUser' ELSE 'CreateRole' END, \
           CASE WHEN s.i % 10 < 9 THEN 'user' ELSE 'role' END, \
           CASE WHEN s.i % 10 < 9 THEN 'u-' || {resource} ELSE 'r-' || {role} END, \
           '{{\"groups\":{{\"before\":[\"a\"],\"after\":[\"a\",\"b\"]}}}}', 'success' FROM s",
        admin = text("s.i % 7"),
        user = text("s.i % 50"),
        i = text("s.i"),
        resource = text("s.i % 1000 + 1000 * (s.i / 10000)"),
        role = text("s.i % 40"),
    );
    let mut tx = store.begin().await?;
    sqlx::query(&sql).execute(&mut *tx).await?;
    nexus_store::commit(tx).await?;
    Ok(())
}

/// Grows the trail to `events`, then gathers statistics as a database in
/// service has them (PostgreSQL's autovacuum; SQLite keeps none).
async fn grow(store: &Store, trail: &mut Trail, events: u64) -> anyhow::Result<()> {
    let seeding = Instant::now();
    eprint!("audit: writing events {}..{events}", trail.events);
    while trail.events < events {
        let hi = (trail.events + CHUNK).min(events);
        write(store, trail.start, trail.events, hi).await?;
        trail.events = hi;
        eprint!(" {hi}");
    }
    if store.backend() == Backend::Postgres {
        let mut tx = store.begin().await?;
        sqlx::query("ANALYZE audit_events")
            .execute(&mut *tx)
            .await?;
        nexus_store::commit(tx).await?;
    }
    eprintln!(" ({:.1} s)", seeding.elapsed().as_secs_f64());
    Ok(())
}

struct Client {
    http: reqwest::Client,
    base: String,
    authorization: String,
}

impl Client {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("authorization", &self.authorization)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {body}");
        Ok(body)
    }

    /// The median time of `path`, after a few unmeasured requests.
    async fn median_ms(&self, path: &str) -> anyhow::Result<f64> {
        let mut times = Vec::with_capacity(SAMPLES);
        for round in 0..WARMUP + SAMPLES {
            let started = Instant::now();
            self.get(path).await?;
            if round >= WARMUP {
                times.push(started.elapsed());
            }
        }
        times.sort();
        Ok(times[times.len() / 2].as_secs_f64() * 1000.0)
    }
}

/// A shape's first page and keyset page from the middle of its matches,
/// with how many events match.
async fn pages(client: &Client, filter: &str) -> anyhow::Result<(u64, [String; 2])> {
    let query = format!("/v1/audit-events?$filter={filter}&$orderby=time desc");
    let counted = client.get(&format!("{query}&$count=true&$top=0")).await?;
    let matches = counted["@odata.count"].as_u64().context("a count")?;
    let middle = client
        .get(&format!("{query}&$top=1&$skip={}", matches / 2))
        .await?;
    let deep = middle["@odata.nextLink"]
        .as_str()
        .map(|link| link.replace("$top=1", &format!("$top={PAGE}")))
        // Fewer than two matches: the first page is all there is.
        .unwrap_or_else(|| format!("{query}&$top={PAGE}"));
    Ok((matches, [format!("{query}&$top={PAGE}"), deep]))
}

/// Times each shape at `small` events, grows the trail to `large`, and
/// times them again.
pub async fn compare(
    url: &str,
    base: &str,
    authorization: &str,
    small: u64,
    large: u64,
) -> anyhow::Result<Vec<AuditFigures>> {
    let store = Store::connect(url).await?;
    let client = Client {
        http: reqwest::Client::new(),
        base: base.to_owned(),
        authorization: authorization.to_owned(),
    };
    let start = Timestamp::now().plus_days(-360).as_datetime().timestamp();
    let mut trail = Trail { start, events: 0 };
    let mut measured: Vec<(u64, Vec<f64>)> = Vec::new();
    for size in [small, large] {
        grow(&store, &mut trail, size).await?;
        for shape in &SHAPES {
            let (matches, pages) = pages(&client, &(shape.filter)(&trail)).await?;
            let mut medians = Vec::new();
            for page in &pages {
                medians.push(client.median_ms(page).await?);
            }
            measured.push((matches, medians));
        }
    }
    store.close().await;
    let (at_small, at_large) = measured.split_at(SHAPES.len());
    let mut figures = Vec::new();
    for ((shape, (small_matches, small_ms)), (large_matches, large_ms)) in
        SHAPES.iter().zip(at_small).zip(at_large)
    {
        for (i, page) in ["first page", "keyset page from the middle"]
            .into_iter()
            .enumerate()
        {
            figures.push(AuditFigures {
                shape: shape.name.to_owned(),
                page,
                small_events: small,
                large_events: large,
                small_matches: *small_matches,
                large_matches: *large_matches,
                small_median_ms: small_ms[i],
                large_median_ms: large_ms[i],
                ratio: large_ms[i] / small_ms[i],
            });
        }
    }
    Ok(figures)
}

pub fn print(figures: &[AuditFigures]) {
    let Some(first) = figures.first() else {
        return;
    };
    println!(
        "\nGET /v1/audit-events, $orderby=time desc, $top={PAGE}: median of {SAMPLES} requests at {} and at {} events\n",
        first.small_events, first.large_events
    );
    println!(
        "| {:<40} | {:<28} | {:>9} | {:>9} | {:>9} | {:>9} | {:>6} |",
        "filter", "page", "matches", "ms", "matches", "ms", "ratio"
    );
    println!(
        "|{}|{}|----------:|----------:|----------:|----------:|-------:|",
        "-".repeat(42),
        "-".repeat(30)
    );
    for f in figures {
        println!(
            "| {:<40} | {:<28} | {:>9} | {:>9.2} | {:>9} | {:>9.2} | {:>6.2} |",
            f.shape,
            f.page,
            f.small_matches,
            f.small_median_ms,
            f.large_matches,
            f.large_median_ms,
            f.ratio
        );
    }
}
