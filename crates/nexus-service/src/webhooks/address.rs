//! Where a webhook may be sent (SSRF): only to global addresses, unless the
//! operator allows private ones. Checked when a subscription is made and
//! again on every delivery, by the resolver the delivery client connects
//! through, so a name that later resolves elsewhere (DNS rebinding) is
//! refused at the moment it would be used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::{Ipv4Net, Ipv6Net};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Ranges that are not the public internet: this host, private networks,
/// link-local, shared, documentation, benchmarking, multicast and reserved.
const BLOCKED_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
];

const BLOCKED_V6: &[&str] = &[
    "::/128",
    "::1/128",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

/// Whether `ip` is a global (public) address.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => {
            // An IPv4 address written as IPv6 (mapped, or NAT64) is that address.
            if let Some(v4) = v6.to_ipv4_mapped().or_else(|| nat64(v6)) {
                return is_global_v4(v4);
            }
            !BLOCKED_V6
                .iter()
                .any(|net| net.parse::<Ipv6Net>().expect("valid network").contains(&v6))
        }
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    !ip.is_broadcast()
        && !BLOCKED_V4
            .iter()
            .any(|net| net.parse::<Ipv4Net>().expect("valid network").contains(&ip))
}

fn nat64(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0])
        .then(|| Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
}

/// Why an address may not be used.
fn refusal(ip: IpAddr) -> String {
    format!(
        "resolves to {ip}, which is not a public address (loopback, private, link-local or reserved); \
         the operator may allow such addresses with NEXUS_WEBHOOK_ALLOW_PRIVATE=true"
    )
}

/// Resolves the URL's host and checks every address it has; nothing to
/// check (or resolve) when every address is allowed.
pub async fn check_url(url: &url::Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::from((ip, port))],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::from((ip, port))],
        Some(url::Host::Domain(name)) => resolve(name, port, allow_private).await?,
        None => return Err("must name a host".to_owned()),
    };
    check_all(&addrs, allow_private)
}

fn check_all(addrs: &[SocketAddr], allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    match addrs.iter().find(|a| !is_global(a.ip())) {
        Some(addr) => Err(refusal(addr.ip())),
        None => Ok(()),
    }
}

async fn resolve(name: &str, port: u16, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|e| format!("host '{name}' cannot be resolved ({e})"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("host '{name}' has no address"));
    }
    check_all(&addrs, allow_private)?;
    Ok(addrs)
}

/// The delivery client's resolver: a name resolves only when every one of
/// its addresses may be used, and the client connects to those very
/// addresses.
#[derive(Debug, Clone)]
pub struct CheckedResolver {
    pub allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            // The port is the URL's; reqwest sets it on the addresses.
            let addrs = resolve(name.as_str(), 0, allow_private).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

impl CheckedResolver {
    pub fn shared(allow_private: bool) -> Arc<CheckedResolver> {
        Arc::new(CheckedResolver { allow_private })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_global_addresses_pass() {
        for local in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "ff02::1",
        ] {
            assert!(!is_global(local.parse().unwrap()), "{local}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_global(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn literal_and_named_hosts_are_checked() {
        let url = |text: &str| url::Url::parse(text).unwrap();
        let refused = check_url(&url("http://127.0.0.1:9/x"), false)
            .await
            .unwrap_err();
        assert!(refused.contains("127.0.0.1"), "{refused}");
        assert!(check_url(&url("http://[::1]:9/x"), false).await.is_err());
        assert!(check_url(&url("http://localhost:9/x"), false)
            .await
            .is_err());
        assert!(check_url(&url("http://localhost:9/x"), true).await.is_ok());
        assert!(check_url(&url("http://127.0.0.1:9/x"), true).await.is_ok());
    }
}
