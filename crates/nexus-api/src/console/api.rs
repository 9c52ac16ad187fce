//! The console's way to read and change Nexus: it calls the API's own
//! routes in-process, as the signed-in session. So every console action
//! passes the one permission table, the API's validation and its audit
//! trail (under the API operation's id), and answers the API's problems.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use nexus_service::auth::Principal;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use tower::ServiceExt;

use crate::auth::Delegated;
use crate::request_id::RequestId;

/// The largest API answer the console reads (a page of a list is far less).
const ANSWER_LIMIT: usize = 16 * 1024 * 1024;

/// The API router, behind its authorization middleware.
#[derive(Clone)]
pub struct Api {
    router: Router,
}

/// A problem the API answered, as the console shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Problem {
    #[serde(skip)]
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    #[serde(default)]
    pub errors: BTreeMap<String, Vec<String>>,
}

impl Problem {
    pub fn forbidden(detail: &str) -> Self {
        Problem {
            status: StatusCode::FORBIDDEN,
            title: "Forbidden".to_owned(),
            detail: detail.to_owned(),
            errors: BTreeMap::new(),
        }
    }

    fn unexpected(status: StatusCode, detail: String) -> Self {
        Problem {
            status,
            title: "Unexpected answer".to_owned(),
            detail,
            errors: BTreeMap::new(),
        }
    }
}

/// Who calls: the session's principal, from the browser's address, within
/// the browser's request.
#[derive(Clone)]
pub struct Caller {
    pub principal: Principal,
    pub address: IpAddr,
    pub request_id: Option<RequestId>,
}

impl Api {
    pub fn new(router: Router) -> Self {
        Api { router }
    }

    /// `GET path` (with its query), read as `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        caller: &Caller,
        path: &str,
    ) -> Result<T, Problem> {
        let value = self.call(caller, Method::GET, path, None).await?;
        serde_json::from_value(value)
            .map_err(|e| Problem::unexpected(StatusCode::BAD_GATEWAY, format!("{path}: {e}")))
    }

    /// Calls the route; the JSON answer (`null` for none) or its problem.
    pub async fn call(
        &self,
        caller: &Caller,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Problem> {
        let mut request = Request::builder().method(method).uri(path);
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let bytes = body.map_or_else(Vec::new, |b| b.to_string().into_bytes());
        let mut request = request
            .body(Body::from(bytes))
            .map_err(|e| Problem::unexpected(StatusCode::BAD_REQUEST, e.to_string()))?;
        request.extensions_mut().insert(Delegated {
            principal: caller.principal.clone(),
            address: caller.address,
        });
        if let Some(id) = &caller.request_id {
            request.extensions_mut().insert(id.clone());
        }
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), ANSWER_LIMIT)
            .await
            .map_err(|e| Problem::unexpected(StatusCode::BAD_GATEWAY, e.to_string()))?;
        if status.is_success() {
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&bytes)
                .map_err(|e| Problem::unexpected(StatusCode::BAD_GATEWAY, format!("{path}: {e}")));
        }
        let mut problem: Problem = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            Problem::unexpected(status, String::from_utf8_lossy(&bytes).into_owned())
        });
        problem.status = status;
        Err(problem)
    }
}
