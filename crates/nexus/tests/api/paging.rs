use std::collections::HashSet;

use nexus_core::user::UserRecord;
use nexus_core::values::AuthenticationMethod;
use nexus_core::Timestamp;

use crate::support::{both_backends, TestApp};

both_backends!(pages_through_100000_users_without_gaps_or_repeats);

const USERS: usize = 100_000;
const PAGE: usize = 1000;

async fn pages_through_100000_users_without_gaps_or_repeats(app: TestApp) {
    let now = Timestamp::now();
    let records: Vec<UserRecord> = (0..USERS)
        .map(|i| UserRecord {
            id: format!("seed-{i:06}"),
            user_type: None,
            owner_id: None,
            organization_id: None,
            // Many equal names: paging must still be stable (id breaks ties).
            display_name: format!("User {}", i % 97),
            given_name: None,
            family_name: None,
            nickname: None,
            username: None,
            picture: None,
            language: None,
            email_address: None,
            email_verified: false,
            email_verify_sent_date: None,
            phone_number: None,
            phone_verified: false,
            recovery_email_address: None,
            is_active: true,
            is_mfa_disabled: false,
            mfa_enrollment_status: None,
            authentication_method: AuthenticationMethod::Database,
            created: now,
            created_by: "seed".into(),
            modified: now,
            modified_by: "seed".into(),
        })
        .collect();
    let mut tx = app.store.begin().await.unwrap();
    nexus_store::users::insert_many(&mut tx, &records)
        .await
        .unwrap();
    nexus_store::commit(tx).await.unwrap();

    let mut seen: HashSet<String> = HashSet::with_capacity(USERS);
    let mut previous_name = String::new();
    for page in 0..USERS / PAGE + 1 {
        let path = format!(
            "/v1/users?$orderby=displayName&$top={PAGE}&$skip={}&$count=true",
            page * PAGE
        );
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["@odata.count"], USERS);
        let users = reply.body["value"].as_array().unwrap();
        let expected = if page < USERS / PAGE { PAGE } else { 0 };
        assert_eq!(users.len(), expected, "page {page}");
        for user in users {
            let id = user["id"].as_str().unwrap().to_owned();
            let name = user["displayName"].as_str().unwrap().to_owned();
            assert!(name >= previous_name, "ordered by displayName");
            previous_name = name;
            assert!(seen.insert(id.clone()), "{id} repeated");
        }
    }
    assert_eq!(seen.len(), USERS, "every user listed once");
}
