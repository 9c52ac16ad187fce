mod tenant_import;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use nexus_core::auth::ApiKeyBody;
use nexus_core::Actor;
use nexus_service::audit_retention::RetentionConfig;
use nexus_service::auth::AuthConfig;
use nexus_service::dns::DnsConfig;
use nexus_service::organization_domains::DomainConfig;
use nexus_service::push::PushConfig;
use nexus_service::reconciliations::ReconcileConfig;
use nexus_service::secrets::{Sealer, SecretKey};
use nexus_service::webhooks::{NatsConfig, WebhookConfig};
use nexus_service::Nexus;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

// Requests allocate many small objects from several threads at once, where
// glibc's malloc showed up in profiles (README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "nexus", version, about = "Nexus identity hub")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `nexus=debug,info`.
    #[arg(long, env = "NEXUS_LOG", default_value = "info", global = true)]
    log: String,
    /// Log format.
    #[arg(long, env = "NEXUS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

// Parsed once at start: the size of `Serve` costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the API server (migrations are applied first).
    Serve {
        #[command(flatten)]
        database: Database,
        /// Address to listen on: `HOST:PORT` (a host name is resolved), or a
        /// bare port, which means `127.0.0.1:PORT` (loopback only).
        #[arg(long, env = "NEXUS_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
        listen: SocketAddr,
        /// The audience of Auth0 access tokens for Nexus; Bearer tokens are
        /// refused without one.
        #[arg(long, env = "NEXUS_API_AUDIENCE")]
        api_audience: Option<String>,
        /// `keyId:secret` of an admin API key (`read write user.sync`) created at start
        /// if no key has that id.
        #[arg(long, env = "NEXUS_BOOTSTRAP_API_KEY", hide_env_values = true)]
        bootstrap_api_key: Option<String>,
        /// A file holding the bootstrap key's `keyId:secret`.
        #[arg(
            long,
            env = "NEXUS_BOOTSTRAP_API_KEY_FILE",
            conflicts_with = "bootstrap_api_key"
        )]
        bootstrap_api_key_file: Option<PathBuf>,
        /// Give an existing bootstrap key the configured secret and expire it
        /// a year from now.
        #[arg(long, env = "NEXUS_BOOTSTRAP_API_KEY_ROTATE")]
        rotate_bootstrap_api_key: bool,
        #[command(flatten)]
        secret_keys: SecretKeys,
        /// Failed authentications allowed per client address, API key id
        /// and minute.
        #[arg(long, env = "NEXUS_AUTH_FAILURES_PER_MINUTE", default_value_t = 30)]
        auth_failures_per_minute: u32,
        /// Proxies whose `Forwarded` / `X-Forwarded-For` headers name the
        /// client: comma-separated CIDRs or addresses, e.g. `10.0.0.0/8,192.0.2.10`.
        #[arg(long, env = "NEXUS_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
        trusted_proxies: Vec<ipnet::IpNet>,
        /// Seconds a replica's claim on push work, an import or a
        /// reconciliation holds unless renewed (renewed every third of it
        /// while the replica pushes, after every batch of an import).
        #[arg(long, env = "NEXUS_PUSH_LEASE_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(3..=3600))]
        push_lease_seconds: u64,
        /// Accept webhook subscriptions, and deliver, to loopback, private,
        /// link-local and other non-public addresses, and over plain http.
        #[arg(long, env = "NEXUS_WEBHOOK_ALLOW_PRIVATE")]
        webhook_allow_private: bool,
        #[command(flatten)]
        nats: Nats,
        /// Days audit events are kept before the server deletes them: 1 to
        /// 36500; 0 or unset means 400.
        #[arg(long, env = "NEXUS_AUDIT_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(0..=RetentionConfig::MAX_DAYS as i64))]
        audit_retention_days: Option<u32>,
        /// Reconcile every tenant with Management credentials with Nexus
        /// when its last reconciliation started longer ago than this, e.g.
        /// `24h`; unset: only when asked for.
        #[arg(long, env = "NEXUS_RECONCILE_INTERVAL", value_parser = parse_interval)]
        reconcile_interval: Option<Duration>,
        #[command(flatten)]
        domains: Domains,
        #[command(flatten)]
        console: Console,
        #[command(flatten)]
        http: Http,
    },
    /// Manage API keys offline.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Work on an IdP tenant's users.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Copy a SQLite database, consistently, while the server runs (for
    /// PostgreSQL, use pg_dump).
    Backup {
        #[command(flatten)]
        database: Database,
        /// The copy: a new file.
        file: PathBuf,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: Database,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key and print its credential (`keyId:secret`) once.
    Create {
        #[command(flatten)]
        database: Database,
        /// Space-delimited permissions, e.g. "read write" or "user.sync".
        #[arg(long)]
        permissions: String,
        #[arg(long)]
        description: Option<String>,
        /// RFC 3339; one year from now by default.
        #[arg(long)]
        expires_at: Option<String>,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Import the tenant's Auth0 users (as `POST /v1/idp_tenants/{id}/imports`)
    /// and show its progress; prints the ended job as JSON.
    Import {
        #[command(flatten)]
        database: Database,
        #[command(flatten)]
        secret_keys: SecretKeys,
        /// The tenant: its id, name, Auth0 tenant name or login domain.
        tenant: String,
        /// The organization users the import creates join (id or name).
        #[arg(long)]
        organization: String,
        /// Report what the import would do, and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(clap::Args)]
struct Database {
    /// `sqlite://PATH` (created if absent) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "NEXUS_DATABASE_URL", default_value = "sqlite://nexus.db")]
    database_url: String,
    /// A file holding the database URL (for one with a password).
    #[arg(long, env = "NEXUS_DATABASE_URL_FILE")]
    database_url_file: Option<PathBuf>,
}

impl Database {
    /// The URL from its file when one is given, else from the variable.
    fn url(&self) -> anyhow::Result<String> {
        match &self.database_url_file {
            Some(file) => read_secret_file("NEXUS_DATABASE_URL_FILE", file),
            None => Ok(self.database_url.clone()),
        }
    }
}

/// The keys that seal the Auth0 Management client secrets in the database.
#[derive(clap::Args)]
struct SecretKeys {
    /// 32 random bytes as base64 or hex (`openssl rand -base64 32`): seals
    /// new secrets and opens stored ones.
    #[arg(long, env = "NEXUS_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// A file holding `NEXUS_SECRET_KEY`.
    #[arg(long, env = "NEXUS_SECRET_KEY_FILE", conflicts_with = "secret_key")]
    secret_key_file: Option<PathBuf>,
    /// Earlier keys, comma-separated, while rotating: they open stored
    /// secrets, which are then sealed again with the current key.
    #[arg(long, env = "NEXUS_SECRET_KEY_PREVIOUS", hide_env_values = true)]
    secret_key_previous: Option<String>,
    /// A file holding earlier keys, one a line.
    #[arg(
        long,
        env = "NEXUS_SECRET_KEY_PREVIOUS_FILE",
        conflicts_with = "secret_key_previous"
    )]
    secret_key_previous_file: Option<PathBuf>,
}

impl SecretKeys {
    fn sealer(&self) -> anyhow::Result<Sealer> {
        let current = match (&self.secret_key, &self.secret_key_file) {
            (_, Some(file)) => Some(read_secret_file("NEXUS_SECRET_KEY_FILE", file)?),
            (value, None) => value.clone(),
        };
        let previous = match (&self.secret_key_previous, &self.secret_key_previous_file) {
            (_, Some(file)) => read_secret_file("NEXUS_SECRET_KEY_PREVIOUS_FILE", file)?,
            (value, None) => value.clone().unwrap_or_default(),
        };
        let parse = |name: &str, text: &str| {
            SecretKey::parse(text).map_err(|e| anyhow::anyhow!("{name}: {e}"))
        };
        let current = current
            .map(|text| parse("NEXUS_SECRET_KEY", &text))
            .transpose()?;
        let previous = previous
            .split([',', '\n'])
            .filter(|k| !k.trim().is_empty())
            .map(|text| parse("NEXUS_SECRET_KEY_PREVIOUS", text))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if current.is_none() && !previous.is_empty() {
            anyhow::bail!("NEXUS_SECRET_KEY_PREVIOUS needs NEXUS_SECRET_KEY: the key to seal with from now on");
        }
        Ok(Sealer::new(current, previous))
    }
}

/// A secret kept in a file (`*_FILE`), without its trailing newline.
fn read_secret_file(name: &str, path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{name}: reading {}", path.display()))?;
    let text = text.trim_end_matches(['\r', '\n']).to_owned();
    if text.trim().is_empty() {
        anyhow::bail!("{name}: {} is empty", path.display());
    }
    Ok(text)
}

/// A CIDR (`10.0.0.0/8`) or a single address.
fn parse_proxy(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("'{text}' is not a CIDR such as 10.0.0.0/8 or an IP address"))
}

/// `HOST:PORT` or a bare `PORT`. A bare port binds loopback: exposing the
/// server to other hosts must be asked for by naming an address.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    use std::net::{Ipv4Addr, ToSocketAddrs};
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let usage =
        "expected HOST:PORT (e.g. 127.0.0.1:8080, localhost:8080, [::1]:8080) or a bare port";
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("'{text}': {usage}"));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("'{text}': '{port}' is not a port (0-65535); {usage}"))?;
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("'{text}': cannot resolve '{host}': {e}"))?
        .next()
        .ok_or_else(|| format!("'{text}': '{host}' has no address"))
}

/// Change events to NATS JetStream, besides webhooks.
#[derive(clap::Args)]
struct Nats {
    /// The NATS server to publish every change event to, e.g.
    /// `nats://127.0.0.1:4222` (credentials may be in it); unset: no events
    /// go to NATS.
    #[arg(long, env = "NEXUS_NATS_URL", hide_env_values = true)]
    nats_url: Option<String>,
    /// Events are published on `<prefix>.<event type>`.
    #[arg(long, env = "NEXUS_NATS_SUBJECT", default_value = NatsConfig::DEFAULT_SUBJECT_PREFIX)]
    nats_subject: String,
    /// The JetStream stream that stores them (subjects `<prefix>.>`), created
    /// at start if missing.
    #[arg(long, env = "NEXUS_NATS_STREAM", default_value = NatsConfig::DEFAULT_STREAM)]
    nats_stream: String,
}

impl Nats {
    fn config(&self) -> anyhow::Result<Option<NatsConfig>> {
        self.nats_url
            .as_deref()
            .map(|url| {
                NatsConfig::new(url, &self.nats_subject, &self.nats_stream)
                    .map_err(|e| anyhow::anyhow!("NATS: {e}"))
            })
            .transpose()
    }
}

/// Organization domains and their verification by DNS.
#[derive(clap::Args)]
struct Domains {
    /// How long a generated domain verification code can be used, e.g.
    /// `7d`, `24h`, `30m`.
    #[arg(long, env = "NEXUS_DOMAIN_CODE_TTL", default_value = "7d", value_parser = parse_interval)]
    domain_code_ttl: Duration,
    /// The nameserver domain verification asks for TXT records, as
    /// `IP:PORT` (UDP, and TCP for long answers); unset: the system's
    /// (`/etc/resolv.conf`).
    #[arg(long, env = "NEXUS_DNS_NAMESERVER", value_parser = parse_nameserver)]
    dns_nameserver: Option<SocketAddr>,
}

impl From<Domains> for DomainConfig {
    fn from(domains: Domains) -> Self {
        DomainConfig {
            code_ttl: domains.domain_code_ttl,
            dns: DnsConfig {
                nameserver: domains.dns_nameserver,
                ..DnsConfig::default()
            },
        }
    }
}

/// `IP:PORT`: a nameserver is named by its address, not a name to resolve.
fn parse_nameserver(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "'{}' is not IP:PORT, e.g. 127.0.0.1:53 or [::1]:53",
            text.trim()
        )
    })
}

/// People sign in to the console through the Auth0 tenant of an IdP tenant
/// (authorization code flow with PKCE); without it, only API keys sign in.
#[derive(clap::Args)]
struct Console {
    /// The IdP tenant (id or name) whose Auth0 tenant signs people in to
    /// the console; they act as the Nexus user linked to their account.
    #[arg(long, env = "NEXUS_CONSOLE_IDP_TENANT", requires = "console_client_id")]
    console_idp_tenant: Option<String>,
    /// The console's application (client id) in that Auth0 tenant; its
    /// Allowed Callback URLs hold `<console URL>/console/sign-in/callback`.
    #[arg(long, env = "NEXUS_CONSOLE_CLIENT_ID", requires = "console_idp_tenant")]
    console_client_id: Option<String>,
    /// The application's client secret; unset: a public client, whose code
    /// PKCE alone protects.
    #[arg(long, env = "NEXUS_CONSOLE_CLIENT_SECRET", hide_env_values = true)]
    console_client_secret: Option<String>,
    /// A file holding the client secret.
    #[arg(
        long,
        env = "NEXUS_CONSOLE_CLIENT_SECRET_FILE",
        conflicts_with = "console_client_secret"
    )]
    console_client_secret_file: Option<PathBuf>,
    /// The console's public base URL, e.g. `https://nexus.example.com`;
    /// unset: `http://<listen address>` when that is loopback, else sign-in
    /// through Auth0 is off.
    #[arg(long, env = "NEXUS_CONSOLE_URL")]
    console_url: Option<String>,
}

impl Console {
    fn options(self) -> anyhow::Result<Option<nexus::ConsoleAuth0Options>> {
        let (Some(idp_tenant), Some(client_id)) = (self.console_idp_tenant, self.console_client_id)
        else {
            return Ok(None);
        };
        let client_secret = match self.console_client_secret_file {
            Some(file) => Some(read_secret_file("NEXUS_CONSOLE_CLIENT_SECRET_FILE", &file)?),
            None => self.console_client_secret,
        };
        let options = nexus::ConsoleAuth0Options {
            idp_tenant,
            client_id,
            client_secret,
            url: self.console_url,
        };
        // A wrong URL stops the start here, before anything else.
        if let Some(url) = &options.url {
            nexus_service::console_auth0::ConsoleAuth0Config::new(
                options.idp_tenant.clone(),
                options.client_id.clone(),
                None,
                url,
            )
            .map_err(|e| anyhow::anyhow!("NEXUS_CONSOLE_URL: {e}"))?;
        }
        Ok(Some(options))
    }
}

/// Bounds on what clients may hold. Durations are like `10s`, `500ms`, `2m`.
#[derive(clap::Args)]
struct Http {
    /// Time for a request head to arrive in full, from its first byte (or,
    /// for a new connection, from its opening).
    #[arg(long, env = "NEXUS_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    header_read_timeout: Duration,
    /// Time for a request to be answered once its head has arrived; later,
    /// it is abandoned and answered 503.
    #[arg(long, env = "NEXUS_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Time an idle connection is kept open between requests.
    #[arg(long, env = "NEXUS_KEEP_ALIVE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    keep_alive_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, env = "NEXUS_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// On SIGTERM/SIGINT, time for requests in flight to finish before the
    /// remaining connections are closed.
    #[arg(long, env = "NEXUS_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    shutdown_grace: Duration,
}

impl From<Http> for nexus::HttpLimits {
    fn from(http: Http) -> Self {
        nexus::HttpLimits {
            header_read_timeout: http.header_read_timeout,
            request_timeout: http.request_timeout,
            keep_alive_timeout: http.keep_alive_timeout,
            max_connections: http.max_connections as usize,
            shutdown_grace: http.shutdown_grace,
        }
    }
}

/// `250ms`, `10s`, `2m`, or a bare number of seconds; more than zero.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration such as 500ms, 10s or 2m"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number * 60),
        _ => return Err(format!("'{text}': the unit must be ms, s or m")),
    };
    if duration.is_zero() {
        return Err("the duration must be more than zero".to_owned());
    }
    Ok(duration)
}

/// `parse_duration`'s forms, and hours and days: `24h`, `7d`.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let hours = |suffix: char, per: u64| {
        let number = trimmed.strip_suffix(suffix)?;
        let number: u64 = number.parse().ok()?;
        (number > 0).then(|| Duration::from_secs(number * per * 3600))
    };
    if let Some(interval) = hours('h', 1).or_else(|| hours('d', 24)) {
        return Ok(interval);
    }
    parse_duration(text).map_err(|_| {
        format!("'{trimmed}' is not an interval such as 30m, 24h or 7d (more than zero)")
    })
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.log).context("invalid log filter")?;
    let log = match cli.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    // Only the server's work is traced.
    let traces = match cli.command {
        Command::Serve { .. } => nexus::trace_export::TraceExport::from_env()?,
        _ => None,
    };
    tracing_subscriber::registry()
        .with(log)
        .with(traces.as_ref().map(|traces| traces.layer()))
        .init();
    match cli.command {
        Command::Serve {
            database,
            listen,
            api_audience,
            bootstrap_api_key,
            bootstrap_api_key_file,
            rotate_bootstrap_api_key,
            secret_keys,
            auth_failures_per_minute,
            trusted_proxies,
            push_lease_seconds,
            webhook_allow_private,
            nats,
            audit_retention_days,
            reconcile_interval,
            domains,
            console,
            http,
        } => {
            let auth = AuthConfig {
                api_audience,
                failures_per_minute: auth_failures_per_minute,
                trusted_proxies,
                sealer: secret_keys.sealer()?,
                ..AuthConfig::default()
            };
            let bootstrap_api_key = match bootstrap_api_key_file {
                Some(file) => Some(read_secret_file("NEXUS_BOOTSTRAP_API_KEY_FILE", &file)?),
                None => bootstrap_api_key,
            };
            let config = nexus::Config {
                database_url: database.url()?,
                listen,
                auth,
                bootstrap_api_key,
                rotate_bootstrap_api_key,
                push: PushConfig {
                    lease: std::time::Duration::from_secs(push_lease_seconds),
                    ..PushConfig::default()
                },
                webhooks: WebhookConfig {
                    allow_private: webhook_allow_private,
                    nats: nats.config()?,
                    ..WebhookConfig::default()
                },
                http: http.into(),
                traced: traces.is_some(),
                audit_retention: RetentionConfig::with_days(audit_retention_days.unwrap_or(0)),
                reconciliations: ReconcileConfig {
                    interval: reconcile_interval,
                    ..ReconcileConfig::default()
                },
                domains: domains.into(),
                console_auth0: console.options()?,
            };
            let stop = shutdown_signal()?;
            let server = nexus::start(&config).await?;
            stop.await;
            tracing::info!(
                grace_ms = config.http.shutdown_grace.as_millis() as u64,
                "shutting down: finishing requests in flight"
            );
            let stopped = server.stop().await;
            if let Some(traces) = traces {
                traces.shutdown().await;
            }
            stopped?;
            tracing::info!("stopped");
        }
        Command::ApiKey {
            command:
                ApiKeyCommand::Create {
                    database,
                    permissions,
                    description,
                    expires_at,
                },
        } => {
            nexus_api::auth::check_known_permissions(Some(&permissions))
                .map_err(|e| anyhow::anyhow!("--permissions: {e}"))?;
            let store = nexus::open_store(&database.url()?).await?;
            let nexus = Nexus::new(store.clone(), AuthConfig::default());
            let body = ApiKeyBody {
                description,
                permissions: Some(permissions),
                role_id: None,
                expires_at,
            };
            let created = nexus_service::api_keys::create(
                &nexus,
                &Actor::internal("cli", "CreateApiKey"),
                &nexus_core::auth::Authority::Operator,
                body,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            store.close().await;
            println!("{}", created.credential);
            eprintln!(
                "API key {} created with permissions \"{}\", expiring {}. The secret is shown only now.",
                created.key.id,
                created.key.permissions,
                created.key.expires_at.to_text()
            );
        }
        Command::Tenant {
            command:
                TenantCommand::Import {
                    database,
                    secret_keys,
                    tenant,
                    organization,
                    dry_run,
                },
        } => {
            let store = nexus::open_store(&database.url()?).await?;
            let auth = AuthConfig {
                sealer: secret_keys.sealer()?,
                ..AuthConfig::default()
            };
            let args = tenant_import::ImportArgs {
                tenant,
                organization,
                dry_run,
                bar: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            let job = tenant_import::run(Nexus::new(store.clone(), auth), args).await;
            store.close().await;
            let job = job?;
            eprintln!("{}", tenant_import::summary(&job));
            println!("{}", serde_json::to_string_pretty(&job)?);
            if let Some(error) = &job.error {
                anyhow::bail!("the import failed: {error}");
            }
        }
        Command::Backup { database, file } => {
            let url = database.url()?;
            let store = nexus_store::Store::connect(&url)
                .await
                .with_context(|| format!("connecting to {}", nexus::redact(&url)))?;
            let copied = store.backup_to(&file).await;
            store.close().await;
            copied.map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("backed up {} to {}", nexus::redact(&url), file.display());
        }
        Command::Migrate { database } => {
            let url = database.url()?;
            nexus::open_store(&url).await?.close().await;
            tracing::info!(database = %nexus::redact(&url), "migrations applied");
        }
    }
    Ok(())
}

/// Installs the SIGTERM and SIGINT handlers at once, so that a signal that
/// arrives while the server is starting stops it gracefully instead of
/// killing the process; the future resolves on the first signal.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listen_addresses() {
        let addr = |text: &str| parse_listen(text).map(|a| a.to_string());
        assert_eq!(addr("8081").as_deref(), Ok("127.0.0.1:8081"));
        assert_eq!(addr("0.0.0.0:80").as_deref(), Ok("0.0.0.0:80"));
        assert_eq!(addr("[::1]:9000").as_deref(), Ok("[::1]:9000"));
        let local = parse_listen("localhost:9000").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 9000, "{local}");
        assert!(parse_listen("localhost:99999")
            .unwrap_err()
            .contains("not a port"));
        assert!(parse_listen("no-such-host.invalid:80")
            .unwrap_err()
            .contains("cannot resolve 'no-such-host.invalid'"));
        assert!(parse_listen("localhost").unwrap_err().contains("HOST:PORT"));
    }

    #[test]
    fn parses_nameservers() {
        assert_eq!(
            parse_nameserver("127.0.0.1:5353").map(|a| a.to_string()),
            Ok("127.0.0.1:5353".to_owned())
        );
        assert!(parse_nameserver("[::1]:53").is_ok());
        assert!(parse_nameserver("ns.example.com:53")
            .unwrap_err()
            .contains("IP:PORT"));
        assert!(parse_nameserver("127.0.0.1").is_err());
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("s").is_err());
        assert_eq!(parse_interval("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_interval("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_interval("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_interval("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_interval("0h").is_err());
        assert!(parse_interval("h").is_err());
        assert!(parse_interval("1w").is_err());
    }

    /// The console flags of `nexus serve ARGS` (none read from the
    /// environment: the test sets no NEXUS_CONSOLE_* variable).
    fn console(args: &[&str]) -> Result<Option<nexus::ConsoleAuth0Options>, String> {
        let cli = Cli::try_parse_from(["nexus", "serve"].iter().chain(args))
            .map_err(|e| e.to_string())?;
        let Command::Serve { console, .. } = cli.command else {
            unreachable!("serve")
        };
        console.options().map_err(|e| e.to_string())
    }

    #[test]
    fn console_sign_in_takes_a_tenant_and_a_client_together() {
        assert!(console(&[]).unwrap().is_none(), "off by default");
        let on = console(&["--console-idp-tenant", "us-1", "--console-client-id", "abc"])
            .unwrap()
            .unwrap();
        assert_eq!(
            (on.idp_tenant.as_str(), on.client_id.as_str()),
            ("us-1", "abc")
        );
        assert_eq!((on.client_secret, on.url), (None, None));
        for half in [
            ["--console-idp-tenant", "us-1"],
            ["--console-client-id", "abc"],
        ] {
            assert!(console(&half).is_err(), "{half:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "s3cret\n").unwrap();
        let with = console(&[
            "--console-idp-tenant",
            "us-1",
            "--console-client-id",
            "abc",
            "--console-client-secret-file",
            file.to_str().unwrap(),
            "--console-url",
            "https://nexus.example.com",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(with.client_secret.as_deref(), Some("s3cret"));
        assert_eq!(with.url.as_deref(), Some("https://nexus.example.com"));
        let wrong = console(&[
            "--console-idp-tenant",
            "us-1",
            "--console-client-id",
            "abc",
            "--console-url",
            "https://nexus.example.com/console",
        ]);
        assert!(wrong.unwrap_err().contains("NEXUS_CONSOLE_URL"));
    }
}
