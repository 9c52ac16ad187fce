use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use nexus_core::auth::ApiKeyBody;
use nexus_core::Actor;
use nexus_service::auth::AuthConfig;
use nexus_service::push::PushConfig;
use nexus_service::Nexus;
use tracing_subscriber::EnvFilter;

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

#[derive(Subcommand)]
enum Command {
    /// Run the API server (migrations are applied first).
    Serve {
        #[command(flatten)]
        database: Database,
        /// Address to listen on.
        #[arg(long, env = "NEXUS_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The audience of Auth0 access tokens for Nexus; Bearer tokens are
        /// refused without one.
        #[arg(long, env = "NEXUS_API_AUDIENCE")]
        api_audience: Option<String>,
        /// `keyId:secret` of an admin API key (`read write`) created at start
        /// if no key has that id.
        #[arg(long, env = "NEXUS_BOOTSTRAP_API_KEY", hide_env_values = true)]
        bootstrap_api_key: Option<String>,
        /// Failed authentications allowed per client address and minute.
        #[arg(long, env = "NEXUS_AUTH_FAILURES_PER_MINUTE", default_value_t = 30)]
        auth_failures_per_minute: u32,
        /// Seconds a replica's claim on push work holds unless renewed (it is
        /// renewed every third of it while the replica pushes).
        #[arg(long, env = "NEXUS_PUSH_LEASE_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(3..=3600))]
        push_lease_seconds: u64,
    },
    /// Manage API keys offline.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
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

#[derive(clap::Args)]
struct Database {
    /// `sqlite://PATH` (created if absent) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "NEXUS_DATABASE_URL", default_value = "sqlite://nexus.db")]
    database_url: String,
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
    match cli.log_format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
    }
    match cli.command {
        Command::Serve {
            database,
            listen,
            api_audience,
            bootstrap_api_key,
            auth_failures_per_minute,
            push_lease_seconds,
        } => {
            let auth = AuthConfig {
                api_audience,
                failures_per_minute: auth_failures_per_minute,
                ..AuthConfig::default()
            };
            let config = nexus::Config {
                database_url: database.database_url,
                listen,
                auth,
                bootstrap_api_key,
                push: PushConfig {
                    lease: std::time::Duration::from_secs(push_lease_seconds),
                    ..PushConfig::default()
                },
            };
            let server = nexus::start(&config).await?;
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            server.stop().await?;
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
            let store = nexus::open_store(&database.database_url).await?;
            let nexus = Nexus::new(store.clone(), AuthConfig::default());
            let body = ApiKeyBody {
                description,
                permissions: Some(permissions),
                role_id: None,
                expires_at,
            };
            let created = nexus_service::api_keys::create(&nexus, &Actor("cli".to_owned()), body)
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
        Command::Migrate { database } => {
            nexus::open_store(&database.database_url)
                .await?
                .close()
                .await;
            tracing::info!(database = %nexus::redact(&database.database_url), "migrations applied");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
