use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::user::UserRole;
use crate::validation::{check_text, Check, Len};
use crate::{Timestamp, ValidationErrors};

/// A role: permissions on one API (`audience`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub id: String,
    pub name: String,
    /// The API the role applies to, e.g. `https://api.example.com`.
    pub audience: String,
    pub description: Option<String>,
    pub permissions: Vec<RolePermission>,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolePermission {
    /// Lowercase dotted, e.g. `user.read`.
    pub code: String,
    pub role_id: String,
    pub permission_id: i32,
}

/// Grants a role to every user whose identity on `azoConnectionId` carries the
/// IdP group `groupName`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionMap {
    pub id: i32,
    pub name: Option<String>,
    pub role_id: String,
    pub group_name: String,
    pub azo_connection_id: String,
    pub created: Timestamp,
    pub created_by: String,
}

pub const ROLE_NAME: Len = Len::between(1, 100);
/// A developer role is named `{productName}-developers`.
const DEVELOPERS: &str = "-developers";
const PRODUCT_NAME: Len = Len::between(1, ROLE_NAME.max - DEVELOPERS.len());
const AUDIENCE: Len = Len::between(1, 250);
const DESCRIPTION: Len = Len::at_most(1000);
const MAX_PERMISSIONS: usize = 200;
pub const GROUP_NAME: Len = Len::between(1, 250);

/// Body of `PATCH /v1/roles/{roleId}` (and, through `NewRoleBody`, of `POST`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleBody {
    /// Unique within the audience (case-insensitively).
    #[schema(min_length = 1, max_length = 100, example = "billing-admins")]
    pub name: Option<String>,
    /// Instead of `name`, for a developer role: the name becomes
    /// `{productName}-developers`.
    #[schema(min_length = 1, max_length = 89)]
    pub product_name: Option<String>,
    #[schema(min_length = 1, max_length = 250, example = "https://api.example.com")]
    pub audience: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Lowercase dotted permission codes; replaces the role's permissions.
    #[schema(example = json!(["user.read", "user.write"]))]
    pub permissions: Option<Vec<String>>,
}

/// Body of `POST /v1/roles`: `RoleBody` with the audience and one of `name`
/// and `productName` required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRoleBody {
    /// Unique within the audience (case-insensitively).
    #[schema(min_length = 1, max_length = 100, example = "billing-admins")]
    pub name: Option<String>,
    /// Instead of `name`, for a developer role: the name becomes
    /// `{productName}-developers`.
    #[schema(min_length = 1, max_length = 89)]
    pub product_name: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250, example = "https://api.example.com")]
    pub audience: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Lowercase dotted permission codes.
    #[schema(example = json!(["user.read", "user.write"]))]
    pub permissions: Option<Vec<String>>,
}

impl From<NewRoleBody> for RoleBody {
    fn from(body: NewRoleBody) -> Self {
        RoleBody {
            name: body.name,
            product_name: body.product_name,
            audience: body.audience,
            description: body.description,
            permissions: body.permissions,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewRole {
    pub name: String,
    pub audience: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RoleChanges {
    pub name: Option<String>,
    pub audience: Option<String>,
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
}

impl RoleBody {
    pub fn into_new(self) -> Result<NewRole, ValidationErrors> {
        let mut check = Check::new();
        if self.name.is_none() && self.product_name.is_none() {
            check.fail("name", "is required (or productName)");
        }
        check.required("audience", self.audience.as_ref());
        let changes = self.parse(&mut check);
        check.finish_with(|| NewRole {
            name: changes.name.expect("checked"),
            audience: changes.audience.expect("checked"),
            description: changes.description,
            permissions: changes.permissions.unwrap_or_default(),
        })
    }

    pub fn into_changes(self) -> Result<RoleChanges, ValidationErrors> {
        let mut check = Check::new();
        let changes = self.parse(&mut check);
        check.finish_with(|| changes)
    }

    fn parse(self, check: &mut Check) -> RoleChanges {
        if self.name.is_some() && self.product_name.is_some() {
            check.fail("productName", "give name or productName, not both");
        }
        let name = match self.name {
            Some(name) => check.text("name", Some(name), ROLE_NAME),
            None => check
                .text("productName", self.product_name, PRODUCT_NAME)
                .map(|product| format!("{product}{DEVELOPERS}")),
        };
        let audience = check.text("audience", self.audience, AUDIENCE);
        if audience
            .as_deref()
            .is_some_and(|a| a.chars().any(char::is_whitespace))
        {
            check.fail("audience", "must not contain whitespace");
        }
        let description = check.text("description", self.description, DESCRIPTION);
        let permissions = self
            .permissions
            .and_then(|codes| permission_codes(check, codes));
        RoleChanges {
            name,
            audience,
            description,
            permissions,
        }
    }
}

/// Checks, de-duplicates and sorts permission codes.
fn permission_codes(check: &mut Check, codes: Vec<String>) -> Option<Vec<String>> {
    static CODE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$").expect("valid regex"));
    if codes.len() > MAX_PERMISSIONS {
        check.fail(
            "permissions",
            format!("must have at most {MAX_PERMISSIONS} items"),
        );
        return None;
    }
    let bad: Vec<&String> = codes
        .iter()
        .filter(|c| c.len() > 100 || !CODE.is_match(c))
        .collect();
    if !bad.is_empty() {
        let list: Vec<&str> = bad.iter().map(|c| c.as_str()).collect();
        check.fail(
            "permissions",
            format!("must be lowercase dotted codes such as user.read (at most 100 characters); invalid: {}", list.join(", ")),
        );
        return None;
    }
    let mut codes = codes;
    codes.sort();
    codes.dedup();
    Some(codes)
}

/// Body of `POST /v1/roles/{roleId}/connection-maps`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionMapBody {
    #[schema(max_length = 250)]
    pub name: Option<String>,
    /// The IdP group whose members hold the role.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250, example = "Domain Admins")]
    pub group_name: Option<String>,
    /// The Auth0 connection id or name the group comes from.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 50, example = "corp-ad")]
    pub azo_connection_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewConnectionMap {
    pub name: Option<String>,
    pub group_name: String,
    pub azo_connection_id: String,
}

impl ConnectionMapBody {
    pub fn into_new(self) -> Result<NewConnectionMap, ValidationErrors> {
        let mut check = Check::new();
        let name = check.text("name", self.name, Len::at_most(250));
        let group_name = check.required_text("groupName", self.group_name, GROUP_NAME);
        let connection = check.required_text(
            "azoConnectionId",
            self.azo_connection_id,
            crate::identity::AZO_CONNECTION_ID_LEN,
        );
        check.finish_with(|| NewConnectionMap {
            name,
            group_name: group_name.expect("checked"),
            azo_connection_id: connection.expect("checked"),
        })
    }
}

/// Body of `PUT /v1/users/{userId}/roles` (AddUserRole).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserRolesBody {
    /// Role ids to give the user; roles it holds already get the new expiry.
    #[schema(required = true, value_type = Vec<String>, min_items = 1, max_items = 100)]
    pub value: Option<Vec<String>>,
    /// When the assignments end; never when absent.
    #[schema(format = DateTime)]
    pub expires: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RoleAssignment {
    pub role_ids: Vec<String>,
    pub expires: Option<Timestamp>,
}

impl UserRolesBody {
    pub fn into_assignment(self) -> Result<RoleAssignment, ValidationErrors> {
        let mut check = Check::new();
        let value = check.required("value", self.value);
        let role_ids = value.and_then(|ids| role_ids(&mut check, "value", ids, 1));
        let expires = check.parse("expires", self.expires, Timestamp::parse);
        check.finish_with(|| RoleAssignment {
            role_ids: role_ids.expect("checked"),
            expires,
        })
    }
}

/// Most role ids one request assigns.
pub const MAX_ASSIGNED: usize = 100;

/// A list of role ids to assign: `min` to 100 ids of 1 to 40 characters,
/// sorted, each once.
pub fn role_ids(
    check: &mut Check,
    field: &str,
    mut ids: Vec<String>,
    min: usize,
) -> Option<Vec<String>> {
    if ids.len() < min || ids.len() > MAX_ASSIGNED {
        check.fail(field, format!("must list {min} to {MAX_ASSIGNED} role ids"));
        return None;
    }
    if ids
        .iter()
        .any(|id| check_text(id, Len::between(1, 40)).is_err())
    {
        check.fail(field, "role ids are 1 to 40 characters long");
        return None;
    }
    ids.sort();
    ids.dedup();
    Some(ids)
}

/// One way a user holds a role — assigned directly, through a connection map
/// matching a group of one of its identities, or through a role of one of
/// its memberships — with the API the role is for.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldRole {
    pub role: UserRole,
    pub audience: String,
}

/// The roles a user holds, each once, sorted by name (then id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedRoles {
    /// Every role the user holds.
    pub all: Vec<UserRole>,
    /// Those of the audience asked for; none when none was asked for.
    pub for_audience: Vec<UserRole>,
}

/// Whether something that ends at `expires` (never, when `None`) still
/// holds at `now`.
pub fn in_force(expires: Option<Timestamp>, now: Timestamp) -> bool {
    expires.is_none_or(|at| at > now)
}

/// The roles a user holds at `now`, from every way it holds them: expired
/// ones are dropped, and a role held several ways lasts as long as the
/// longest of them.
pub fn resolve(
    held: impl IntoIterator<Item = HeldRole>,
    now: Timestamp,
    audience: Option<&str>,
) -> ResolvedRoles {
    let mut roles = ResolvedRoles::default();
    for HeldRole { role, audience: of } in held {
        if !in_force(role.expires, now) {
            continue;
        }
        if audience == Some(of.as_str()) {
            merge(&mut roles.for_audience, role.clone());
        }
        merge(&mut roles.all, role);
    }
    for list in [&mut roles.all, &mut roles.for_audience] {
        list.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    }
    roles
}

fn merge(roles: &mut Vec<UserRole>, role: UserRole) {
    match roles.iter_mut().find(|r| r.id == role.id) {
        // None (never expires) outlasts any date.
        Some(held) => {
            if held.expires.is_some() && (role.expires.is_none() || role.expires > held.expires) {
                held.expires = role.expires;
            }
        }
        None => roles.push(role),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_name_makes_a_developer_role() {
        let body = RoleBody {
            product_name: Some("Billing".into()),
            audience: Some("https://api.example.com".into()),
            ..Default::default()
        };
        assert_eq!(body.into_new().unwrap().name, "Billing-developers");
    }

    #[test]
    fn a_product_name_is_1_to_89_characters() {
        let with = |product: String| RoleBody {
            product_name: Some(product),
            ..Default::default()
        };
        let longest = with("p".repeat(89)).into_changes().unwrap();
        assert_eq!(longest.name.unwrap().chars().count(), 100);
        for refused in [String::new(), "p".repeat(90)] {
            let errors = with(refused).into_changes().unwrap_err();
            assert!(errors.fields().contains_key("productName"));
        }
    }

    #[test]
    fn permission_codes_are_checked_and_deduplicated() {
        let body = RoleBody {
            name: Some("r".into()),
            audience: Some("https://api.example.com".into()),
            permissions: Some(vec![
                "user.write".into(),
                "user.read".into(),
                "user.read".into(),
            ]),
            ..Default::default()
        };
        assert_eq!(
            body.into_new().unwrap().permissions,
            ["user.read", "user.write"]
        );
        let bad = RoleBody {
            permissions: Some(vec!["User.Read".into(), "a..b".into()]),
            ..Default::default()
        };
        let errors = bad.into_changes().unwrap_err();
        assert!(errors.fields()["permissions"][0].contains("User.Read, a..b"));
    }

    #[test]
    fn assignments_need_role_ids() {
        assert!(UserRolesBody::default().into_assignment().is_err());
        let body = UserRolesBody {
            value: Some(vec![]),
            expires: None,
        };
        assert!(body.into_assignment().is_err());
        let body = UserRolesBody {
            value: Some(vec!["b".into(), "a".into(), "b".into()]),
            expires: Some("2030-01-01T00:00:00Z".into()),
        };
        let assignment = body.into_assignment().unwrap();
        assert_eq!(assignment.role_ids, ["a", "b"]);
        assert!(assignment.expires.is_some());
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn held(id: &str, audience: &str, expires: Option<&str>) -> HeldRole {
        HeldRole {
            role: UserRole {
                id: id.into(),
                name: format!("name-{id}"),
                expires: expires.map(at),
                description: None,
            },
            audience: audience.into(),
        }
    }

    const NOW: &str = "2025-06-01T00:00:00Z";
    const API: &str = "https://api.example.com";

    fn expiries(roles: &[UserRole]) -> Vec<(&str, Option<String>)> {
        roles
            .iter()
            .map(|r| (r.id.as_str(), r.expires.map(|t| t.to_text())))
            .collect()
    }

    #[test]
    fn a_role_held_several_ways_lasts_as_long_as_the_longest() {
        let later = "2030-01-01T00:00:00.000000Z";
        let roles = resolve(
            [
                held("a", API, Some("2026-01-01T00:00:00Z")),
                held("a", API, Some(later)),
                held("a", API, Some("2027-01-01T00:00:00Z")),
                held("b", API, Some("2026-01-01T00:00:00Z")),
                held("b", API, None),
                held("c", API, None),
                held("c", API, Some("2026-01-01T00:00:00Z")),
            ],
            at(NOW),
            None,
        );
        assert_eq!(
            expiries(&roles.all),
            [("a", Some(later.to_owned())), ("b", None), ("c", None)]
        );
    }

    #[test]
    fn expired_roles_are_dropped_before_merging() {
        let roles = resolve(
            [
                held("gone", API, Some("2025-01-01T00:00:00Z")),
                held("ends-now", API, Some(NOW)),
                held("kept", API, Some("2020-01-01T00:00:00Z")),
                held("kept", API, Some("2026-01-01T00:00:00Z")),
            ],
            at(NOW),
            Some(API),
        );
        let kept = [("kept", Some("2026-01-01T00:00:00.000000Z".to_owned()))];
        assert_eq!(expiries(&roles.all), kept);
        assert_eq!(expiries(&roles.for_audience), kept);
        assert!(in_force(None, at(NOW)));
        assert!(!in_force(Some(at(NOW)), at(NOW)));
    }

    #[test]
    fn only_roles_of_the_audience_asked_for_are_for_it() {
        let held = [
            held("b", API, None),
            held("other", "https://other.example.com", None),
            held("a", API, None),
        ];
        let roles = resolve(held.clone(), at(NOW), Some(API));
        let ids = |roles: &[UserRole]| roles.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&roles.all), ["a", "b", "other"]);
        assert_eq!(ids(&roles.for_audience), ["a", "b"]);
        assert!(resolve(held, at(NOW), None).for_audience.is_empty());
    }

    #[test]
    fn roles_sort_by_name_then_id() {
        let mut second = held("1", API, None);
        second.role.name = "same".into();
        let mut first = held("0", API, None);
        first.role.name = "same".into();
        let roles = resolve([held("z", API, None), second, first], at(NOW), None);
        let order: Vec<(&str, &str)> = roles
            .all
            .iter()
            .map(|r| (r.name.as_str(), r.id.as_str()))
            .collect();
        assert_eq!(order, [("name-z", "z"), ("same", "0"), ("same", "1")]);
    }
}
