//! `POST /jobs/users-exports`: Auth0's bulk user export. The file is made
//! when the job is created (a snapshot of the users), gzip'd newline-delimited
//! JSON or CSV; the job reads `pending` until it has been polled once, then
//! `completed` with the file's `location`, an address outside the Management
//! API that needs no token (Auth0's is a signed download link).

use std::io::Write;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Map, Value};

use crate::clock::now_iso;
use crate::error::{error, invalid_body};
use crate::middleware::auth::authorize;
use crate::middleware::validation::closed_body_object;
use crate::state::Tenant;
use crate::Simulator;

const FIELDS: &[&str] = &["connection_id", "fields", "format", "limit"];

/// An export made, and how often its job was read.
pub(crate) struct Export {
    pub(crate) file: Vec<u8>,
    pub(crate) polls: u32,
}

/// One exported column: the user's property (`email`, `app_metadata.key`,
/// `identities[0].connection`) and the name it is exported as.
struct Field {
    name: String,
    export_as: String,
}

pub(crate) async fn users_export(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["read:users"]) {
        return response;
    }
    let body = match closed_body_object(&headers, &body, FIELDS) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let request = match ExportRequest::parse(&body) {
        Ok(request) => request,
        Err(message) => return invalid_body(&message),
    };
    sim.with(|t| {
        let connection = match &request.connection_id {
            Some(id) => match t.connections.iter().find(|c| &c.id == id) {
                Some(connection) => Some(connection.name.clone()),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "The connection does not exist.",
                        "inexistent_connection",
                    )
                }
            },
            None => None,
        };
        let file = request.file(t, connection.as_deref());
        let id = format!("job_{:016x}", rand::random::<u64>());
        let mut job = json!({"id": id, "type": "users_export", "status": "pending",
            "format": request.format, "created_at": now_iso()});
        // The schema requires `connection`; an export of every connection
        // has none to name.
        job["connection"] = json!(connection.as_deref().unwrap_or_default());
        if let Some(id) = &request.connection_id {
            job["connection_id"] = json!(id);
        }
        if let Some(limit) = request.limit {
            job["limit"] = json!(limit);
        }
        if !request.fields.is_empty() {
            job["fields"] = request
                .fields
                .iter()
                .map(|f| json!({"name": f.name, "export_as": f.export_as}))
                .collect();
        }
        t.jobs.insert(id.clone(), job.clone());
        t.exports.insert(id, Export { file, polls: 0 });
        Json(job).into_response()
    })
}

/// The job as `GET /jobs/{id}` shows it: an export completes once it has
/// been polled.
pub(crate) fn poll(t: &mut Tenant, id: &str) -> Option<Value> {
    let mut job = t.jobs.get(id)?.clone();
    let Some(export) = t.exports.get_mut(id) else {
        return Some(job);
    };
    export.polls += 1;
    if export.polls > 1 {
        let extension = if job["format"] == "csv" {
            "csv"
        } else {
            "json"
        };
        job["status"] = json!("completed");
        job["percentage_done"] = json!(100);
        job["location"] = json!(format!("{}/__sim/exports/{id}.{extension}.gz", t.base_url));
        t.jobs.insert(id.to_owned(), job.clone());
    }
    Some(job)
}

/// `GET /__sim/exports/{file}`: the gzip'd file of a completed export.
pub(crate) async fn download(State(sim): State<Simulator>, Path(file): Path<String>) -> Response {
    let id = file.split('.').next().unwrap_or_default().to_owned();
    let found = sim.with(|t| {
        let completed = t.jobs.get(&id).is_some_and(|j| j["status"] == "completed");
        t.exports
            .get(&id)
            .filter(|_| completed)
            .map(|e| e.file.clone())
    });
    match found {
        Some(file) => ([(header::CONTENT_TYPE, "application/gzip")], file).into_response(),
        None => (StatusCode::NOT_FOUND, "no such export").into_response(),
    }
}

struct ExportRequest {
    connection_id: Option<String>,
    format: String,
    limit: Option<u64>,
    fields: Vec<Field>,
}

impl ExportRequest {
    fn parse(body: &Map<String, Value>) -> Result<ExportRequest, String> {
        let connection_id = match body.get("connection_id") {
            None => None,
            Some(Value::String(id)) if is_connection_id(id) => Some(id.clone()),
            Some(_) => return Err(
                "'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id."
                    .to_owned(),
            ),
        };
        let format = match body.get("format") {
            None => "json".to_owned(),
            Some(Value::String(f)) if f == "json" || f == "csv" => f.clone(),
            Some(_) => {
                return Err("'No enum match for: format' on property format.".to_owned());
            }
        };
        let limit = match body.get("limit") {
            None => None,
            Some(limit) => match limit.as_u64().filter(|l| *l >= 1) {
                Some(limit) => Some(limit),
                None => {
                    return Err(
                        "'Value must be an integer of at least 1' on property limit.".to_owned(),
                    )
                }
            },
        };
        let fields = match body.get("fields") {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                items.iter().map(Field::parse).collect::<Result<_, _>>()?
            }
            Some(_) => return Err("'Expected type array' on property fields.".to_owned()),
        };
        Ok(ExportRequest {
            connection_id,
            format,
            limit,
            fields,
        })
    }

    /// The gzip'd file: the users (of the connection, if one is named), at
    /// most `limit` of them.
    fn file(&self, t: &Tenant, connection: Option<&str>) -> Vec<u8> {
        let users = t
            .users
            .values()
            .filter(|u| connection.is_none_or(|name| has_connection(u, name)))
            .take(self.limit.map_or(usize::MAX, |l| l as usize));
        let mut gzip = GzEncoder::new(Vec::new(), Compression::fast());
        if self.format == "csv" {
            let header: Vec<String> = self.fields.iter().map(|f| csv_cell(&f.export_as)).collect();
            writeln!(gzip, "{}", header.join(",")).expect("writes to memory");
        }
        for user in users {
            let line = match self.format.as_str() {
                "csv" => self.csv_row(user),
                _ => serde_json::to_string(&self.record(user)).expect("JSON"),
            };
            writeln!(gzip, "{line}").expect("writes to memory");
        }
        gzip.finish().expect("writes to memory")
    }

    /// The exported object: the whole user, or the asked-for fields that it
    /// has, under their `export_as` names.
    fn record(&self, user: &Value) -> Value {
        if self.fields.is_empty() {
            return user.clone();
        }
        let record: Map<String, Value> = self
            .fields
            .iter()
            .filter_map(|f| Some((f.export_as.clone(), lookup(user, &f.name)?.clone())))
            .collect();
        Value::Object(record)
    }

    fn csv_row(&self, user: &Value) -> String {
        let cells: Vec<String> = self
            .fields
            .iter()
            .map(|f| match lookup(user, &f.name) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => csv_cell(text),
                Some(other) => csv_cell(&other.to_string()),
            })
            .collect();
        cells.join(",")
    }
}

impl Field {
    fn parse(item: &Value) -> Result<Field, String> {
        let text = |key: &str| match item.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= 100 => Ok(Some(s.clone())),
            Some(_) => Err(format!(
                "'Expected a string of at most 100 characters' on property fields.{key}."
            )),
        };
        if item
            .as_object()
            .is_some_and(|o| o.keys().any(|k| k != "name" && k != "export_as"))
        {
            return Err("'Additional properties not allowed' on property fields.".to_owned());
        }
        let name = text("name")?
            .ok_or_else(|| "'Missing required property: name' on property fields.".to_owned())?;
        let export_as = text("export_as")?.unwrap_or_else(|| name.clone());
        Ok(Field { name, export_as })
    }
}

fn is_connection_id(id: &str) -> bool {
    id.strip_prefix("con_")
        .is_some_and(|rest| rest.len() == 16 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn has_connection(user: &Value, connection: &str) -> bool {
    user["identities"]
        .as_array()
        .is_some_and(|ids| ids.iter().any(|i| i["connection"] == connection))
}

/// A property by path: `a.b` for nested objects, `a[0]` for array items.
fn lookup<'a>(user: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(user, |value, part| match part.split_once('[') {
            Some((key, index)) => {
                let index: usize = index.strip_suffix(']')?.parse().ok()?;
                value.get(key)?.get(index)
            }
            None => value.get(part),
        })
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_found_by_path() {
        let user = json!({"email": "a@b.c", "app_metadata": {"k": 1},
            "identities": [{"connection": "db"}]});
        assert_eq!(lookup(&user, "email"), Some(&json!("a@b.c")));
        assert_eq!(lookup(&user, "app_metadata.k"), Some(&json!(1)));
        assert_eq!(
            lookup(&user, "identities[0].connection"),
            Some(&json!("db"))
        );
        assert_eq!(lookup(&user, "identities[1].connection"), None);
        assert_eq!(lookup(&user, "nope.deeper"), None);
    }

    #[test]
    fn csv_cells_are_quoted_when_needed() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
