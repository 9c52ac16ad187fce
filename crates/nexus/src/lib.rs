//! The `nexus` server: configuration, wiring and lifecycle. The binary is a
//! thin CLI over this, and the tests start the very same server.

use std::net::SocketAddr;

mod serve;
pub mod trace_export;

use anyhow::Context;
use nexus_service::api_keys::{Bootstrap, ExistingKey};
use nexus_service::audit_retention::RetentionConfig;
use nexus_service::auth::AuthConfig;
use nexus_service::console_auth0::ConsoleAuth0Config;
use nexus_service::organization_domains::DomainConfig;
use nexus_service::push::PushConfig;
use nexus_service::reconciliations::ReconcileConfig;
use nexus_service::webhooks::WebhookConfig;
use nexus_service::Nexus;
use nexus_store::Store;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use serve::HttpLimits;

/// Where the server keeps its data and where it listens.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://PATH` (created if absent) or `postgres://…`.
    pub database_url: String,
    pub listen: SocketAddr,
    pub auth: AuthConfig,
    /// `keyId:secret` of an admin key to create at start if it does not exist.
    pub bootstrap_api_key: Option<String>,
    /// Give an existing bootstrap key the configured secret and a new year.
    pub rotate_bootstrap_api_key: bool,
    pub push: PushConfig,
    pub webhooks: WebhookConfig,
    pub http: HttpLimits,
    /// Traces are exported (`trace_export`): requests continue their
    /// callers' traces and carry the HTTP attributes.
    pub traced: bool,
    pub audit_retention: RetentionConfig,
    /// The reconciliation worker, and its schedule (off by default).
    pub reconciliations: ReconcileConfig,
    /// Domain verification: the codes' lifetime and the DNS lookups.
    pub domains: DomainConfig,
    /// People sign in to the console through Auth0 (off when unset).
    pub console_auth0: Option<ConsoleAuth0Options>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://nexus.db".to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            auth: AuthConfig::default(),
            bootstrap_api_key: None,
            rotate_bootstrap_api_key: false,
            push: PushConfig::default(),
            webhooks: WebhookConfig::default(),
            http: HttpLimits::default(),
            traced: false,
            audit_retention: RetentionConfig::default(),
            reconciliations: ReconcileConfig::default(),
            domains: DomainConfig::default(),
            console_auth0: None,
        }
    }
}

/// The console's sign-in through the Auth0 tenant of an IdP tenant.
#[derive(Clone)]
pub struct ConsoleAuth0Options {
    /// The IdP tenant, by id or name.
    pub idp_tenant: String,
    pub client_id: String,
    /// None: a public client (PKCE alone protects the code).
    pub client_secret: Option<String>,
    /// The console's public base URL; unset: `http://<listen address>`
    /// when that is loopback, else sign-in through Auth0 is off.
    pub url: Option<String>,
}

impl std::fmt::Debug for ConsoleAuth0Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleAuth0Options")
            .field("idp_tenant", &self.idp_tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("url", &self.url)
            .finish()
    }
}

impl ConsoleAuth0Options {
    /// The configuration of a server listening on `listen`: `None`, with a
    /// warning, when the console's URL is unset and cannot be guessed.
    pub fn resolve(&self, listen: SocketAddr) -> anyhow::Result<Option<ConsoleAuth0Config>> {
        let url = match &self.url {
            Some(url) => url.clone(),
            None if listen.ip().is_loopback() => format!("http://{listen}"),
            None => {
                tracing::warn!(
                    %listen,
                    "NEXUS_CONSOLE_URL is unset and the server listens beyond loopback: \
                     console sign-in through Auth0 is off (API keys still sign in)"
                );
                return Ok(None);
            }
        };
        ConsoleAuth0Config::new(
            self.idp_tenant.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
            &url,
        )
        .map(Some)
        .map_err(|e| anyhow::anyhow!("NEXUS_CONSOLE_URL: {e}"))
    }
}

/// What runs beside the API: the background workers' pacing and the
/// bounds on clients.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub push: PushConfig,
    pub webhooks: WebhookConfig,
    pub http: HttpLimits,
    /// Traces are exported (`trace_export`): requests continue their
    /// callers' traces and carry the HTTP attributes.
    pub traced: bool,
    pub audit_retention: RetentionConfig,
    pub imports: nexus_service::imports::ImportConfig,
    pub reconciliations: ReconcileConfig,
    pub domains: DomainConfig,
    /// People sign in to the console through Auth0 (off when unset).
    pub console_auth0: Option<ConsoleAuth0Options>,
}

/// Connects to the database and brings its schema up to date.
pub async fn open_store(database_url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(database_url)
        .await
        .with_context(|| format!("connecting to {}", redact(database_url)))?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// Time allowed for the push worker and the database pools to close after
/// the connections, even when the grace period is spent.
const SHUTDOWN_CLEANUP_MIN: std::time::Duration = std::time::Duration::from_secs(1);

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, lets requests in flight finish within the shutdown
    /// grace period, closes the connections still open, and waits.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await.context("server task")?;
        Ok(())
    }

    /// Waits until the server stops by itself.
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        (&mut self.task).await.context("server task")?;
        Ok(())
    }
}

/// Opens the store, binds the listener and serves until `stop`.
pub async fn start(config: &Config) -> anyhow::Result<RunningServer> {
    let store = open_store(&config.database_url).await?;
    let resealed = nexus_service::idp_tenants::reseal_stored_secrets(&Nexus::new(
        store.clone(),
        config.auth.clone(),
    ))
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "the stored Auth0 Management client secrets cannot be read: {e} \
             (NEXUS_SECRET_KEY seals them; while rotating, the old key goes in NEXUS_SECRET_KEY_PREVIOUS)"
        )
    })?;
    if resealed > 0 {
        tracing::info!(
            resealed,
            "sealed stored Management client secrets with the current key"
        );
    }
    let resealed = nexus_service::webhooks::reseal_stored_secrets(&Nexus::new(
        store.clone(),
        config.auth.clone(),
    ))
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "the stored webhook secrets cannot be read: {e} \
             (NEXUS_SECRET_KEY seals them; while rotating, the old key goes in NEXUS_SECRET_KEY_PREVIOUS)"
        )
    })?;
    if resealed > 0 {
        tracing::info!(
            resealed,
            "sealed stored webhook secrets with the current key"
        );
    }
    if let Some(credential) = &config.bootstrap_api_key {
        let nexus = Nexus::new(store.clone(), config.auth.clone());
        let existing_key = if config.rotate_bootstrap_api_key {
            ExistingKey::Rotate
        } else {
            ExistingKey::Keep
        };
        let outcome = nexus_service::api_keys::bootstrap(&nexus, credential, existing_key)
            .await
            .map_err(|e| anyhow::anyhow!("NEXUS_BOOTSTRAP_API_KEY: {e}"))?;
        report_bootstrap(&outcome);
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let options = ServerOptions {
        push: config.push.clone(),
        webhooks: config.webhooks.clone(),
        http: config.http.clone(),
        traced: config.traced,
        audit_retention: config.audit_retention.clone(),
        // One lease for every claim a replica holds on background work.
        imports: nexus_service::imports::ImportConfig {
            lease: config.push.lease,
            ..Default::default()
        },
        reconciliations: ReconcileConfig {
            lease: config.push.lease,
            ..config.reconciliations.clone()
        },
        domains: config.domains.clone(),
        console_auth0: config.console_auth0.clone(),
    };
    start_with_options(store, config.auth.clone(), options, listener).await
}

/// Serves over `store` on `listener` with the default HTTP limits.
pub async fn start_with(
    store: Store,
    auth: AuthConfig,
    listener: TcpListener,
) -> anyhow::Result<RunningServer> {
    start_with_options(store, auth, ServerOptions::default(), listener).await
}

/// `start_with`, the push worker paced by `push`.
pub async fn start_with_push(
    store: Store,
    auth: AuthConfig,
    push: PushConfig,
    listener: TcpListener,
) -> anyhow::Result<RunningServer> {
    let options = ServerOptions {
        push,
        ..ServerOptions::default()
    };
    start_with_options(store, auth, options, listener).await
}

/// `start_with`, with these bounds on what clients may hold.
pub async fn start_with_limits(
    store: Store,
    auth: AuthConfig,
    listener: TcpListener,
    limits: HttpLimits,
) -> anyhow::Result<RunningServer> {
    let options = ServerOptions {
        http: limits,
        ..ServerOptions::default()
    };
    start_with_options(store, auth, options, listener).await
}

/// Serves over `store` on `listener`, with these workers and limits.
pub async fn start_with_options(
    store: Store,
    auth: AuthConfig,
    options: ServerOptions,
    listener: TcpListener,
) -> anyhow::Result<RunningServer> {
    let ServerOptions {
        push,
        webhooks,
        http: limits,
        traced,
        audit_retention,
        imports,
        reconciliations,
        domains,
        console_auth0,
    } = options;
    let nexus = Nexus::new(store.clone(), auth)
        .with_webhooks(webhooks)
        .with_domains(domains);
    nexus_service::webhooks::nats::sync_sink(&nexus)
        .await
        .map_err(|e| anyhow::anyhow!("registering the NATS sink: {e}"))?;
    let addr = listener.local_addr()?;
    let console_auth0 = match &console_auth0 {
        Some(options) => options.resolve(addr)?,
        None => None,
    };
    let app = nexus_api::app_with(
        nexus.clone(),
        nexus_api::AppOptions {
            request_timeout: limits.request_timeout,
            traced,
            console_secure_cookies: !addr.ip().is_loopback(),
            console_auth0,
        },
    );
    let (tx, rx) = oneshot::channel::<()>();
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(nexus_service::push::run(
        nexus.clone(),
        push,
        workers_stopped.clone(),
    ));
    let deliveries = tokio::spawn(nexus_service::webhooks::delivery::run(
        nexus.clone(),
        workers_stopped.clone(),
    ));
    let retention = tokio::spawn(nexus_service::audit_retention::run(
        nexus.clone(),
        audit_retention,
        workers_stopped.clone(),
    ));
    let member_importer = tokio::spawn(nexus_service::member_imports::run(
        nexus.clone(),
        imports.clone(),
        workers_stopped.clone(),
    ));
    let importer = tokio::spawn(nexus_service::imports::run(
        nexus.clone(),
        imports,
        workers_stopped.clone(),
    ));
    let reconciler = tokio::spawn(nexus_service::reconciliations::run(
        nexus.clone(),
        reconciliations,
        workers_stopped,
    ));
    let task = tokio::spawn(async move {
        let deadline = serve::serve(listener, app, limits, async {
            let _ = rx.await;
        })
        .await;
        // The workers finish the work in hand; the rest stays recorded.
        // Retention finishes its batch; the next start picks up the rest.
        let _ = stop_workers.send(true);
        let abort = [
            worker.abort_handle(),
            deliveries.abort_handle(),
            retention.abort_handle(),
            importer.abort_handle(),
            member_importer.abort_handle(),
            reconciler.abort_handle(),
        ];
        let closing = async {
            let _ = worker.await;
            let _ = deliveries.await;
            let _ = retention.await;
            let _ = importer.await;
            let _ = member_importer.await;
            let _ = reconciler.await;
            store.close().await;
        };
        // A database that hangs must not hold the shutdown either: what the
        // worker had not committed is still in the outbox.
        let at_least = tokio::time::Instant::now() + SHUTDOWN_CLEANUP_MIN;
        if tokio::time::timeout_at(deadline.max(at_least), closing)
            .await
            .is_err()
        {
            tracing::warn!("the database did not answer in time: stopping without closing it");
            abort.iter().for_each(tokio::task::AbortHandle::abort);
        }
    });
    tracing::info!(%addr, "nexus is listening");
    Ok(RunningServer {
        addr,
        shutdown: Some(tx),
        task,
    })
}

/// Says at start what became of the bootstrap key, and warns of what an
/// operator must act on: a secret that does not work, an expiry coming or past.
fn report_bootstrap(outcome: &Bootstrap) {
    let key = match outcome {
        Bootstrap::Created(key) => {
            tracing::info!(key = %key.id, expires = %key.expires_at.to_text(), "created the bootstrap API key");
            key
        }
        Bootstrap::Exists(key) => {
            tracing::info!(key = %key.id, expires = %key.expires_at.to_text(), "the bootstrap API key exists with the configured secret");
            key
        }
        Bootstrap::SecretDiffers(key) => {
            tracing::warn!(
                key = %key.id,
                "the bootstrap API key exists with another secret, which it keeps: the configured secret \
                 does not authenticate; set NEXUS_BOOTSTRAP_API_KEY_ROTATE=true to give the key this secret"
            );
            key
        }
        Bootstrap::Rotated(key) => {
            tracing::info!(key = %key.id, expires = %key.expires_at.to_text(), "rotated the bootstrap API key: new secret, new expiry");
            key
        }
    };
    let now = nexus_core::Timestamp::now();
    if key.revoked_at.is_some() {
        tracing::error!(key = %key.id, "the bootstrap API key is revoked and stays so: choose another key id");
    } else if key.expires_at <= now {
        tracing::error!(key = %key.id, expired = %key.expires_at.to_text(),
            "the bootstrap API key has expired; set NEXUS_BOOTSTRAP_API_KEY_ROTATE=true to renew it");
    } else if key.expires_at <= now.plus_days(30) {
        tracing::warn!(key = %key.id, expires = %key.expires_at.to_text(),
            "the bootstrap API key expires within 30 days; set NEXUS_BOOTSTRAP_API_KEY_ROTATE=true to renew it");
    }
}

/// Hides the password of a database URL for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("sqlite://nexus.db"), "sqlite://nexus.db");
    }
}
