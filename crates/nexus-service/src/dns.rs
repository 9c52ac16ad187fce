//! TXT lookups for domain verification. Every lookup asks the nameserver
//! afresh (no cache across lookups): a user who has just added a record can
//! verify again at once.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::Resolver;

/// Where TXT records are looked up.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// The nameserver to ask (UDP, and TCP for long answers); `None`: the
    /// system's (`/etc/resolv.conf`).
    pub nameserver: Option<SocketAddr>,
    /// Time for one query to be answered, per attempt.
    pub timeout: Duration,
    /// Attempts after the first.
    pub retries: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            nameserver: None,
            timeout: Duration::from_secs(3),
            retries: 1,
        }
    }
}

/// Why TXT records could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the DNS lookup of {name} failed: {reason}")]
pub struct LookupFailed {
    pub name: String,
    pub reason: String,
}

/// The TXT records at `name` (each record's strings joined), empty when the
/// name or its TXT records do not exist.
#[tracing::instrument(skip(config))]
pub async fn txt_records(config: &DnsConfig, name: &str) -> Result<Vec<String>, LookupFailed> {
    let failed = |reason: String| LookupFailed {
        name: name.to_owned(),
        reason,
    };
    let provider = TokioRuntimeProvider::default();
    let mut builder = match config.nameserver {
        Some(address) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = address.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = address.port();
            let server = NameServerConfig::new(address.ip(), true, vec![udp, tcp]);
            Resolver::builder_with_config(ResolverConfig::from_name_servers(vec![server]), provider)
        }
        None => Resolver::builder(provider)
            .map_err(|e| failed(format!("the system's resolver configuration: {e}")))?,
    };
    let options: &mut ResolverOpts = builder.options_mut();
    options.cache_size = 0;
    options.timeout = config.timeout;
    options.attempts = config.retries;
    // The name is absolute: no search domains appended.
    options.ndots = 0;
    let resolver = builder.build().map_err(|e| failed(e.to_string()))?;
    // The trailing dot makes the name fully qualified.
    match resolver.txt_lookup(format!("{name}.")).await {
        Ok(lookup) => Ok(lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|part| String::from_utf8_lossy(part))
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect()),
        Err(error) if error.is_no_records_found() => Ok(Vec::new()),
        Err(error) => Err(failed(error.to_string())),
    }
}
