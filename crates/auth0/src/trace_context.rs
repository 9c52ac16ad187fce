//! The W3C trace context (`traceparent`, `tracestate`) that each call to
//! the tenant carries, so that Auth0's side of a call joins the caller's
//! trace. The process's global propagator writes them; it is installed only
//! when traces are exported, so otherwise nothing is added.

use opentelemetry_http::HeaderInjector;
use reqwest::header::HeaderMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The trace context headers naming `span` as the caller.
pub(crate) fn headers(span: &tracing::Span) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if span.is_disabled() {
        return headers;
    }
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(&mut headers))
    });
    headers
}
