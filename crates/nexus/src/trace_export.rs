//! Exporting traces over OTLP (HTTP/protobuf) when the standard
//! OpenTelemetry variables ask for it: `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, with the headers, timeout,
//! sampler, batch and resource variables the SDK reads. Without an endpoint
//! nothing is set up: no exporter, no propagator, no layer.

use std::time::Duration;

use anyhow::Context;
use axum::http::{Request, Response};
use bytes::Bytes;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The service name when neither `OTEL_SERVICE_NAME` nor
/// `OTEL_RESOURCE_ATTRIBUTES` names one.
const SERVICE_NAME: &str = "nexus";

/// How long stopping waits for the last spans to be sent.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The OTLP exporter, while the server runs.
pub struct TraceExport {
    provider: SdkTracerProvider,
}

impl TraceExport {
    /// The exporter the environment asks for, or `None` when no endpoint is
    /// set (or `OTEL_SDK_DISABLED=true`, or `OTEL_TRACES_EXPORTER=none`).
    /// Runs inside the Tokio runtime, which sends the exports.
    pub fn from_env() -> anyhow::Result<Option<TraceExport>> {
        let wanted = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
            || set("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
        let disabled = set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || set("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        if !wanted || disabled {
            return Ok(None);
        }
        for name in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            if let Some(protocol) = set(name).filter(|p| p != "http/protobuf") {
                anyhow::bail!("{name}={protocol}: Nexus exports traces over http/protobuf only");
            }
        }
        let timeout = export_timeout()?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .context("building the OTLP HTTP client")?;
        let exporter = SpanExporter::builder()
            .with_http()
            .with_timeout(timeout)
            .with_http_client(OtlpHttp {
                http,
                runtime: tokio::runtime::Handle::current(),
            })
            .build()
            .context("the OTLP trace exporter (OTEL_EXPORTER_OTLP_*)")?;
        let provider = SdkTracerProvider::builder()
            .with_span_processor(BatchSpanProcessor::builder(exporter).build())
            .with_resource(resource())
            .build();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        Ok(Some(TraceExport { provider }))
    }

    /// The layer that turns the spans of Nexus's crates into OpenTelemetry
    /// spans: requests and service operations, and at debug level, whatever
    /// `NEXUS_LOG` says, database transactions, Auth0 calls and pushes.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let ours = Targets::new()
            .with_target("nexus", Level::DEBUG)
            .with_target("auth0", Level::DEBUG);
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("nexus"))
            // The request span is named for its route once routed, and a
            // span keeps the name it has when it starts; without context
            // activation it starts at its first child, after routing.
            .with_context_activation(false)
            .with_threads(false)
            .with_filter(ours)
    }

    /// Sends the spans not yet sent and stops the exporter.
    pub async fn shutdown(self) {
        let provider = self.provider;
        // The exporter's thread blocks until its last export is answered,
        // which the runtime carries: wait for it off the runtime's threads.
        let flushed =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(FLUSH_TIMEOUT))
                .await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "sending the last traces failed"),
            Err(error) => tracing::warn!(%error, "sending the last traces failed"),
        }
    }
}

/// A variable that is set and not blank.
fn set(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or `OTEL_EXPORTER_OTLP_TIMEOUT`, in
/// milliseconds; 10 s by default, as the specification says.
fn export_timeout() -> anyhow::Result<Duration> {
    for name in [
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ] {
        if let Some(value) = set(name) {
            let millis: u64 = value
                .trim()
                .parse()
                .with_context(|| format!("{name}={value}: expected a number of milliseconds"))?;
            return Ok(Duration::from_millis(millis.max(1)));
        }
    }
    Ok(Duration::from_secs(10))
}

/// The SDK's resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`),
/// named `nexus` unless those name the service.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let named = detected
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    if named {
        detected
    } else {
        Resource::builder().with_service_name(SERVICE_NAME).build()
    }
}

/// The exporter's HTTP client: the workspace's reqwest (rustls). The batch
/// processor exports from a thread of its own, outside the runtime that
/// reqwest needs, so each export is sent on the runtime.
#[derive(Debug)]
struct OtlpHttp {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for OtlpHttp {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let http = self.http.clone();
        let sent = self.runtime.spawn(async move {
            let response = http.execute(reqwest::Request::try_from(request)?).await?;
            let mut answer = Response::builder().status(response.status());
            if let Some(headers) = answer.headers_mut() {
                *headers = response.headers().clone();
            }
            Ok::<_, HttpError>(answer.body(response.bytes().await?)?)
        });
        sent.await?
    }
}
