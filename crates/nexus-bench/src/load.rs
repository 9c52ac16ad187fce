//! Closed-loop load: `connections` workers, each with one keep-alive
//! connection, send the scenario's next request as soon as the last answer
//! arrives, for a fixed time.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};

use crate::seed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    SyncUnchanged,
    /// `SyncUnchanged` through the Auth0 client of an application Nexus
    /// manages: the answer says whether the user is entitled to it.
    SyncEntitled,
    SyncChanging,
    GetUser,
    PatchUpn,
    ListDeep,
    ListSkipDeep,
    ListFilter,
    NoOp,
    /// The audit trail's filtered lists at two sizes (`audit::compare`);
    /// not in `ALL`: at full size it writes ten million events.
    Audit,
    /// An Auth0 tenant of `--import-users` users imported (`import::measure`),
    /// after the others, by a server of its own; not in `ALL`.
    Import,
    /// `--member-import-rows` new members imported into an organization
    /// (`member_import::measure`); not in `ALL`.
    MemberImport,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::SyncUnchanged,
        Scenario::SyncEntitled,
        Scenario::SyncChanging,
        Scenario::GetUser,
        Scenario::PatchUpn,
        Scenario::ListDeep,
        Scenario::ListSkipDeep,
        Scenario::ListFilter,
        Scenario::NoOp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::SyncUnchanged => "PUT $sync (unchanged)",
            Scenario::SyncEntitled => "PUT $sync (unchanged, clientId of an application)",
            Scenario::SyncChanging => "PUT $sync (1 group + 1 attribute changed)",
            Scenario::GetUser => "GET /v1/users/{userId}",
            Scenario::PatchUpn => "PATCH custom-upns/{upnId}",
            Scenario::ListDeep => "GET /v1/users?$top=100 deep ($skiptoken)",
            Scenario::ListSkipDeep => "GET /v1/users?$top=100&$skip=deep",
            Scenario::ListFilter => "GET /v1/users?$top=100&$filter=organizationId eq N",
            Scenario::NoOp => "GET /v1/me (authenticated no-op)",
            Scenario::Audit => "GET /v1/audit-events, filtered, at two sizes",
            Scenario::Import => "POST /v1/idp_tenants/{id}/imports, to its end",
            Scenario::MemberImport => "POST /v1/organizations/{id}/members/import, to its end",
        }
    }

    fn request(
        self,
        users: u64,
        deep_links: &[String],
        rng: &mut SmallRng,
    ) -> (Method, String, Option<Value>) {
        let i = rng.random_range(0..users);
        let user = seed::user_id(i);
        match self {
            Scenario::SyncUnchanged | Scenario::SyncEntitled | Scenario::SyncChanging => {
                let mut groups = seed::groups(i);
                let mut attributes = seed::attributes(i);
                if self == Scenario::SyncChanging {
                    groups[0] = format!("changed-{}", rng.random_range(0..1_000_000u32));
                    attributes[0].1 = format!("changed-{}", rng.random::<u32>());
                }
                let attributes: Vec<Value> = attributes
                    .into_iter()
                    .map(|(key, value)| json!({"key": key, "value": value}))
                    .collect();
                let mut body = json!({
                    "audience": seed::AUDIENCE,
                    "attributes": attributes,
                    "connection": {"connectionId": seed::CONNECTION_NAME, "groups": groups},
                    "clientUpnKey": "app0",
                });
                if self == Scenario::SyncEntitled {
                    body["clientId"] = json!(seed::CLIENT_ID);
                }
                (Method::PUT, format!("/v1/users/{user}/$sync"), Some(body))
            }
            Scenario::GetUser => (Method::GET, format!("/v1/users/{user}"), None),
            Scenario::PatchUpn => {
                let value = format!("u{i}-{}@app0.example.com", rng.random::<u32>());
                (
                    Method::PATCH,
                    format!("/v1/users/{user}/custom-upns/{}", seed::upn_id(i)),
                    Some(json!({"customUpnValue": value})),
                )
            }
            Scenario::ListDeep => {
                let link = &deep_links[rng.random_range(0..deep_links.len())];
                (Method::GET, link.clone(), None)
            }
            Scenario::ListSkipDeep => {
                let skip = rng.random_range(deep_range(users));
                (
                    Method::GET,
                    format!("/v1/users?$top=100&$skip={skip}"),
                    None,
                )
            }
            Scenario::ListFilter => {
                let organization = rng.random_range(1..=seed::ORGANIZATIONS);
                (
                    Method::GET,
                    format!("/v1/users?$top=100&$filter=organizationId%20eq%20{organization}"),
                    None,
                )
            }
            Scenario::NoOp => (Method::GET, "/v1/me".to_owned(), None),
            Scenario::Audit => unreachable!("the audit scenario runs by itself: audit::compare"),
            Scenario::Import => unreachable!("the import scenario runs by itself: import::measure"),
            Scenario::MemberImport => {
                unreachable!("the member-import scenario runs by itself: member_import::measure")
            }
        }
    }
}

impl Scenario {
    /// Whether a successful answer says what the scenario measures: every
    /// seeded user is entitled to the application of `sync-entitled`.
    fn answered(self, body: &str) -> bool {
        self != Scenario::SyncEntitled || body.contains("\"isEntitled\":true")
    }
}

/// The depths `list-skip-deep` skips to and `list-deep` starts after: the
/// second half of the user list, less its last page.
fn deep_range(users: u64) -> std::ops::Range<u64> {
    users / 2..users.saturating_sub(100).max(users / 2 + 1)
}

/// The `@odata.nextLink`s to pages at 16 depths spread over `deep_range`,
/// each found once through `$skip` (the page before it): what `list-deep`
/// requests, so that it measures the keyset page alone.
pub async fn deep_links(
    base: &str,
    authorization: &str,
    users: u64,
) -> anyhow::Result<Vec<String>> {
    const DEPTHS: u64 = 16;
    let range = deep_range(users);
    let client = reqwest::Client::new();
    let mut links = Vec::new();
    for step in 0..DEPTHS {
        let depth = range.start + (range.end - range.start) * step / DEPTHS;
        let skip = depth.saturating_sub(100);
        let page: Value = client
            .get(format!("{base}/v1/users?$top=100&$skip={skip}"))
            .header("authorization", authorization)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let link = page["@odata.nextLink"].as_str().ok_or_else(|| {
            anyhow::anyhow!("no @odata.nextLink {skip} users in: seed at least 200 users")
        })?;
        links.push(link.to_owned());
    }
    Ok(links)
}

#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub scenario: String,
    pub connections: usize,
    pub requests: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The first error answer, to tell what went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

pub struct Target {
    pub base: String,
    pub authorization: String,
    pub users: u64,
    /// For `list-deep`: see `deep_links`.
    pub deep_links: Vec<String>,
}

pub async fn run(
    target: &Target,
    scenario: Scenario,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Figures> {
    let start = Instant::now() + warmup;
    let end = start + duration;
    let mut workers = Vec::new();
    for worker in 0..connections {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()?;
        let base = target.base.clone();
        let authorization = target.authorization.clone();
        let users = target.users;
        let deep_links = target.deep_links.clone();
        workers.push(tokio::spawn(async move {
            let mut rng = SmallRng::seed_from_u64(worker as u64 * 7919 + 1);
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
            let (mut errors, mut first_error) = (0u64, None);
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let (method, path, body) = scenario.request(users, &deep_links, &mut rng);
                let mut request = client
                    .request(method, format!("{base}{path}"))
                    .header("authorization", &authorization);
                if let Some(body) = &body {
                    request = request.json(body);
                }
                let sent = Instant::now();
                let outcome = match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        let text = response.text().await.unwrap_or_default();
                        (status.is_success() && scenario.answered(&text))
                            .then_some(())
                            .ok_or(format!("{status} {path}: {text}"))
                    }
                    Err(error) => Err(format!("{path}: {error}")),
                };
                if sent < start {
                    continue; // Warm-up: not counted.
                }
                histogram
                    .record(sent.elapsed().as_micros().max(1) as u64)
                    .expect("in bounds");
                if let Err(message) = outcome {
                    errors += 1;
                    first_error.get_or_insert(message);
                }
            }
            (histogram, errors, first_error)
        }));
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut errors, mut first_error) = (0, None);
    for worker in workers {
        let (h, e, f) = worker.await?;
        histogram.add(h)?;
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    let ms = |micros: u64| micros as f64 / 1000.0;
    Ok(Figures {
        scenario: scenario.name().to_owned(),
        connections,
        requests: histogram.len(),
        errors,
        requests_per_second: histogram.len() as f64 / duration.as_secs_f64(),
        p50_ms: ms(histogram.value_at_quantile(0.5)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        max_ms: ms(histogram.max()),
        first_error,
    })
}
