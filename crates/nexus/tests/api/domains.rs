//! Organization domains and their verification by a DNS TXT record, against
//! a real DNS server on loopback (`dns_zone`).

use std::time::Duration;

use nexus_core::Timestamp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::dns_zone::{self, DnsZone};
use crate::support::{assert_problem, basic, both_backends, keys, TestApp};

both_backends!(
    create_get_list_delete,
    create_validation_edges,
    a_domain_is_added_once_per_organization,
    generate_code_then_verify,
    an_expired_or_missing_code_is_refused,
    a_domain_verified_elsewhere_cannot_be_claimed,
    two_organizations_racing_to_verify_one_domain,
    writes_need_organization_write,
    dns_down_is_503_and_changes_nothing,
    deleting_an_organization_deletes_its_domains,
    a_verified_domain_admits_new_members,
);

const DOMAIN_KEYS: [&str; 15] = [
    "authenticationMethod",
    "created",
    "createdBy",
    "domain",
    "domainId",
    "domainSource",
    "isVerified",
    "modified",
    "modifiedBy",
    "organizationId",
    "ownerOrganizationId",
    "verificationCode",
    "verificationCodeExpires",
    "verificationMethod",
    "verified",
];

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

/// Restarts the server to verify against a DNS zone of its own.
async fn with_dns(app: &mut TestApp, code_ttl: Duration) -> DnsZone {
    let zone = DnsZone::start().await;
    app.domains = zone.config(code_ttl);
    app.restart().await;
    zone
}

async fn new_organization(app: &TestApp, prefix: &str) -> i64 {
    let name = format!("{prefix}-{}", uuid::Uuid::now_v7().simple());
    app.organization(&name).await["id"].as_i64().unwrap()
}

/// Adds `domain` to the organization: the domain's path.
async fn add(app: &TestApp, organization: i64, domain: &str) -> String {
    let reply = app
        .post(
            &format!("/v1/organizations/{organization}/domains"),
            json!({"domain": domain, "verificationMethod": "DnsTxt", "authenticationMethod": "Federation"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    format!(
        "/v1/organizations/{organization}/domains/{}",
        reply.body["domainId"]
    )
}

/// Generates a code for the domain at `path`: the code.
async fn code(app: &TestApp, path: &str) -> String {
    let reply = app
        .request(Method::POST, &format!("{path}/generate-code"), None)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["verificationCode"].as_str().unwrap().to_owned()
}

fn record_name(domain: &str) -> String {
    format!("_nexus-verification.{domain}")
}

async fn verify(app: &TestApp, path: &str) -> crate::support::Reply {
    app.request(Method::POST, &format!("{path}/verify"), None)
        .await
}

async fn create_get_list_delete(app: TestApp) {
    let organization = new_organization(&app, "domains").await;
    let collection = format!("/v1/organizations/{organization}/domains");
    let created = app
        .post(
            &collection,
            json!({"domain": "Acme.Example.COM.", "verificationMethod": "DnsTxt",
                "authenticationMethod": "Federation", "domainSource": "onboarding"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(keys(&created.body), DOMAIN_KEYS);
    let id = created.body["domainId"].as_i64().unwrap();
    let path = format!("{collection}/{id}");
    assert_eq!(created.headers["location"], path.as_str());
    let body = &created.body;
    assert_eq!(body["domain"], "acme.example.com");
    assert_eq!(body["organizationId"], organization);
    assert_eq!(body["ownerOrganizationId"], Value::Null);
    assert_eq!(body["isVerified"], false);
    assert_eq!(body["verified"], Value::Null);
    assert_eq!(body["verificationCode"], Value::Null);
    assert_eq!(body["verificationCodeExpires"], Value::Null);
    assert_eq!(body["verificationMethod"], "DnsTxt");
    assert_eq!(body["authenticationMethod"], "Federation");
    assert_eq!(body["domainSource"], "onboarding");
    assert_eq!(body["createdBy"], app.admin_id.as_str());

    assert_eq!(app.get(&path).await.body, created.body);
    let listed = app.get(&format!("{collection}?$count=true")).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body["value"], json!([created.body]));
    assert_eq!(listed.body["@odata.count"], 1);
    let found = app
        .get(&format!(
            "{collection}?$filter=domain eq 'acme.example.com'"
        ))
        .await;
    assert_eq!(found.body["value"].as_array().unwrap().len(), 1);

    // The organization shows its domains, alone and in lists.
    let other = organization_with_domain(&app).await;
    let read = app.get(&format!("/v1/organizations/{organization}")).await;
    assert_eq!(read.body["domains"], json!([created.body]));
    let page = app.get("/v1/organizations?$top=1000").await;
    for listed in page.body["value"].as_array().unwrap() {
        let expected = if listed["id"] == organization {
            json!([created.body])
        } else if listed["id"] == other.0 {
            json!([other.1])
        } else {
            json!([])
        };
        assert_eq!(listed["domains"], expected, "{listed}");
    }

    // Unknown organization, unknown domain, a domain of another organization.
    assert_problem(
        &app.get("/v1/organizations/999999/domains").await,
        404,
        "/v1/organizations/999999/domains",
    );
    let unknown = format!("{collection}/999999");
    assert_problem(&app.get(&unknown).await, 404, &unknown);
    let not_a_number = format!("{collection}/abc");
    assert_problem(&app.get(&not_a_number).await, 404, &not_a_number);
    let elsewhere = format!("/v1/organizations/{}/domains/{id}", other.0);
    assert_problem(&app.get(&elsewhere).await, 404, &elsewhere);
    assert_problem(&app.delete(&elsewhere).await, 404, &elsewhere);
    for action in ["generate-code", "verify"] {
        let target = format!("{collection}/999999/{action}");
        let reply = app.request(Method::POST, &target, None).await;
        assert_problem(&reply, 404, &target);
    }

    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_problem(&app.get(&path).await, 404, &path);
    assert_problem(&app.delete(&path).await, 404, &path);
    let read = app.get(&format!("/v1/organizations/{organization}")).await;
    assert_eq!(read.body["domains"], json!([]));
}

/// Another organization with a domain: (its id, the domain).
async fn organization_with_domain(app: &TestApp) -> (i64, Value) {
    let organization = new_organization(app, "other").await;
    let path = add(app, organization, "other.example.com").await;
    (organization, app.get(&path).await.body)
}

async fn create_validation_edges(app: TestApp) {
    let organization = new_organization(&app, "validation").await;
    let collection = format!("/v1/organizations/{organization}/domains");
    let base = json!({"domain": "v.example.com", "verificationMethod": "DnsTxt", "authenticationMethod": "Database"});
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        body
    };
    let long_label = format!("{}.com", "a".repeat(64));
    let too_long = format!("{}.com", vec!["a".repeat(62); 4].join("."));
    let refused: Vec<(Value, &str)> = vec![
        (json!({}), "domain"),
        (with("domain", json!("")), "domain"),
        (with("domain", json!("com")), "domain"),
        (with("domain", json!("a..b")), "domain"),
        (with("domain", json!("-a.com")), "domain"),
        (with("domain", json!("a-.com")), "domain"),
        (with("domain", json!("a_b.com")), "domain"),
        (with("domain", json!("a b.com")), "domain"),
        (with("domain", json!("https://a.com")), "domain"),
        (with("domain", json!(long_label)), "domain"),
        (with("domain", json!(too_long)), "domain"),
        (with("domain", json!(7)), "domain"),
        (
            with("verificationMethod", json!("Email")),
            "verificationMethod",
        ),
        (with("verificationMethod", json!("")), "verificationMethod"),
        (
            with("authenticationMethod", json!("Password")),
            "authenticationMethod",
        ),
        (with("domainSource", json!("s".repeat(251))), "domainSource"),
    ];
    for (body, field) in refused {
        let reply = app.post(&collection, body.clone()).await;
        assert_problem(&reply, 400, &collection);
        if body.as_object().unwrap().is_empty() {
            for field in ["domain", "verificationMethod", "authenticationMethod"] {
                assert!(reply.body["errors"][field].is_array(), "{}", reply.body);
            }
        } else if body["domain"] != json!(7) {
            assert!(
                reply.body["errors"][field].is_array(),
                "{body}: {}",
                reply.body
            );
        }
    }
    let method = app
        .post(&collection, with("verificationMethod", json!("Email")))
        .await;
    assert!(
        method.body["errors"]["verificationMethod"][0]
            .as_str()
            .unwrap()
            .contains("DnsTxt"),
        "{}",
        method.body
    );
    let unknown = app.post(&collection, with("verifyBy", json!("x"))).await;
    assert_problem(&unknown, 400, &collection);
    // Nothing refused was stored.
    let listed = app.get(&collection).await;
    assert_eq!(listed.body["value"], json!([]));

    // The longest name, the longest source, an internationalized name.
    let longest = format!("{}.com", &vec!["a".repeat(62); 4].join(".")[..249]);
    assert_eq!(longest.len(), 253);
    let accepted = [
        (with("domain", json!(longest)), longest.clone()),
        (
            with("domainSource", json!("s".repeat(250))),
            "v.example.com".to_owned(),
        ),
        (
            with("domain", json!("Bücher.Example")),
            "xn--bcher-kva.example".to_owned(),
        ),
        (with("domain", json!("1.2.3.4")), "1.2.3.4".to_owned()),
    ];
    for (body, stored) in accepted {
        let reply = app.post(&collection, body.clone()).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{body}: {}", reply.body);
        assert_eq!(reply.body["domain"], stored.as_str());
    }
    // Enumerations in any letter case: past validation, to the duplicate.
    let lower = app
        .post(&collection, with("authenticationMethod", json!("sms")))
        .await;
    assert_eq!(lower.status, StatusCode::CONFLICT, "{}", lower.body);
}

async fn a_domain_is_added_once_per_organization(app: TestApp) {
    let organization = new_organization(&app, "once").await;
    let collection = format!("/v1/organizations/{organization}/domains");
    add(&app, organization, "once.example.com").await;
    for again in ["once.example.com", "ONCE.Example.com."] {
        let reply = app
            .post(
                &collection,
                json!({"domain": again, "verificationMethod": "DnsTxt", "authenticationMethod": "Ad"}),
            )
            .await;
        assert_problem(&reply, 409, &collection);
        assert!(
            reply.body["detail"]
                .as_str()
                .unwrap()
                .contains("already has this domain"),
            "{}",
            reply.body
        );
    }
    assert_eq!(
        app.get(&collection).await.body["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Another organization may add it while nobody has verified it.
    let other = new_organization(&app, "once-other").await;
    add(&app, other, "once.example.com").await;
}

async fn generate_code_then_verify(mut app: TestApp) {
    let zone = with_dns(&mut app, WEEK).await;
    let organization = new_organization(&app, "verify").await;
    let domain = dns_zone::domain("verify");
    let path = add(&app, organization, &domain).await;

    let generated = app
        .request(Method::POST, &format!("{path}/generate-code"), None)
        .await;
    assert_eq!(generated.status, StatusCode::CREATED, "{}", generated.body);
    assert_eq!(keys(&generated.body), DOMAIN_KEYS);
    let first = generated.body["verificationCode"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(first.len(), 32);
    assert!(first
        .bytes()
        .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)));
    let expires =
        Timestamp::parse(generated.body["verificationCodeExpires"].as_str().unwrap()).unwrap();
    let in_a_week = Timestamp::now().plus(WEEK);
    let off = (in_a_week.as_datetime() - expires.as_datetime()).num_seconds();
    assert!(off.abs() < 60, "{} is {off}s off", expires.to_text());
    assert_eq!(generated.body["isVerified"], false);
    let second = code(&app, &path).await;
    assert_ne!(first, second);
    assert_eq!(
        app.get(&path).await.body["verificationCode"],
        second.as_str()
    );

    // No record yet: refused, naming the record and the value expected.
    let name = record_name(&domain);
    let expected = format!("nexus-verification={second}");
    let missing = verify(&app, &path).await;
    assert_problem(&missing, 409, &format!("{path}/verify"));
    let detail = missing.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&name) && detail.contains(&expected),
        "{detail}"
    );
    assert_eq!(app.get(&path).await.body["isVerified"], false);

    // The old code, or a value that is not exactly the expected one.
    for wrong in [
        format!("nexus-verification={first}"),
        format!("{expected} "),
        second.clone(),
    ] {
        zone.set_txt(&name, &[&wrong, "v=spf1 -all"]).await;
        let refused = verify(&app, &path).await;
        assert_problem(&refused, 409, &format!("{path}/verify"));
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(
            detail.contains(&name) && detail.contains(&expected),
            "{detail}"
        );
        assert_eq!(app.get(&path).await.body["isVerified"], false);
    }

    // Right away after the record is published (nothing cached).
    zone.set_txt(&name, &["v=spf1 -all", &expected]).await;
    let verified = verify(&app, &path).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(keys(&verified.body), DOMAIN_KEYS);
    assert_eq!(verified.body["isVerified"], true);
    assert!(verified.body["verified"].is_string());
    assert_eq!(verified.body["ownerOrganizationId"], organization);
    assert_eq!(app.get(&path).await.body, verified.body);
    let organization_body = app.get(&format!("/v1/organizations/{organization}")).await;
    assert_eq!(organization_body.body["domains"], json!([verified.body]));

    // Verified stays verified: again is the same answer, without a lookup.
    zone.set_txt(&name, &[]).await;
    let again = verify(&app, &path).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body, verified.body);
}

async fn an_expired_or_missing_code_is_refused(mut app: TestApp) {
    let zone = with_dns(&mut app, Duration::from_secs(1)).await;
    let organization = new_organization(&app, "expiry").await;
    let domain = dns_zone::domain("expiry");
    let path = add(&app, organization, &domain).await;

    let none = verify(&app, &path).await;
    assert_problem(&none, 409, &format!("{path}/verify"));
    assert!(
        none.body["detail"].as_str().unwrap().contains("generate"),
        "{}",
        none.body
    );

    let code = code(&app, &path).await;
    let value = format!("nexus-verification={code}");
    zone.set_txt(&record_name(&domain), &[&value]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let expired = verify(&app, &path).await;
    assert_problem(&expired, 409, &format!("{path}/verify"));
    let detail = expired.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("expired") && detail.contains("generate"),
        "{detail}"
    );
    assert_eq!(app.get(&path).await.body["isVerified"], false);

    // A new code, published, verifies while it lives.
    let fresh = crate::domains::code(&app, &path).await;
    let value = format!("nexus-verification={fresh}");
    zone.set_txt(&record_name(&domain), &[&value]).await;
    let verified = verify(&app, &path).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(verified.body["isVerified"], true);
}

async fn a_domain_verified_elsewhere_cannot_be_claimed(mut app: TestApp) {
    let zone = with_dns(&mut app, WEEK).await;
    let first = new_organization(&app, "first").await;
    let second = new_organization(&app, "second").await;
    let domain = dns_zone::domain("claimed");
    // The second organization added it before the first verified it.
    let second_path = add(&app, second, &domain).await;
    let first_path = add(&app, first, &domain).await;
    let first_code = code(&app, &first_path).await;
    let second_code = code(&app, &second_path).await;
    let values = [
        format!("nexus-verification={first_code}"),
        format!("nexus-verification={second_code}"),
    ];
    zone.set_txt(&record_name(&domain), &[&values[0], &values[1]])
        .await;
    let verified = verify(&app, &first_path).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);

    // Claiming it anew: refused, naming the conflict.
    let third = new_organization(&app, "third").await;
    let collection = format!("/v1/organizations/{third}/domains");
    let claim = app
        .post(
            &collection,
            json!({"domain": domain.to_uppercase(), "verificationMethod": "DnsTxt", "authenticationMethod": "Email"}),
        )
        .await;
    assert_problem(&claim, 409, &collection);
    let detail = claim.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("verified by another organization") && detail.contains(&domain),
        "{detail}"
    );
    assert_eq!(app.get(&collection).await.body["value"], json!([]));

    // Verifying the copy added before: refused, the copy shows the owner.
    let refused = verify(&app, &second_path).await;
    assert_problem(&refused, 409, &format!("{second_path}/verify"));
    let copy = app.get(&second_path).await.body;
    assert_eq!(copy["isVerified"], false);
    assert_eq!(copy["ownerOrganizationId"], first);

    // Deleted by its owner, the domain is free again.
    assert_eq!(app.delete(&first_path).await.status, StatusCode::NO_CONTENT);
    let now_second = verify(&app, &second_path).await;
    assert_eq!(now_second.status, StatusCode::OK, "{}", now_second.body);
    assert_eq!(now_second.body["ownerOrganizationId"], second);
}

async fn two_organizations_racing_to_verify_one_domain(mut app: TestApp) {
    let zone = with_dns(&mut app, WEEK).await;
    for round in 0..4 {
        let domain = dns_zone::domain(&format!("race{round}"));
        let mut paths = Vec::new();
        let mut values = Vec::new();
        for side in ["a", "b"] {
            let organization = new_organization(&app, &format!("race-{side}")).await;
            let path = add(&app, organization, &domain).await;
            values.push(format!("nexus-verification={}", code(&app, &path).await));
            paths.push(path);
        }
        zone.set_txt(&record_name(&domain), &[&values[0], &values[1]])
            .await;
        let (a, b) = tokio::join!(verify(&app, &paths[0]), verify(&app, &paths[1]));
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{} / {}", a.body, b.body);
        let loser = if a.status == StatusCode::OK { &b } else { &a };
        assert!(
            loser.body["detail"]
                .as_str()
                .unwrap()
                .contains("another organization"),
            "{}",
            loser.body
        );
        let mut verified = 0;
        for path in &paths {
            if app.get(path).await.body["isVerified"] == true {
                verified += 1;
            }
        }
        assert_eq!(verified, 1, "round {round}");
    }
}

async fn writes_need_organization_write(app: TestApp) {
    let organization = new_organization(&app, "perm").await;
    let path = add(&app, organization, "perm.example.com").await;
    let collection = format!("/v1/organizations/{organization}/domains");
    let reader = vec![("authorization", basic(&app.key("organization.read").await))];
    let read = app.request_as(Method::GET, &path, &reader, None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let list = app
        .request_as(Method::GET, &collection, &reader, None)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let body = json!({"domain": "perm2.example.com", "verificationMethod": "DnsTxt", "authenticationMethod": "Ad"});
    let writes = [
        (Method::POST, collection.clone(), Some(body)),
        (Method::DELETE, path.clone(), None),
        (Method::POST, format!("{path}/generate-code"), None),
        (Method::POST, format!("{path}/verify"), None),
    ];
    for (method, target, body) in writes {
        let reply = app
            .request_as(method.clone(), &target, &reader, body.as_ref())
            .await;
        assert_problem(&reply, 403, &target);
    }
    let nobody = vec![("authorization", basic(&app.key("user.read").await))];
    let refused = app.request_as(Method::GET, &path, &nobody, None).await;
    assert_problem(&refused, 403, &path);
    // Nothing changed.
    let after = app.get(&collection).await.body;
    assert_eq!(after["value"].as_array().unwrap().len(), 1);
    assert_eq!(after["value"][0]["verificationCode"], Value::Null);
}

async fn dns_down_is_503_and_changes_nothing(mut app: TestApp) {
    let mut zone = with_dns(&mut app, WEEK).await;
    let organization = new_organization(&app, "down").await;
    let domain = dns_zone::domain("down");
    let path = add(&app, organization, &domain).await;
    let code = code(&app, &path).await;
    let value = format!("nexus-verification={code}");
    zone.set_txt(&record_name(&domain), &[&value]).await;
    let before = app.get(&path).await.body;
    zone.stop().await;
    let down = verify(&app, &path).await;
    assert_problem(&down, 503, &format!("{path}/verify"));
    assert!(down.headers.contains_key("retry-after"));
    assert!(
        down.body["detail"]
            .as_str()
            .unwrap()
            .contains(&record_name(&domain)),
        "{}",
        down.body
    );
    assert_eq!(app.get(&path).await.body, before);
}

async fn deleting_an_organization_deletes_its_domains(app: TestApp) {
    let organization = new_organization(&app, "gone").await;
    let path = add(&app, organization, "gone.example.com").await;
    code(&app, &path).await;
    let target = format!("/v1/organizations/{organization}");
    let deleted = app.delete(&target).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_problem(&app.get(&path).await, 404, &path);
    // The name can be added by another organization.
    let other = organization_with_domain(&app).await.0;
    add(&app, other, "gone.example.com").await;
}

/// With `isDomainVerificationRequired` (the default), an invitation or an
/// import creates users only at the organization's verified domains.
async fn a_verified_domain_admits_new_members(mut app: TestApp) {
    let zone = with_dns(&mut app, WEEK).await;
    app.tenant("admitting").await;
    let organization = new_organization(&app, "admits").await;
    let org_path = format!("/v1/organizations/{organization}");
    let set = app
        .patch(&org_path, json!({"defaultIdpTenantId": "admitting"}))
        .await;
    assert_eq!(
        set.body["isDomainVerificationRequired"], true,
        "{}",
        set.body
    );
    let domain = dns_zone::domain("admits");
    let path = add(&app, organization, &domain).await;
    let invite = format!("{org_path}/members/invite");
    let address = format!("new.person@{}", domain.to_uppercase());

    // Added but not yet verified: refused, nothing created.
    let refused = app.post(&invite, json!({"emailAddress": address})).await;
    assert_problem(&refused, 422, &invite);
    let value = format!("nexus-verification={}", code(&app, &path).await);
    zone.set_txt(&record_name(&domain), &[&value]).await;
    assert_eq!(verify(&app, &path).await.status, StatusCode::OK);

    let created = app.post(&invite, json!({"emailAddress": address})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["organizationId"], organization);
    assert_eq!(
        created.body["user"]["emailAddress"]
            .as_str()
            .map(str::to_lowercase),
        Some(address.to_lowercase())
    );
    // A subdomain is another domain.
    let sub = app
        .post(&invite, json!({"emailAddress": format!("x@sub.{domain}")}))
        .await;
    assert_problem(&sub, 422, &invite);

    // An import's rows follow the same rule.
    let job = app
        .post(
            &format!("{org_path}/members/import"),
            json!({"id": format!("admits-{organization}"), "importDate": "2026-01-02T03:04:05Z",
                "importFilename": "m.csv", "importingUserId": "u1", "organizationId": organization,
                "newMembers": [{"emailAddress": format!("second@{domain}")},
                               {"emailAddress": "third@elsewhere.example"}]}),
        )
        .await;
    assert_eq!(job.status, StatusCode::ACCEPTED, "{}", job.body);
    let location = job.headers["location"].to_str().unwrap().to_owned();
    let mut ended = Value::Null;
    for _ in 0..100 {
        ended = app.get(&location).await.body;
        if ended["status"] == "Completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ended["status"], "Completed", "{ended}");
    let results: Vec<&str> = ended["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["Created", "Refused"], "{ended}");
}
