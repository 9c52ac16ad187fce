//! The list of users: its fields for `$filter`/`$orderby`, and a page of
//! them read like one user (`aggregate`).

use nexus_core::list_query::{Field, FieldKind, ListSpec};
use nexus_core::user::User;

use super::record::COLUMNS;
use crate::list::{fetch_page, ListParams, Page};
use crate::rows::RowExt;
use crate::{Conn, StoreError};

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "id",
            column: "id",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "displayName",
            column: "display_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "givenName",
            column: "given_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "familyName",
            column: "family_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "emailAddress",
            column: "email_address",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "username",
            column: "username",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "nickname",
            column: "nickname",
            kind: FieldKind::Text,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "phoneNumber",
            column: "phone_number",
            kind: FieldKind::Text,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "type",
            column: "user_type",
            kind: FieldKind::Text,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "ownerId",
            column: "owner_id",
            kind: FieldKind::Text,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "organizationId",
            column: "organization_id",
            kind: FieldKind::Integer,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "isActive",
            column: "is_active",
            kind: FieldKind::Boolean,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "isMfaDisabled",
            column: "is_mfa_disabled",
            kind: FieldKind::Boolean,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "email-verified",
            column: "email_verified",
            kind: FieldKind::Boolean,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "authenticationMethod",
            column: "authentication_method",
            kind: FieldKind::Text,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "created",
            column: "created",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "modified",
            column: "modified",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
    ],
    search: &[
        "displayName",
        "emailAddress",
        "username",
        "givenName",
        "familyName",
    ],
    id_field: "id",
};

pub async fn list(conn: &mut Conn, params: &ListParams) -> Result<Page<User>, StoreError> {
    let page = fetch_page(conn, &LIST, COLUMNS, "users", &[], params).await?;
    let ids = page
        .items
        .iter()
        .map(|row| row.text("id"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut by_id = super::get_many(conn, &ids).await?;
    Ok(page.with_items(ids.iter().filter_map(|id| by_id.remove(id)).collect()))
}
