//! What a login changes in what is stored. A login that asserts what is
//! stored already writes nothing: `$sync` is then answered from one read.

use std::collections::BTreeSet;

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
}
