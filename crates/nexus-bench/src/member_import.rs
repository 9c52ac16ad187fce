//! The `member-import` scenario: `--member-import-rows` new members
//! imported into an organization whose default tenant has no Management
//! credentials (users of Nexus only) and that does not require verified
//! domains, by the benchmark's server, timed to the job's end.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Serialize)]
pub struct MemberImportFigures {
    pub rows: u64,
    pub created: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
}

pub async fn measure(
    base: &str,
    authorization: &str,
    rows: u64,
) -> anyhow::Result<MemberImportFigures> {
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
            json!({"name": "bench-members", "azoTenantName": "bench-members",
            "fqdn": "bench-members.us.auth0.com"}),
        ),
    )
    .await
    .context("creating the tenant")?;
    let organization = call(
        reqwest::Method::POST,
        "/v1/organizations",
        Some(
            json!({"name": "bench-members", "displayName": "Members", "crmAccountId": "crm-members",
            "type": "Customer", "defaultIdpTenantId": "bench-members"}),
        ),
    )
    .await
    .context("creating the organization")?["id"]
        .as_i64()
        .context("the organization's id")?;
    call(
        reqwest::Method::PATCH,
        &format!("/v1/organizations/{organization}"),
        Some(json!({"isDomainVerificationRequired": false})),
    )
    .await?;
    let new_members: Vec<Value> = (0..rows)
        .map(|i| {
            json!({"emailAddress": format!("member-{i}@bench.example"), "givenName": "Bench",
            "familyName": format!("Member {i}")})
        })
        .collect();
    let started = Instant::now();
    call(
        reqwest::Method::POST,
        &format!("/v1/organizations/{organization}/members/import"),
        Some(json!({"id": "bench-members-1", "importDate": "2026-01-01T00:00:00Z",
            "importFilename": "bench.csv", "importingUserId": "bench", "organizationId": organization,
            "newMembers": new_members})),
    )
    .await
    .context("starting the member import")?;
    let path = format!("/v1/organizations/{organization}/members/imports/bench-members-1");
    let mut reported = Instant::now();
    let ended = loop {
        let now = call(reqwest::Method::GET, &path, None).await?;
        if now["status"] == "Completed" || now["status"] == "Failed" {
            break now;
        }
        if reported.elapsed() > Duration::from_secs(10) {
            eprintln!("member-import: {} processed", now["processed"]);
            reported = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let created = ended["rows"]
        .as_array()
        .map(|rows| rows.iter().filter(|r| r["result"] == "Created").count() as u64)
        .unwrap_or(0);
    if ended["status"] != "Completed" || created != rows {
        bail!(
            "the member import created {created} of {rows}: {}",
            ended["status"]
        );
    }
    Ok(MemberImportFigures {
        rows,
        created,
        seconds,
        rows_per_second: rows as f64 / seconds,
    })
}

pub fn print(figures: &Option<MemberImportFigures>) {
    if let Some(f) = figures {
        println!(
            "\nmember-import: {} new members in {:.1} s ({:.0} rows/s)",
            f.rows, f.seconds, f.rows_per_second
        );
    }
}
