//! The tenant's in-memory state, shared by every handler behind one lock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::middleware::faults::Faults;
use crate::middleware::rate_limit::Window;
use crate::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_CONNECTION, DEFAULT_CONNECTION_ID, SCOPES,
};

/// A machine-to-machine application allowed to get Management API tokens.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub client_metadata: Value,
}

#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) strategy: String,
}

pub(crate) struct Tenant {
    pub(crate) base_url: String,
    pub(crate) clients: Vec<Client>,
    pub(crate) connections: Vec<Connection>,
    pub(crate) users: BTreeMap<String, Value>,
    pub(crate) faults: Faults,
    pub(crate) rate_limit: u32,
    pub(crate) window: Window,
    pub(crate) stats: Stats,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) requests: BTreeMap<String, u64>,
    pub(crate) rate_limited: u64,
    /// Addresses a verification email went to (`verify_email` on create).
    pub(crate) verification_emails: Vec<String>,
    /// The `traceparent` header of the last request on each route that had one.
    pub(crate) traceparents: BTreeMap<String, String>,
    /// PATCHes of a user being answered now, by path.
    pub(crate) patching: BTreeMap<String, u32>,
    /// PATCHes that arrived while another PATCH of the same user was still
    /// being answered: two writers pushing one user at once.
    pub(crate) overlapping_patches: u64,
}

/// The simulator's state; clone it to share.
#[derive(Clone)]
pub struct Simulator {
    tenant: Arc<Mutex<Tenant>>,
}

impl Simulator {
    /// A tenant served at `base_url` (e.g. `http://127.0.0.1:4010`), with one
    /// client holding every scope, one database connection and `rate_limit`
    /// Management requests per second.
    pub fn new(base_url: &str, rate_limit: u32) -> Self {
        let tenant = Tenant {
            base_url: base_url.trim_end_matches('/').to_owned(),
            clients: vec![Client {
                client_id: DEFAULT_CLIENT_ID.to_owned(),
                client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
                name: "Nexus (simulator)".to_owned(),
                scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
                client_metadata: json!({}),
            }],
            connections: vec![Connection {
                id: DEFAULT_CONNECTION_ID.to_owned(),
                name: DEFAULT_CONNECTION.to_owned(),
                strategy: "auth0".to_owned(),
            }],
            users: BTreeMap::new(),
            faults: Faults::default(),
            rate_limit,
            window: Window { second: 0, used: 0 },
            stats: Stats::default(),
        };
        Simulator {
            tenant: Arc::new(Mutex::new(tenant)),
        }
    }

    pub fn base_url(&self) -> String {
        self.with(|t| t.base_url.clone())
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Tenant) -> T) -> T {
        f(&mut self.tenant.lock().expect("simulator state"))
    }
}
