use std::net::SocketAddr;

use clap::Parser;

/// A local Auth0 tenant for development and tests. Never a production dependency.
#[derive(Parser)]
#[command(name = "nexus-auth0-sim", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "AUTH0_SIM_LISTEN", default_value = "127.0.0.1:4010")]
    listen: SocketAddr,
    /// Management API requests allowed per second before 429.
    #[arg(long, env = "AUTH0_SIM_RATE_LIMIT", default_value_t = 50)]
    rate_limit: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let sim = auth0_sim::Simulator::new(
        &format!("http://{}", listener.local_addr()?),
        args.rate_limit,
    );
    println!("Auth0 simulator listening at {}", sim.base_url());
    println!("  authorize:       {}/authorize", sim.base_url());
    println!("  token endpoint:  {}/oauth/token", sim.base_url());
    println!("  audience:        {}/api/v2/", sim.base_url());
    println!("  client_id:       {}", auth0_sim::DEFAULT_CLIENT_ID);
    println!("  client_secret:   {}", auth0_sim::DEFAULT_CLIENT_SECRET);
    println!(
        "  connection:      {} ({})",
        auth0_sim::DEFAULT_CONNECTION,
        auth0_sim::DEFAULT_CONNECTION_ID
    );
    println!(
        "  control API:     {}/__sim/{{clients,connections,users,faults,rate-limit,stats,clock}}",
        sim.base_url()
    );
    axum::serve(listener, sim.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
