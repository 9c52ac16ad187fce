//! A real authoritative DNS server on loopback (UDP and TCP), serving one
//! in-memory zone whose TXT records the tests set and change: what domain
//! verification looks up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::proto::rr::rdata::{SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType, RrKey};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use hickory_server::Server;
use nexus_service::dns::DnsConfig;
use nexus_service::organization_domains::DomainConfig;
use tokio::net::{TcpListener, UdpSocket};

/// The zone every test domain is in.
pub const ZONE: &str = "nexus-test.example";

pub struct DnsZone {
    pub addr: SocketAddr,
    zone: Arc<InMemoryZoneHandler>,
    server: Option<Server<Catalog>>,
}

impl DnsZone {
    /// Serves an empty zone `ZONE` (its SOA only) on a free loopback port.
    pub async fn start() -> DnsZone {
        let origin = Name::from_ascii(format!("{ZONE}.")).unwrap();
        let mut zone =
            InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
        let soa = SOA::new(
            Name::from_ascii(format!("ns.{ZONE}.")).unwrap(),
            Name::from_ascii(format!("admin.{ZONE}.")).unwrap(),
            1,
            3600,
            600,
            86400,
            0,
        );
        assert!(zone.upsert_mut(Record::from_rdata(origin.clone(), 0, RData::SOA(soa)), 1));
        let zone = Arc::new(zone);
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![zone.clone()]);
        let (udp, tcp, addr) = bind_udp_and_tcp().await;
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 64);
        DnsZone {
            addr,
            zone,
            server: Some(server),
        }
    }

    /// How a server verifies domains against this zone, codes living `code_ttl`.
    pub fn config(&self, code_ttl: Duration) -> DomainConfig {
        DomainConfig {
            code_ttl,
            dns: DnsConfig {
                nameserver: Some(self.addr),
                timeout: Duration::from_millis(500),
                retries: 1,
            },
        }
    }

    /// Makes the TXT records at `name` (absolute, without the final dot)
    /// exactly `values`: none removes them.
    pub async fn set_txt(&self, name: &str, values: &[&str]) {
        let name = Name::from_ascii(format!("{name}.")).unwrap();
        let key = RrKey::new(LowerName::new(&name), RecordType::TXT);
        self.zone.records_mut().await.remove(&key);
        for value in values {
            let record = Record::from_rdata(
                name.clone(),
                0,
                RData::TXT(TXT::new(vec![value.to_string()])),
            );
            assert!(self.zone.upsert(record, 1).await, "TXT {value} not added");
        }
    }

    /// Stops answering: the port is closed.
    pub async fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.shutdown_gracefully().await.unwrap();
        }
    }
}

impl Drop for DnsZone {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.shutdown_token().cancel();
        }
    }
}

/// A fresh domain in the test zone.
pub fn domain(prefix: &str) -> String {
    format!(
        "{prefix}-{}.{ZONE}",
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    )
}

/// A UDP socket and a TCP listener on one loopback port (the resolver uses
/// TCP for long answers). The port the system picks for UDP may be taken
/// for TCP by another test: then another one is tried.
async fn bind_udp_and_tcp() -> (UdpSocket, TcpListener, std::net::SocketAddr) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp, addr);
        }
    }
    panic!("no loopback port free for both UDP and TCP in 50 tries");
}
