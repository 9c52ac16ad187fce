//! A client for the Auth0 Management API v2. It gets client-credentials tokens
//! (cached until shortly before they expire, one fetch however many callers
//! wait), retries 5xx answers and timeouts of idempotent calls with jittered
//! backoff, waits out 429s as `Retry-After` or `X-RateLimit-Reset` say, and
//! turns Auth0's error bodies into typed errors and its answers into typed
//! records (users, connections, clients, pages) that ignore fields Auth0
//! adds. A create is never blindly
//! sent twice: after an answer that leaves its fate unknown, the client looks
//! for the user it asked for before asking again. It knows nothing of Nexus.

mod clients;
mod connections;
mod exports;
mod mfa;
mod page;
mod trace_context;
mod update_user;
mod users;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tracing::Instrument;

pub use clients::{
    Client, ClientJwtConfiguration, ClientMobile, ClientMobileAndroid, ClientMobileIos,
    ClientRefreshToken, EnabledClient, EnabledClients,
};
pub use connections::Connection;
pub use exports::{
    read_export, ExportFields, ExportLine, ExportedUser, Job, IMPORT_FIELDS, RECONCILE_FIELDS,
};
pub use mfa::{Enrollment, EnrollmentTicket, MfaTokens};
pub use page::Page;
pub use update_user::{UpdateUserRequestContent, ValidationError};
pub use users::{CreateUser, Identity, User, UserDate};

/// Where the tenant is and how to authenticate to it.
#[derive(Clone)]
pub struct Config {
    /// `https://{tenant domain}` in production; `http://127.0.0.1:PORT` for the simulator.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Defaults to `{base_url}/api/v2/`.
    pub audience: Option<String>,
    /// Per attempt.
    pub timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// First backoff after a 5xx or timeout; doubles each attempt (with jitter).
    pub backoff: Duration,
    /// The longest a 429 is waited out before the call fails as rate limited.
    pub max_rate_limit_wait: Duration,
}

impl Config {
    pub fn new(base_url: &str, client_id: &str, client_secret: &str) -> Self {
        Config {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            audience: None,
            timeout: Duration::from_secs(10),
            max_attempts: 4,
            backoff: Duration::from_millis(200),
            max_rate_limit_wait: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Auth0 answered with an error body.
    #[error("Auth0 answered {status}: {message} ({error_code})")]
    Api {
        status: u16,
        error: String,
        message: String,
        error_code: String,
    },
    /// Still rate limited after waiting as long as allowed.
    #[error("Auth0 rate limit: retry in {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// No answer (connect error, timeout) or 5xx after every attempt.
    #[error("Auth0 is unavailable: {0}")]
    Unavailable(String),
    /// The request breaks a rule of the Management API's schema; not sent.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("could not get a Management API token: {0}")]
    Token(String),
}

impl Error {
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. } | Error::Unavailable(_) | Error::Token(_)
        )
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "statusCode")]
    status_code: Option<u16>,
    error: Option<String>,
    message: Option<String>,
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
}

/// Which token a call is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// The cached token while it is valid.
    Cached,
    /// A new one: Auth0 refused the cached token.
    Fresh,
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

/// Told of every answer the Management API gives (or the lack of one) and of
/// every wait for its rate limit: how a caller keeps metrics of its calls.
pub trait Observer: Send + Sync {
    /// `operation` is the method and the path with its ids left out, in
    /// lower case (`patch /users/{id}`); `status` is `None` when no answer came.
    fn answered(&self, operation: &str, status: Option<u16>, elapsed: Duration);
    /// Time spent waiting for the tenant's rate limit to reset.
    fn waited(&self, wait: Duration);
}

/// The operation a call is, for an `Observer`: every second path segment
/// after the first is an id (`/users/auth0%7C1` → `/users/{id}`).
fn operation_of(method: &Method, path: &str) -> String {
    let template: Vec<&str> = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .enumerate()
        .map(|(i, segment)| if i % 2 == 1 { "{id}" } else { segment })
        .collect();
    format!("{} /{}", method.as_str(), template.join("/")).to_lowercase()
}

/// A Management API client for one tenant. Cheap to clone.
#[derive(Clone)]
pub struct ManagementClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    observer: Option<Arc<dyn Observer>>,
    http: reqwest::Client,
    token: Mutex<Option<CachedToken>>,
    /// The last `x-ratelimit-remaining` and `x-ratelimit-reset` seen: when
    /// nothing remains, the next call waits for the reset instead of earning a 429.
    budget: std::sync::Mutex<Option<(u64, u64)>>,
}

/// Whether a call may be sent again when its first answer is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// GET, DELETE, and a PATCH of a full state: repeating it changes nothing.
    Safe,
    /// A create: only when the request surely never reached Auth0 (no
    /// connection, 401, 429); a timeout or 5xx is returned to the caller.
    IfNotReceived,
}

impl ManagementClient {
    pub fn new(config: Config) -> Self {
        Self::observed(config, None)
    }

    /// A client that tells `observer` of each answer and rate-limit wait.
    pub fn observed(config: Config, observer: Option<Arc<dyn Observer>>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .expect("an HTTP client with rustls");
        ManagementClient {
            inner: Arc::new(Inner {
                config,
                observer,
                http,
                token: Mutex::new(None),
                budget: std::sync::Mutex::new(None),
            }),
        }
    }

    fn audience(&self) -> String {
        let config = &self.inner.config;
        config
            .audience
            .clone()
            .unwrap_or_else(|| format!("{}/api/v2/", config.base_url))
    }

    /// A valid token: the cached one (unless `Token::Fresh`), or one fetched
    /// by the first caller while the others wait for it.
    async fn token(&self, which: Token) -> Result<String, Error> {
        let mut cached = self.inner.token.lock().await;
        if let Some(token) = cached
            .as_ref()
            .filter(|t| which == Token::Cached && Instant::now() < t.refresh_at)
        {
            return Ok(token.value.clone());
        }
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
            expires_in: u64,
        }
        let config = &self.inner.config;
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "audience": self.audience(),
        });
        let url = format!("{}/oauth/token", config.base_url);
        let mut last = String::new();
        for attempt in 0..config.max_attempts {
            if attempt > 0 {
                tokio::time::sleep(backoff(config.backoff, attempt)).await;
            }
            let request = self.inner.http.post(&url).json(&body);
            let answer = self.exchange("post /oauth/token", request).await;
            match answer {
                Ok(response) if response.status().is_success() => {
                    let answer: TokenAnswer = response
                        .json()
                        .await
                        .map_err(|e| Error::Token(e.to_string()))?;
                    // Renew a minute early (or at 90 % of a short lifetime).
                    let lifetime = Duration::from_secs(answer.expires_in);
                    let margin = Duration::from_secs(60).min(lifetime / 10);
                    *cached = Some(CachedToken {
                        value: answer.access_token.clone(),
                        refresh_at: Instant::now() + lifetime - margin,
                    });
                    return Ok(answer.access_token);
                }
                Ok(response) if response.status().is_server_error() || response.status() == 429 => {
                    last = format!("the token endpoint answered {}", response.status());
                }
                Ok(response) => {
                    return Err(Error::Token(format!(
                        "the token endpoint answered {}",
                        response.status()
                    )))
                }
                Err(error) => last = error.to_string(),
            }
        }
        Err(Error::Token(last))
    }

    /// Sends one idempotent Management API call, retrying as the module says.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<T, Error> {
        self.send(method, path, query, body, Resend::Safe).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        resend: Resend,
    ) -> Result<T, Error> {
        let config = &self.inner.config;
        let url = format!("{}/api/v2{path}", config.base_url);
        let mut refreshed = false;
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            self.pace().await;
            let token = self.token(Token::Cached).await?;
            let mut request = self
                .inner
                .http
                .request(method.clone(), &url)
                .bearer_auth(token)
                .query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let answer = self.exchange(&operation_of(&method, path), request).await;
            // A 5xx or timeout leaves open whether Auth0 acted on the call.
            let (failure, may_have_acted) = match answer {
                Ok(response) => {
                    self.note_budget(response.headers());
                    let status = response.status();
                    if status.is_success() {
                        if status == StatusCode::NO_CONTENT {
                            return serde_json::from_value(Value::Null)
                                .map_err(|e| Error::Unavailable(e.to_string()));
                        }
                        return response
                            .json()
                            .await
                            .map_err(|e| Error::Unavailable(format!("unreadable answer: {e}")));
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        let wait = rate_limit_wait(response.headers());
                        if waited + wait > config.max_rate_limit_wait {
                            return Err(Error::RateLimited { retry_after: wait });
                        }
                        tracing::debug!(?wait, "Auth0 rate limit: waiting");
                        self.wait(wait).await;
                        waited += wait;
                        continue;
                    }
                    if status == StatusCode::UNAUTHORIZED && !refreshed {
                        refreshed = true;
                        self.token(Token::Fresh).await?;
                        continue;
                    }
                    if !status.is_server_error() {
                        return Err(api_error(status, response).await);
                    }
                    (format!("{url} answered {status}"), true)
                }
                Err(error) => (error.to_string(), !error.is_connect()),
            };
            if may_have_acted && resend == Resend::IfNotReceived {
                return Err(Error::Unavailable(failure));
            }
            attempt += 1;
            if attempt >= config.max_attempts {
                return Err(Error::Unavailable(failure));
            }
            tokio::time::sleep(backoff(config.backoff, attempt)).await;
        }
    }

    /// Sends one HTTP request to the tenant in a client span named for the
    /// operation, carrying that span's trace context (`traceparent`), and
    /// tells the observer how it was answered.
    async fn exchange(
        &self,
        operation: &str,
        request: reqwest::RequestBuilder,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::debug_span!(
            "auth0",
            otel.name = operation,
            otel.kind = "client",
            auth0.operation = operation,
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let request = request.headers(trace_context::headers(&span));
        let sent = Instant::now();
        let answer = request.send().instrument(span.clone()).await;
        let status = answer.as_ref().ok().map(|r| r.status());
        if let Some(status) = status {
            span.record("http.response.status_code", i64::from(status.as_u16()));
        }
        if status.is_none_or(|s| s.is_client_error() || s.is_server_error()) {
            span.record("otel.status_code", "ERROR");
        }
        if let Some(observer) = &self.inner.observer {
            observer.answered(operation, status.map(|s| s.as_u16()), sent.elapsed());
        }
        answer
    }

    /// Sleeps for the tenant's rate limit, and says so to the observer.
    async fn wait(&self, wait: Duration) {
        if let Some(observer) = &self.inner.observer {
            observer.waited(wait);
        }
        tokio::time::sleep(wait).await;
    }

    /// Waits for the rate-limit window to reset when the last answer said
    /// nothing remains in it.
    async fn pace(&self) {
        let budget = *self.inner.budget.lock().expect("budget");
        if let Some((0, reset)) = budget {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let wait = Duration::from_secs(reset).saturating_sub(now);
            if !wait.is_zero() {
                let wait =
                    wait.min(self.inner.config.max_rate_limit_wait) + Duration::from_millis(20);
                self.wait(wait).await;
            }
            *self.inner.budget.lock().expect("budget") = None;
        }
    }

    fn note_budget(&self, headers: &reqwest::header::HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let (Some(remaining), Some(reset)) =
            (number("x-ratelimit-remaining"), number("x-ratelimit-reset"))
        {
            *self.inner.budget.lock().expect("budget") = Some((remaining, reset));
        }
    }

    pub async fn get_user(&self, id: &str) -> Result<User, Error> {
        self.call(Method::GET, &format!("/users/{}", encode(id)), &[], None)
            .await
    }

    /// `GET /users` with `include_totals=true`; `q` in Lucene syntax, e.g. `email:"a@b.c"`.
    pub async fn list_users(
        &self,
        page: u32,
        per_page: u32,
        q: Option<&str>,
    ) -> Result<Page<User>, Error> {
        let mut query = vec![
            ("page", page.to_string()),
            ("per_page", per_page.to_string()),
            ("include_totals", "true".into()),
        ];
        if let Some(q) = q {
            query.push(("q", q.to_owned()));
            query.push(("search_engine", "v3".into()));
        }
        self.call(Method::GET, "/users", &query, None).await
    }

    pub async fn users_by_email(&self, email: &str) -> Result<Vec<User>, Error> {
        self.call(
            Method::GET,
            "/users-by-email",
            &[("email", email.to_owned())],
            None,
        )
        .await
    }

    /// `POST /users`. The account gets an id chosen here (unless the caller
    /// chose one), so that after an answer that leaves the create's fate open
    /// (a timeout, a 5xx) the client can look for it before sending the create
    /// again: one call never makes two accounts.
    pub async fn create_user(&self, body: &CreateUser) -> Result<User, Error> {
        let mut body = body.clone();
        let local_id = body.user_id.get_or_insert_with(new_local_id).clone();
        let json = serde_json::to_value(&body).expect("a request body serializes");
        let mut attempt = 0;
        loop {
            let outcome = self
                .send(
                    Method::POST,
                    "/users",
                    &[],
                    Some(&json),
                    Resend::IfNotReceived,
                )
                .await;
            attempt += 1;
            let fate_unknown = matches!(outcome, Err(Error::Unavailable(_)));
            // A repeat finds the account an earlier, late attempt created.
            let taken_by_earlier =
                attempt > 1 && matches!(&outcome, Err(e) if e.status() == Some(409));
            if !fate_unknown && !taken_by_earlier {
                return outcome;
            }
            if let Some(user) = self.created_user(&body, &local_id).await? {
                return Ok(user);
            }
            if taken_by_earlier || body.email.is_none() || attempt >= self.inner.config.max_attempts
            {
                return outcome;
            }
            tokio::time::sleep(backoff(self.inner.config.backoff, attempt)).await;
        }
    }

    /// The account a create with this id made, if it was made.
    async fn created_user(&self, body: &CreateUser, local_id: &str) -> Result<Option<User>, Error> {
        let Some(email) = &body.email else {
            return Ok(None);
        };
        let users = self.users_by_email(email).await?;
        Ok(users.into_iter().find(|user| {
            user.identities.iter().any(|identity| {
                identity.connection.as_deref() == Some(body.connection.as_str())
                    && identity.user_id.as_deref() == Some(local_id)
            })
        }))
    }

    /// `PATCH /users/{id}`; the body is checked against the schema first.
    pub async fn update_user(
        &self,
        id: &str,
        body: &UpdateUserRequestContent,
    ) -> Result<User, Error> {
        body.validate()?;
        let body = serde_json::to_value(body).expect("a request body serializes");
        self.call(
            Method::PATCH,
            &format!("/users/{}", encode(id)),
            &[],
            Some(&body),
        )
        .await
    }

    pub async fn delete_user(&self, id: &str) -> Result<(), Error> {
        let _: IgnoredAny = self
            .call(Method::DELETE, &format!("/users/{}", encode(id)), &[], None)
            .await?;
        Ok(())
    }

    /// `DELETE /user-blocks/{id}`: lifts the brute-force blocks on the user
    /// (there need be none).
    pub async fn unblock_user(&self, id: &str) -> Result<(), Error> {
        let _: IgnoredAny = self
            .call(
                Method::DELETE,
                &format!("/user-blocks/{}", encode(id)),
                &[],
                None,
            )
            .await?;
        Ok(())
    }

    /// `POST /jobs/verification-email`: Auth0 e-mails the user a link that
    /// verifies their address. A resend after a lost answer at worst sends
    /// a second e-mail.
    pub async fn send_verification_email(&self, id: &str) -> Result<(), Error> {
        let body = serde_json::json!({ "user_id": id });
        let _: IgnoredAny = self
            .call(Method::POST, "/jobs/verification-email", &[], Some(&body))
            .await?;
        Ok(())
    }

    /// `POST /guardian/enrollments/ticket`: a link that lets the user enroll
    /// a second factor (`factor`, e.g. `otp`, or the user's choice), which
    /// Auth0 e-mails the user when `send_mail`. A resend after a lost answer
    /// at worst makes a second ticket (and e-mail).
    pub async fn create_enrollment_ticket(
        &self,
        user_id: &str,
        send_mail: bool,
        factor: Option<&str>,
    ) -> Result<EnrollmentTicket, Error> {
        let mut body = serde_json::json!({ "user_id": user_id, "send_mail": send_mail });
        if let Some(factor) = factor {
            body["factor"] = factor.into();
        }
        self.call(
            Method::POST,
            "/guardian/enrollments/ticket",
            &[],
            Some(&body),
        )
        .await
    }

    /// `GET /users/{id}/enrollments`: the user's confirmed MFA enrollments.
    pub async fn enrollments(&self, user_id: &str) -> Result<Vec<Enrollment>, Error> {
        self.call(
            Method::GET,
            &format!("/users/{}/enrollments", encode(user_id)),
            &[],
            None,
        )
        .await
    }

    /// The Authentication API's `POST /dbconnections/change_password`: Auth0
    /// e-mails the user of the database `connection` with this `email` a
    /// link to set a new password, returning to the application `client_id`.
    /// Sent once: a lost answer is an error, never a second e-mail.
    pub async fn send_password_reset(
        &self,
        client_id: &str,
        email: &str,
        connection: &str,
    ) -> Result<(), Error> {
        let body =
            serde_json::json!({"client_id": client_id, "email": email, "connection": connection});
        let _: IgnoredAny = self
            .authentication("/dbconnections/change_password", &body)
            .await?;
        Ok(())
    }

    /// The MFA API's `mfa-otp` grant (`POST /oauth/token`), sent as this
    /// client: Auth0 checks the one-time password `otp` of the user the MFA
    /// token `mfa_token` was issued to, and confirms the authenticator that
    /// token associated. Sent once: a code is not offered twice.
    pub async fn verify_mfa_otp(&self, mfa_token: &str, otp: &str) -> Result<MfaTokens, Error> {
        let config = &self.inner.config;
        let body = serde_json::json!({
            "grant_type": "http://auth0.com/oauth/grant-type/mfa-otp",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "mfa_token": mfa_token,
            "otp": otp,
        });
        self.authentication("/oauth/token", &body).await
    }

    /// One Authentication API call, sent once; its refusals read
    /// `{error, error_description}`.
    async fn authentication<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T, Error> {
        let url = format!("{}{path}", self.inner.config.base_url);
        let request = self.inner.http.post(&url).json(body);
        let response = self
            .exchange(&format!("post {path}"), request)
            .await
            .map_err(|error| Error::Unavailable(error.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return response
                .json()
                .await
                .map_err(|e| Error::Unavailable(format!("unreadable answer: {e}")));
        }
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Error::Unavailable(format!("{url} answered {status}")));
        }
        let refusal: Value = response.json().await.unwrap_or(Value::Null);
        let text = |field: &str| refusal[field].as_str().unwrap_or_default().to_owned();
        Err(Error::Api {
            status: status.as_u16(),
            error: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: text("error_description"),
            error_code: text("error"),
        })
    }

    pub async fn list_clients(&self, page: u32, per_page: u32) -> Result<Page<Client>, Error> {
        let query = [
            ("page", page.to_string()),
            ("per_page", per_page.to_string()),
            ("include_totals", "true".into()),
        ];
        self.call(Method::GET, "/clients", &query, None).await
    }

    /// Every client, page by page.
    pub async fn all_clients(&self) -> Result<Vec<Client>, Error> {
        let mut clients = Vec::new();
        const PER_PAGE: u32 = 100;
        for page in 0.. {
            let batch = self.list_clients(page, PER_PAGE).await?;
            let short = batch.items.len() < PER_PAGE as usize;
            clients.extend(batch.items);
            let done = short
                || batch
                    .total
                    .is_some_and(|total| clients.len() as u64 >= total);
            if done {
                break;
            }
        }
        Ok(clients)
    }

    /// `GET /clients/{id}`.
    pub async fn get_client(&self, id: &str) -> Result<Client, Error> {
        self.call(Method::GET, &format!("/clients/{}", encode(id)), &[], None)
            .await
    }

    /// `GET /connections/{id}/clients`: one page of the clients enabled on
    /// the connection, from the checkpoint `from`.
    pub async fn connection_clients(
        &self,
        id: &str,
        from: Option<&str>,
        take: u32,
    ) -> Result<EnabledClients, Error> {
        let mut query = vec![("take", take.to_string())];
        if let Some(from) = from {
            query.push(("from", from.to_owned()));
        }
        self.call(
            Method::GET,
            &format!("/connections/{}/clients", encode(id)),
            &query,
            None,
        )
        .await
    }

    /// The ids of every client enabled on the connection, page by page.
    pub async fn all_connection_clients(&self, id: &str) -> Result<Vec<String>, Error> {
        let mut ids = Vec::new();
        let mut from: Option<String> = None;
        loop {
            let page = self.connection_clients(id, from.as_deref(), 1000).await?;
            let empty = page.clients.is_empty();
            ids.extend(page.clients.into_iter().map(|c| c.client_id));
            match page.next {
                Some(next) if !empty && from.as_deref() != Some(next.as_str()) => from = Some(next),
                _ => return Ok(ids),
            }
        }
    }

    /// `PATCH /connections/{id}/clients`: enables (`true`) or disables each
    /// client on the connection. Sending it twice changes nothing more.
    pub async fn update_connection_clients(
        &self,
        id: &str,
        changes: &[(&str, bool)],
    ) -> Result<(), Error> {
        let body: Value = changes
            .iter()
            .map(
                |(client_id, status)| serde_json::json!({"client_id": client_id, "status": status}),
            )
            .collect();
        let _: IgnoredAny = self
            .call(
                Method::PATCH,
                &format!("/connections/{}/clients", encode(id)),
                &[],
                Some(&body),
            )
            .await?;
        Ok(())
    }

    /// The connection with this name, if any.
    pub async fn connection_by_name(&self, name: &str) -> Result<Option<Connection>, Error> {
        let found: Vec<Connection> = self
            .call(
                Method::GET,
                "/connections",
                &[("name", name.to_owned())],
                None,
            )
            .await?;
        Ok(found.into_iter().next())
    }

    /// The connections of one strategy (`auth0` for database connections).
    pub async fn connections_by_strategy(&self, strategy: &str) -> Result<Vec<Connection>, Error> {
        self.call(
            Method::GET,
            "/connections",
            &[("strategy", strategy.to_owned())],
            None,
        )
        .await
    }

    pub async fn get_connection(&self, id: &str) -> Result<Connection, Error> {
        self.call(
            Method::GET,
            &format!("/connections/{}", encode(id)),
            &[],
            None,
        )
        .await
    }
}

fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// 24 random hex digits, the shape of the ids Auth0 gives database users.
fn new_local_id() -> String {
    format!(
        "{:016x}{:08x}",
        rand::random::<u64>(),
        rand::random::<u32>()
    )
}

/// Exponential backoff with full jitter: a random wait up to `base · 2^attempt`, capped at 5 s.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(attempt.min(10)))
        .min(Duration::from_secs(5));
    ceiling.mul_f64(rand::random::<f64>().max(0.1))
}

/// How long a 429 asks to wait: `Retry-After` (seconds), else until
/// `X-RateLimit-Reset` (a Unix time), else one second.
fn rate_limit_wait(headers: &reqwest::header::HeaderMap) -> Duration {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(seconds) = number("retry-after") {
        return Duration::from_secs(seconds);
    }
    if let Some(reset) = number("x-ratelimit-reset") {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let reset = Duration::from_secs(reset);
        // The reset second has begun once now passes it; a little slack
        // avoids hammering the end of the window.
        return reset.saturating_sub(now).max(Duration::from_millis(50))
            + Duration::from_millis(20);
    }
    Duration::from_secs(1)
}

async fn api_error(status: StatusCode, response: reqwest::Response) -> Error {
    let body: Option<ErrorBody> = response.json().await.ok();
    let body = body.unwrap_or(ErrorBody {
        status_code: None,
        error: None,
        message: None,
        error_code: None,
    });
    Error::Api {
        status: body.status_code.unwrap_or(status.as_u16()),
        error: body
            .error
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_owned()),
        message: body.message.unwrap_or_default(),
        error_code: body.error_code.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn operations_leave_ids_out() {
        use super::{operation_of, Method};
        assert_eq!(
            operation_of(&Method::PATCH, "/users/auth0%7C1"),
            "patch /users/{id}"
        );
        assert_eq!(
            operation_of(&Method::GET, "/users-by-email"),
            "get /users-by-email"
        );
        assert_eq!(
            operation_of(&Method::GET, "/connections/con_1"),
            "get /connections/{id}"
        );
        assert_eq!(operation_of(&Method::GET, "/clients"), "get /clients");
    }
    use super::*;

    #[test]
    fn retry_after_wins_over_the_reset_time() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        headers.insert("x-ratelimit-reset", "1".parse().unwrap());
        assert_eq!(rate_limit_wait(&headers), Duration::from_secs(3));
        headers.remove("retry-after");
        assert_eq!(
            rate_limit_wait(&headers),
            Duration::from_millis(70),
            "a reset in the past waits a moment"
        );
        assert_eq!(
            rate_limit_wait(&reqwest::header::HeaderMap::new()),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 0..20 {
            let wait = backoff(Duration::from_millis(100), attempt);
            assert!(wait <= Duration::from_secs(5));
            assert!(wait <= Duration::from_millis(100) * 2u32.pow(attempt.min(10)));
        }
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode("auth0|abc def"), "auth0%7Cabc%20def");
    }
}
