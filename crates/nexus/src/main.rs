use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

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
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: Database,
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
        Command::Serve { database, listen } => {
            let config = nexus::Config {
                database_url: database.database_url,
                listen,
            };
            let server = nexus::start(&config).await?;
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            server.stop().await?;
            tracing::info!("stopped");
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
