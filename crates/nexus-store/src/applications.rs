//! Applications and the Auth0 clients that run them.

use std::collections::HashMap;

use nexus_core::application::{Application, ApplicationClient, NewApplication};
use nexus_core::list_query::{Field, FieldKind, ListSpec};
use nexus_core::{Actor, Audit, Timestamp};

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::{children_of, flag, grouped, placeholders, ChildRows, RowExt};
use crate::{for_update, Conn, StoreError};

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "id",
            column: "id",
            kind: FieldKind::Integer,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "productId",
            column: "product_id",
            kind: FieldKind::Integer,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "name",
            column: "name",
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
            name: "isActive",
            column: "is_active",
            kind: FieldKind::Boolean,
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
    search: &["name", "displayName"],
    id_field: "id",
};

/// What the unique index on (product, name) answers.
pub const NAME_TAKEN: &str = "the product already has an application with this name";
/// What the unique index on (client, tenant) answers.
pub const CLIENT_TAKEN: &str =
    "an Auth0 client of this application already runs another application";

const COLUMNS: &str = "id, product_id, name, display_name, description, is_active, \
    created, created_by, modified, modified_by";

/// The application, without its clients.
fn from_row(row: &impl RowExt) -> Result<Application, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    Ok(Application {
        id: row.int("id")?,
        product_id: row.int("product_id")?,
        name: row.text("name")?,
        display_name: row.text("display_name")?,
        description: row.opt_text("description")?,
        is_active: row.flag("is_active")?,
        clients: Vec::new(),
        created,
        created_by,
        modified,
        modified_by,
    })
}

/// Stores a new application with its clients; `StoreError::Conflict`
/// (`NAME_TAKEN`, `CLIENT_TAKEN`) when the name or a client is taken.
pub async fn insert(
    conn: &mut Conn,
    new: &NewApplication,
    actor: &Actor,
) -> Result<Application, StoreError> {
    let sql = format!(
        "INSERT INTO applications (product_id, name, display_name, description, is_active, \
         created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $7) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new.product_id)
        .bind(&new.name)
        .bind(&new.display_name)
        .bind(&new.description)
        .bind(flag(new.is_active))
        .bind(Timestamp::now().to_text())
        .bind(&actor.id)
        .fetch_one(&mut *conn)
        .await?;
    let mut application = from_row(&row)?;
    add_clients(conn, application.id, &new.clients).await?;
    application.clients = new.clients.clone();
    application.clients.sort();
    Ok(application)
}

async fn add_clients(
    conn: &mut Conn,
    application_id: i32,
    clients: &[ApplicationClient],
) -> Result<(), StoreError> {
    for client in clients {
        sqlx::query(
            "INSERT INTO application_clients (application_id, idp_tenant_id, client_id) VALUES ($1, $2, $3)",
        )
        .bind(application_id)
        .bind(client.idp_tenant_id)
        .bind(&client.client_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The clients of each of `application_ids`, sorted.
async fn clients_of(
    conn: &mut Conn,
    application_ids: &[i32],
) -> Result<HashMap<i32, Vec<ApplicationClient>>, StoreError> {
    let mut by_application: HashMap<i32, Vec<ApplicationClient>> = HashMap::new();
    if application_ids.is_empty() {
        return Ok(by_application);
    }
    let sql = format!(
        "SELECT application_id, idp_tenant_id, client_id FROM application_clients \
         WHERE application_id IN ({}) ORDER BY application_id, idp_tenant_id, client_id",
        placeholders(1, application_ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in application_ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(conn).await? {
        by_application
            .entry(row.int("application_id")?)
            .or_default()
            .push(ApplicationClient {
                idp_tenant_id: row.int("idp_tenant_id")?,
                client_id: row.text("client_id")?,
            });
    }
    Ok(by_application)
}

/// Fills the applications' clients, with one query for all of them.
async fn fill_clients(conn: &mut Conn, applications: &mut [Application]) -> Result<(), StoreError> {
    let ids: Vec<i32> = applications.iter().map(|a| a.id).collect();
    let mut clients = clients_of(conn, &ids).await?;
    for application in applications {
        let mut of = clients.remove(&application.id).unwrap_or_default();
        // Sorted as the domain sorts them (by tenant, then id, exactly).
        of.sort();
        application.clients = of;
    }
    Ok(())
}

async fn one(conn: &mut Conn, sql: &str, id: i32) -> Result<Option<Application>, StoreError> {
    let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut found = [from_row(&row)?];
    fill_clients(conn, &mut found).await?;
    let [application] = found;
    Ok(Some(application))
}

/// The application with its clients.
pub async fn get(conn: &mut Conn, id: i32) -> Result<Option<Application>, StoreError> {
    one(
        conn,
        &format!("SELECT {COLUMNS} FROM applications WHERE id = $1"),
        id,
    )
    .await
}

/// `get`, locking the application until the transaction ends
/// (`for_update`). Its clients change only with it locked so.
pub async fn get_for_update(conn: &mut Conn, id: i32) -> Result<Option<Application>, StoreError> {
    let sql = for_update(
        conn,
        &format!("SELECT {COLUMNS} FROM applications WHERE id = $1"),
    );
    one(conn, &sql, id).await
}

/// `get`, locking the application against everything until the
/// transaction ends, new references to it included (`for_delete`).
pub async fn get_for_delete(conn: &mut Conn, id: i32) -> Result<Option<Application>, StoreError> {
    let sql = crate::backend::for_delete(
        conn,
        &format!("SELECT {COLUMNS} FROM applications WHERE id = $1"),
    );
    one(conn, &sql, id).await
}

/// A page of applications with their clients.
pub async fn list(conn: &mut Conn, params: &ListParams) -> Result<Page<Application>, StoreError> {
    let mut page = fetch_page(conn, &LIST, COLUMNS, "applications", &[], params)
        .await?
        .try_map(from_row)?;
    fill_clients(conn, &mut page.items).await?;
    Ok(page)
}

/// The applications of each of `product_ids`, by name, with their clients:
/// one query for the applications and one for their clients.
pub async fn of_products(
    conn: &mut Conn,
    product_ids: &[i32],
) -> Result<HashMap<i32, Vec<Application>>, StoreError> {
    let select = format!("SELECT {COLUMNS} FROM applications");
    let rows = ChildRows {
        select: &select,
        parent: "product_id",
        order: "product_id, lower(name), id",
    };
    let mut applications = children_of(conn, rows, product_ids, from_row).await?;
    fill_clients(conn, &mut applications).await?;
    Ok(grouped(applications, |a| a.product_id))
}

/// An application that runs a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub client: ApplicationClient,
    pub application_id: i32,
    pub application_name: String,
    pub product_id: i32,
}

/// Which of `clients` run an application other than `except`, and which.
pub async fn holders(
    conn: &mut Conn,
    clients: &[ApplicationClient],
    except: Option<i32>,
) -> Result<Vec<Holder>, StoreError> {
    if clients.is_empty() {
        return Ok(Vec::new());
    }
    let pairs: Vec<String> = (0..clients.len())
        .map(|i| {
            format!(
                "(c.client_id = ${} AND c.idp_tenant_id = ${})",
                2 * i + 2,
                2 * i + 3
            )
        })
        .collect();
    let sql = format!(
        "SELECT c.idp_tenant_id, c.client_id, a.id, a.name, a.product_id \
         FROM application_clients c JOIN applications a ON a.id = c.application_id \
         WHERE a.id <> $1 AND ({}) ORDER BY c.idp_tenant_id, c.client_id",
        pairs.join(" OR ")
    );
    let mut query = sqlx::query(&sql).bind(except.unwrap_or(0));
    for client in clients {
        query = query.bind(&client.client_id).bind(client.idp_tenant_id);
    }
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            Ok(Holder {
                client: ApplicationClient {
                    idp_tenant_id: row.int("idp_tenant_id")?,
                    client_id: row.text("client_id")?,
                },
                application_id: row.int("id")?,
                application_name: row.text("name")?,
                product_id: row.int("product_id")?,
            })
        })
        .collect()
}

/// Writes `next` over `current` (read with `get_for_update`): the row when
/// a field of it changed, the clients when they did; nothing when neither.
pub async fn update(
    conn: &mut Conn,
    current: &Application,
    next: &Application,
    actor: &Actor,
) -> Result<Application, StoreError> {
    if next == current {
        return Ok(current.clone());
    }
    if next.clients != current.clients {
        sqlx::query("DELETE FROM application_clients WHERE application_id = $1")
            .bind(current.id)
            .execute(&mut *conn)
            .await?;
        add_clients(conn, current.id, &next.clients).await?;
    }
    let sql = format!(
        "UPDATE applications SET name = $2, display_name = $3, description = $4, is_active = $5, \
         modified = $6, modified_by = $7 WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(current.id)
        .bind(&next.name)
        .bind(&next.display_name)
        .bind(&next.description)
        .bind(flag(next.is_active))
        .bind(Timestamp::now_after(current.modified).to_text())
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    Ok(Application {
        clients: next.clients.clone(),
        ..from_row(&row)?
    })
}

/// Whether the application has deployments (read after `get_for_delete`).
pub async fn has_deployments(conn: &mut Conn, id: i32) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM application_deployments WHERE application_id = $1 LIMIT 1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Deletes the application; its clients go with it.
pub async fn delete(conn: &mut Conn, id: i32) -> Result<bool, StoreError> {
    let deleted = sqlx::query("DELETE FROM applications WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected() > 0)
}
