//! Applications: the parts of a product, each run by Auth0 clients. A login
//! through one of those clients is a login into the application.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{Check, Len};
use crate::values::AzoClientId;
use crate::{Timestamp, ValidationErrors};

/// An application of a product.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: i32,
    pub product_id: i32,
    /// Unique within the product (case-insensitively).
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub is_active: bool,
    /// The Auth0 clients that run the application; a client runs one
    /// application at most.
    pub clients: Vec<ApplicationClient>,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

/// An Auth0 client (application) of an IdP tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationClient {
    /// The IdP tenant's numeric id.
    #[serde(deserialize_with = "crate::validation::int32")]
    pub idp_tenant_id: i32,
    /// The Auth0 client id (`client_id`).
    #[schema(
        min_length = 1,
        max_length = 64,
        example = "p2Xk7QmL0aBcDeFgHiJkLmNoPqRsTuVw"
    )]
    pub client_id: String,
}

pub const NAME: Len = Len::between(1, 100);
const DISPLAY_NAME: Len = Len::between(1, 250);
const DESCRIPTION: Len = Len::at_most(1000);
pub const MAX_CLIENTS: usize = 50;

/// Body of `POST /v1/applications` (CreateApplication).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApplicationBody {
    /// The product the application belongs to.
    #[schema(required = true, value_type = i32)]
    #[serde(default, deserialize_with = "crate::validation::opt_int32")]
    pub product_id: Option<i32>,
    /// Unique within the product (case-insensitively).
    #[schema(required = true, value_type = String, min_length = 1, max_length = 100, example = "ledger-web")]
    pub name: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250, example = "Ledger for the web")]
    pub display_name: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Default true.
    pub is_active: Option<bool>,
    /// The Auth0 clients that run the application, each at most once; a
    /// client that runs another application is a conflict.
    #[schema(max_items = 50)]
    pub clients: Option<Vec<ApplicationClient>>,
}

/// Body of `PATCH /v1/applications/{applicationId}`: an absent field is
/// left as it is; `null` clears `description` and leaves the others;
/// `clients` replaces the application's clients.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchApplicationBody {
    /// Unique within the product (case-insensitively).
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(min_length = 1, max_length = 250)]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<Option<String>>,
    pub is_active: Option<bool>,
    /// Replaces the application's clients (`[]` removes them all).
    #[schema(max_items = 50)]
    pub clients: Option<Vec<ApplicationClient>>,
}

/// A checked application to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApplication {
    pub product_id: i32,
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub is_active: bool,
    /// In the body's order, without duplicates.
    pub clients: Vec<ApplicationClient>,
}

/// Checked changes: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplicationChanges {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_active: Option<bool>,
    /// In the body's order, without duplicates.
    pub clients: Option<Vec<ApplicationClient>>,
}

impl ApplicationChanges {
    /// `current` with these changes made.
    pub fn applied_to(&self, current: &Application) -> Application {
        let mut next = current.clone();
        if let Some(name) = &self.name {
            next.name = name.clone();
        }
        if let Some(display_name) = &self.display_name {
            next.display_name = display_name.clone();
        }
        if let Some(description) = &self.description {
            next.description = description.clone();
        }
        if let Some(is_active) = self.is_active {
            next.is_active = is_active;
        }
        if let Some(clients) = &self.clients {
            // An application's clients are kept sorted, so that an equal
            // list in another order is no change.
            next.clients = clients.clone();
            next.clients.sort();
        }
        next
    }
}

/// Checks a list of clients: at most `MAX_CLIENTS`, each client id an Auth0
/// client id, no client twice. Answers them sorted.
fn clients(check: &mut Check, clients: Vec<ApplicationClient>) -> Option<Vec<ApplicationClient>> {
    if clients.len() > MAX_CLIENTS {
        check.fail("clients", format!("must have at most {MAX_CLIENTS} items"));
        return None;
    }
    let mut ok = true;
    let mut seen = HashSet::new();
    for (i, client) in clients.iter().enumerate() {
        if let Err(message) = AzoClientId::parse(&client.client_id) {
            check.fail(&format!("clients[{i}].clientId"), message);
            ok = false;
        }
        if !seen.insert(client) {
            check.fail(
                "clients",
                format!(
                    "must not list a client twice: clientId '{}' of IdP tenant {} is there more than once",
                    client.client_id, client.idp_tenant_id
                ),
            );
            ok = false;
        }
    }
    ok.then_some(clients)
}

impl CreateApplicationBody {
    pub fn into_new(self) -> Result<NewApplication, ValidationErrors> {
        let mut check = Check::new();
        let product_id = check.required("productId", self.product_id);
        let name = check.required_text("name", self.name, NAME);
        let display_name = check.required_text("displayName", self.display_name, DISPLAY_NAME);
        let description = check.text("description", self.description, DESCRIPTION);
        let clients = self
            .clients
            .map(|list| clients(&mut check, list))
            .unwrap_or(Some(Vec::new()));
        check.finish_with(|| NewApplication {
            product_id: product_id.expect("checked"),
            name: name.expect("checked"),
            display_name: display_name.expect("checked"),
            description,
            is_active: self.is_active.unwrap_or(true),
            clients: clients.expect("checked"),
        })
    }
}

impl PatchApplicationBody {
    pub fn into_changes(self) -> Result<ApplicationChanges, ValidationErrors> {
        let mut check = Check::new();
        let listed = self.clients.map(|list| clients(&mut check, list));
        let changes = ApplicationChanges {
            name: check.text("name", self.name, NAME),
            display_name: check.text("displayName", self.display_name, DISPLAY_NAME),
            description: self
                .description
                .map(|set| check.text("description", set, DESCRIPTION)),
            is_active: self.is_active,
            clients: listed.flatten(),
        };
        check.finish_with(|| changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(tenant: i32, id: &str) -> ApplicationClient {
        ApplicationClient {
            idp_tenant_id: tenant,
            client_id: id.to_owned(),
        }
    }

    fn body() -> CreateApplicationBody {
        CreateApplicationBody {
            product_id: Some(1),
            name: Some("web".into()),
            display_name: Some("Web".into()),
            ..Default::default()
        }
    }

    fn refused(body: CreateApplicationBody) -> Vec<String> {
        body.into_new()
            .unwrap_err()
            .fields()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn defaults_and_missing_fields() {
        let new = body().into_new().unwrap();
        assert!(new.is_active);
        assert!(new.clients.is_empty());
        assert_eq!(new.description, None);
        assert_eq!(
            refused(CreateApplicationBody::default()),
            ["displayName", "name", "productId"]
        );
    }

    #[test]
    fn text_edges() {
        let with = |name: usize, display: usize, description: usize| CreateApplicationBody {
            name: Some("n".repeat(name)),
            display_name: Some("d".repeat(display)),
            description: Some("x".repeat(description)),
            ..body()
        };
        assert!(with(1, 1, 0).into_new().is_ok());
        assert!(with(100, 250, 1000).into_new().is_ok());
        assert_eq!(
            refused(with(0, 0, 1001)),
            ["description", "displayName", "name"]
        );
        assert_eq!(refused(with(101, 251, 1)), ["displayName", "name"]);
        let control = CreateApplicationBody {
            name: Some("a\u{7}".into()),
            ..body()
        };
        assert_eq!(refused(control), ["name"]);
    }

    #[test]
    fn client_id_edges_and_pattern() {
        let with = |id: &str| CreateApplicationBody {
            clients: Some(vec![client(1, id)]),
            ..body()
        };
        for good in ["a", "A-z_09", &"c".repeat(64)] {
            assert!(with(good).into_new().is_ok(), "{good}");
        }
        for bad in ["", &"c".repeat(65), "a b", "a.b", "é", "a/b"] {
            assert_eq!(refused(with(bad)), ["clients[0].clientId"], "{bad:?}");
        }
    }

    #[test]
    fn clients_count_edges() {
        let many = |n: usize| CreateApplicationBody {
            clients: Some((0..n).map(|i| client(1, &format!("c{i}"))).collect()),
            ..body()
        };
        assert_eq!(many(50).into_new().unwrap().clients.len(), 50);
        assert_eq!(refused(many(51)), ["clients"]);
        assert!(many(0).into_new().is_ok());
    }

    #[test]
    fn a_client_twice_is_refused_but_one_id_in_two_tenants_is_not() {
        let twice = CreateApplicationBody {
            clients: Some(vec![client(1, "a"), client(2, "b"), client(1, "a")]),
            ..body()
        };
        assert_eq!(refused(twice), ["clients"]);
        let two_tenants = CreateApplicationBody {
            clients: Some(vec![client(2, "a"), client(1, "a"), client(1, "A")]),
            ..body()
        };
        let new = two_tenants.into_new().unwrap();
        assert_eq!(
            new.clients,
            [client(2, "a"), client(1, "a"), client(1, "A")],
            "in the body's order; ids compare exactly"
        );
    }

    #[test]
    fn a_client_with_missing_or_unknown_fields_is_not_read() {
        for json in [
            r#"{"idpTenantId": 1}"#,
            r#"{"clientId": "a"}"#,
            r#"{"idpTenantId": 1, "clientId": "a", "x": 1}"#,
            r#"{"idpTenantId": "1", "clientId": "a"}"#,
        ] {
            assert!(
                serde_json::from_str::<ApplicationClient>(json).is_err(),
                "{json}"
            );
        }
    }

    #[test]
    fn patch_edges() {
        let parsed: PatchApplicationBody =
            serde_json::from_str(r#"{"description": null, "name": null, "clients": []}"#).unwrap();
        let changes = parsed.into_changes().unwrap();
        assert_eq!(changes.description, Some(None));
        assert_eq!(changes.name, None);
        assert_eq!(changes.clients, Some(Vec::new()));
        let bad = PatchApplicationBody {
            name: Some(String::new()),
            display_name: Some("d".repeat(251)),
            description: Some(Some("x".repeat(1001))),
            clients: Some(vec![client(1, "a b")]),
            ..Default::default()
        }
        .into_changes()
        .unwrap_err();
        assert_eq!(
            bad.fields().keys().cloned().collect::<Vec<_>>(),
            ["clients[0].clientId", "description", "displayName", "name"]
        );
        let ok = PatchApplicationBody {
            name: Some("n".repeat(100)),
            display_name: Some("d".repeat(250)),
            description: Some(Some("x".repeat(1000))),
            clients: Some((0..50).map(|i| client(1, &format!("c{i}"))).collect()),
            ..Default::default()
        };
        assert!(ok.into_changes().is_ok());
    }

    #[test]
    fn changes_apply() {
        let now = Timestamp::now();
        let application = Application {
            id: 1,
            product_id: 2,
            name: "web".into(),
            display_name: "Web".into(),
            description: Some("d".into()),
            is_active: true,
            clients: vec![client(1, "a")],
            created: now,
            created_by: "k".into(),
            modified: now,
            modified_by: "k".into(),
        };
        assert_eq!(
            ApplicationChanges::default().applied_to(&application),
            application
        );
        let next = ApplicationChanges {
            description: Some(None),
            clients: Some(vec![]),
            ..Default::default()
        }
        .applied_to(&application);
        assert_eq!(next.description, None);
        assert!(next.clients.is_empty());
        let reordered = ApplicationChanges {
            clients: Some(vec![client(2, "b"), client(1, "a")]),
            ..Default::default()
        }
        .applied_to(&application);
        assert_eq!(
            reordered.clients,
            [client(1, "a"), client(2, "b")],
            "kept sorted"
        );
        assert_eq!(next.name, "web");
    }
}
