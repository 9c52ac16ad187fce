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
    /// The application's other Auth0 settings (`app_type`, `callbacks`,
    /// `refresh_token`, …), as a create or the seed gave them.
    pub settings: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) strategy: String,
    /// The password policy of a database connection: the shortest password.
    pub(crate) password_min_length: usize,
    /// The clients whose users may sign in through the connection.
    pub(crate) enabled_clients: Vec<String>,
}

/// Auth0's default password policy: at least 8 characters.
pub(crate) const DEFAULT_PASSWORD_MIN_LENGTH: usize = 8;

/// An e-mail Auth0 would have sent, with the link in it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Email {
    pub(crate) to: String,
    pub(crate) kind: EmailKind,
    pub(crate) link: String,
    pub(crate) sent: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EmailKind {
    VerifyEmail,
    ResetPassword,
    MfaEnrollment,
}

/// What a link of an e-mail (a ticket) lets its holder do, once.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    pub(crate) kind: EmailKind,
    pub(crate) user_id: String,
    /// Unix seconds after which the ticket is refused.
    pub(crate) expires: u64,
    /// Where the page sends the user when done, if the ticket names one.
    pub(crate) result_url: Option<String>,
}

pub(crate) struct Tenant {
    pub(crate) base_url: String,
    pub(crate) clients: Vec<Client>,
    pub(crate) connections: Vec<Connection>,
    pub(crate) users: BTreeMap<String, Value>,
    /// Passwords of database users, by user id; never in a user's JSON.
    pub(crate) passwords: BTreeMap<String, String>,
    /// Consecutive failed password logins, by user id.
    pub(crate) failed_logins: BTreeMap<String, u32>,
    /// Brute-force protection's blocks, by user id: the identifiers (e-mail
    /// addresses) blocked.
    pub(crate) login_blocks: BTreeMap<String, Vec<String>>,
    /// Every e-mail sent, oldest first.
    pub(crate) emails: Vec<Email>,
    pub(crate) tickets: BTreeMap<String, Ticket>,
    /// Sign-ins `/authorize` started and the login form has not finished,
    /// by transaction id.
    pub(crate) logins: BTreeMap<String, crate::authorize::Login>,
    /// Authorization codes not yet exchanged, by code.
    pub(crate) codes: BTreeMap<String, crate::authorize::Code>,
    /// Seconds the control API moved the tenant's clock forward
    /// (`POST /__sim/clock`); see [`Tenant::now`].
    pub(crate) clock_offset: u64,
    /// Jobs (`/jobs/...`), by id, as Auth0 shows them.
    pub(crate) jobs: BTreeMap<String, Value>,
    /// MFA (one-time password) enrollments, pending and confirmed, oldest
    /// first.
    pub(crate) enrollments: Vec<crate::lifecycle::mfa::Enrollment>,
    /// User exports' files, by job id.
    pub(crate) exports: BTreeMap<String, crate::exports::Export>,
    /// Log streams (`/log-streams`), as Auth0 shows them, oldest first.
    pub(crate) log_streams: Vec<Value>,
    /// Log events logged and not yet handed to a delivery task.
    pub(crate) log_outbox: Vec<crate::log_streams::Delivery>,
    pub(crate) log_sequence: u64,
    pub(crate) faults: Faults,
    pub(crate) rate_limit: u32,
    pub(crate) window: Window,
    pub(crate) stats: Stats,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) requests: BTreeMap<String, u64>,
    pub(crate) rate_limited: u64,
    /// The `traceparent` header of the last request on each route that had one.
    pub(crate) traceparents: BTreeMap<String, String>,
    /// PATCHes of a user being answered now, by path.
    pub(crate) patching: BTreeMap<String, u32>,
    /// PATCHes that arrived while another PATCH of the same user was still
    /// being answered: two writers pushing one user at once.
    pub(crate) overlapping_patches: u64,
    /// Log events posted to each stream: (accepted, given up on), by id.
    pub(crate) log_deliveries: BTreeMap<String, (u64, u64)>,
}

impl Tenant {
    /// The tenant's clock in Unix seconds: the wall clock plus what the
    /// control API moved it forward, so tests can let codes expire.
    pub(crate) fn now(&self) -> u64 {
        crate::clock::now_seconds() + self.clock_offset
    }

    /// Records an e-mail of `kind` to `to` for `user_id`, with a link to a
    /// fresh ticket (valid for `ttl` seconds); the ticket's URL.
    pub(crate) fn send_email(
        &mut self,
        kind: EmailKind,
        to: &str,
        user_id: &str,
        ttl: u64,
        result_url: Option<String>,
    ) -> String {
        let link = self.issue_ticket(kind, user_id, ttl, result_url);
        self.emails.push(Email {
            to: to.to_owned(),
            kind,
            link: link.clone(),
            sent: crate::clock::now_iso(),
        });
        link
    }

    /// A ticket for `user_id`, as the URL of the page that redeems it.
    pub(crate) fn issue_ticket(
        &mut self,
        kind: EmailKind,
        user_id: &str,
        ttl: u64,
        result_url: Option<String>,
    ) -> String {
        self.issue_ticket_with_id(kind, user_id, ttl, result_url).1
    }

    /// A ticket for `user_id`: its id and the URL of the page that redeems it.
    pub(crate) fn issue_ticket_with_id(
        &mut self,
        kind: EmailKind,
        user_id: &str,
        ttl: u64,
        result_url: Option<String>,
    ) -> (String, String) {
        let id = format!("{:032x}", rand::random::<u128>());
        self.tickets.insert(
            id.clone(),
            Ticket {
                kind,
                user_id: user_id.to_owned(),
                expires: crate::clock::now_seconds() + ttl,
                result_url,
            },
        );
        let page = match kind {
            EmailKind::VerifyEmail => "verify",
            EmailKind::ResetPassword => "reset",
            EmailKind::MfaEnrollment => "mfa-enroll",
        };
        let url = format!("{}/lo/{page}?ticket={id}", self.base_url);
        (id, url)
    }
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
                settings: serde_json::Map::new(),
            }],
            connections: vec![Connection {
                id: DEFAULT_CONNECTION_ID.to_owned(),
                name: DEFAULT_CONNECTION.to_owned(),
                strategy: "auth0".to_owned(),
                password_min_length: DEFAULT_PASSWORD_MIN_LENGTH,
                enabled_clients: vec![DEFAULT_CLIENT_ID.to_owned()],
            }],
            users: BTreeMap::new(),
            passwords: BTreeMap::new(),
            failed_logins: BTreeMap::new(),
            login_blocks: BTreeMap::new(),
            emails: Vec::new(),
            tickets: BTreeMap::new(),
            logins: BTreeMap::new(),
            codes: BTreeMap::new(),
            clock_offset: 0,
            jobs: BTreeMap::new(),
            enrollments: Vec::new(),
            exports: BTreeMap::new(),
            log_streams: Vec::new(),
            log_outbox: Vec::new(),
            log_sequence: 0,
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

    /// Runs `f` on the tenant under its lock; the log events it logged are
    /// then posted to the log streams in the background.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Tenant) -> T) -> T {
        let (answer, logged) = {
            let mut tenant = self.tenant.lock().expect("simulator state");
            let answer = f(&mut tenant);
            (answer, std::mem::take(&mut tenant.log_outbox))
        };
        if !logged.is_empty() {
            crate::log_streams::dispatch(self, logged);
        }
        answer
    }
}
