//! What a login changes in what is stored. A login that asserts what is
//! stored already writes nothing: `$sync` is then answered from one read.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::audit::{Change, Changes};
use crate::identity::Identity;
use crate::sync::SyncRequest;
use crate::user::Attribute;

/// What a login asserts that is not stored yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginChanges {
    /// The identity's groups are not exactly the asserted ones.
    pub groups: bool,
    /// An asserted attribute is not stored, or stored with another value.
    pub attributes: bool,
}

impl LoginChanges {
    /// Whether the login writes. One that writes sets both its groups and
    /// its attributes: the write runs under a lock and sets what was
    /// asserted, instead of trusting what this comparison read before it.
    pub fn any(&self) -> bool {
        self.groups || self.attributes
    }
}

/// What `request` changes, given the identity it logs in through (with its
/// groups) and the user's attributes, as stored. Attributes the login does
/// not assert are left alone, so they change nothing.
pub fn changes(
    identity: &Identity,
    attributes: &[Attribute],
    request: &SyncRequest,
) -> LoginChanges {
    let stored: BTreeSet<&str> = identity
        .groups
        .iter()
        .map(|g| g.group_name.as_str())
        .collect();
    let groups = !stored
        .into_iter()
        .eq(request.groups.iter().map(String::as_str));
    let attributes = request.attributes.iter().any(|(name, value)| {
        !attributes
            .iter()
            .any(|stored| stored.name == *name && stored.value == *value)
    });
    LoginChanges { groups, attributes }
}

/// What a login changes, as its audit event records it: each group the
/// identity (in IdP tenant `idp_tenant_id`) gains or loses, as
/// `identities.{idpTenantId}.groups.{name}` from `false` to `true` or back,
/// and each asserted attribute whose value differs, as `attributes.{name}`
/// from the stored value (`null` when new) to the asserted one. Only what
/// changed: a login carries every group of the person, most of them
/// unchanged. Empty when the login changes nothing.
pub fn recorded_changes(
    idp_tenant_id: i32,
    stored_groups: &BTreeSet<String>,
    stored_attributes: &BTreeMap<String, String>,
    groups: &BTreeSet<String>,
    attributes: &BTreeMap<String, String>,
) -> Changes {
    let mut changes = Changes::new();
    let membership = |held: bool| Change {
        before: Value::Bool(!held),
        after: Value::Bool(held),
    };
    for gained in groups.difference(stored_groups) {
        changes.insert(
            format!("identities.{idp_tenant_id}.groups.{gained}"),
            membership(true),
        );
    }
    for lost in stored_groups.difference(groups) {
        changes.insert(
            format!("identities.{idp_tenant_id}.groups.{lost}"),
            membership(false),
        );
    }
    for (name, value) in attributes {
        let stored = stored_attributes.get(name);
        if stored != Some(value) {
            changes.insert(
                format!("attributes.{name}"),
                Change {
                    before: stored.map_or(Value::Null, |v| Value::from(v.as_str())),
                    after: Value::from(value.as_str()),
                },
            );
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Group;
    use crate::sync::{SyncAttribute, SyncBody, SyncConnection};

    fn identity(groups: &[&str]) -> Identity {
        Identity {
            id: 7,
            groups: groups
                .iter()
                .enumerate()
                .map(|(i, name)| Group {
                    id: i as i32 + 1,
                    expires: None,
                    group_name: (*name).to_owned(),
                    identity_id: 7,
                    user_identity_id: 7,
                })
                .collect(),
            strategy: "ad".into(),
            azo_user_id: "ad|justin".into(),
            idp_tenant_id: 1,
            login_domain: None,
            azo_tenant_name: "corp".into(),
            idp_tenant_fqdn: "corp.auth0.com".into(),
            idp_tenant_name: "corp".into(),
            azo_connection_id: "corp-ad".into(),
            missing_in_auth0_since: None,
        }
    }

    fn attributes(pairs: &[(&str, &str)]) -> Vec<Attribute> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, (name, value))| Attribute {
                id: i as i32 + 1,
                name: (*name).to_owned(),
                value: (*value).to_owned(),
                user_id: "u".into(),
                expires: None,
            })
            .collect()
    }

    fn login(groups: &[&str], attributes: &[(&str, &str)]) -> SyncRequest {
        SyncBody {
            audience: Some("https://api.example.com".into()),
            attributes: Some(
                attributes
                    .iter()
                    .map(|(key, value)| SyncAttribute {
                        key: Some((*key).to_owned()),
                        value: Some((*value).to_owned()),
                    })
                    .collect(),
            ),
            connection: Some(SyncConnection {
                groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
                connection_id: Some("corp-ad".into()),
            }),
            client_upn_key: None,
            client_id: None,
        }
        .into_request()
        .unwrap()
    }

    const NOTHING: LoginChanges = LoginChanges {
        groups: false,
        attributes: false,
    };
    const GROUPS: LoginChanges = LoginChanges {
        groups: true,
        attributes: false,
    };
    const ATTRIBUTES: LoginChanges = LoginChanges {
        groups: false,
        attributes: true,
    };

    #[test]
    fn the_same_login_again_changes_nothing() {
        let stored = attributes(&[("dept", "eng"), ("site", "hq")]);
        let same = login(&["Staff", "Admins"], &[("dept", "eng"), ("site", "hq")]);
        let changes = changes(&identity(&["Admins", "Staff"]), &stored, &same);
        assert_eq!(changes, NOTHING);
        assert!(!changes.any());
        let none = login(&[], &[]);
        assert_eq!(super::changes(&identity(&[]), &[], &none), NOTHING);
    }

    #[test]
    fn groups_in_another_order_or_asserted_twice_are_the_same_groups() {
        let stored = identity(&["A", "B", "C"]);
        assert_eq!(
            changes(&stored, &[], &login(&["C", "A", "B"], &[])),
            NOTHING
        );
        assert_eq!(
            changes(&stored, &[], &login(&["B", "A", "C", "A", "B"], &[])),
            NOTHING
        );
    }

    #[test]
    fn a_removed_or_added_group_changes_the_groups() {
        let stored = identity(&["A", "B"]);
        for asserted in [&["A"][..], &["A", "B", "C"], &["A", "C"], &[]] {
            let changes = changes(&stored, &[], &login(asserted, &[]));
            assert_eq!(changes, GROUPS, "{asserted:?}");
            assert!(changes.any());
        }
        assert_eq!(changes(&identity(&[]), &[], &login(&["A"], &[])), GROUPS);
    }

    #[test]
    fn a_changed_or_new_attribute_changes_the_attributes() {
        let stored = attributes(&[("dept", "eng")]);
        let changed = login(&[], &[("dept", "ops")]);
        assert_eq!(changes(&identity(&[]), &stored, &changed), ATTRIBUTES);
        let new = login(&[], &[("dept", "eng"), ("site", "hq")]);
        assert_eq!(changes(&identity(&[]), &stored, &new), ATTRIBUTES);
        let both = login(&["A"], &[("site", "hq")]);
        assert_eq!(
            changes(&identity(&[]), &stored, &both),
            LoginChanges {
                groups: true,
                attributes: true
            }
        );
    }

    #[test]
    fn attributes_the_login_does_not_assert_are_no_change() {
        let stored = attributes(&[("dept", "eng"), ("site", "hq")]);
        let fewer = login(&[], &[("site", "hq")]);
        assert_eq!(changes(&identity(&[]), &stored, &fewer), NOTHING);
    }

    #[test]
    fn a_value_is_compared_exactly() {
        let stored = attributes(&[("dept", "eng")]);
        for value in ["Eng", "eng ", ""] {
            let request = login(&[], &[("dept", value)]);
            assert_eq!(changes(&identity(&[]), &stored, &request), ATTRIBUTES);
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_login_records_only_the_groups_and_attributes_it_changes() {
        let recorded = recorded_changes(
            3,
            &set(&["Staff", "Old"]),
            &map(&[("dept", "eng"), ("site", "hq"), ("other", "x")]),
            &set(&["Staff", "New"]),
            &map(&[("dept", "ops"), ("site", "hq"), ("floor", "2")]),
        );
        assert_eq!(
            serde_json::to_value(&recorded).unwrap(),
            serde_json::json!({
                "identities.3.groups.New": {"before": false, "after": true},
                "identities.3.groups.Old": {"before": true, "after": false},
                "attributes.dept": {"before": "eng", "after": "ops"},
                "attributes.floor": {"before": null, "after": "2"},
            })
        );
    }

    #[test]
    fn a_login_that_asserts_what_is_stored_records_nothing() {
        let groups = set(&["A", "B"]);
        let attributes = map(&[("dept", "eng")]);
        assert!(recorded_changes(1, &groups, &attributes, &groups, &attributes).is_empty());
        assert!(recorded_changes(1, &groups, &attributes, &groups, &map(&[])).is_empty());
    }
}
