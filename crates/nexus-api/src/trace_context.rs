//! The request's server span in OpenTelemetry's terms: it continues the
//! caller's trace (W3C `traceparent` / `tracestate`) and carries the HTTP
//! semantic-convention attributes. Only when traces are exported: otherwise
//! the span stays the plain `request` span of the logs, at no extra cost.

use axum::extract::Request;
use axum::http::StatusCode;
use opentelemetry_http::HeaderExtractor;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Before the request is routed: the caller's trace, if it sent one, and
/// what is known of the request.
pub(crate) fn start(span: &Span, request: &Request) {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    // Fails only when no OpenTelemetry layer is installed, and then there
    // is nothing to continue.
    let _ = span.set_parent(parent);
    span.record("otel.kind", "server");
    span.set_attribute("http.request.method", request.method().to_string());
    span.set_attribute("url.path", request.uri().path().to_owned());
}

/// Once routed: `PUT /v1/users/{userId}/$sync`. The span must not have
/// started yet — no child span and no trace context taken from it — since
/// a started span keeps its name; routing comes before any of those.
pub(crate) fn route(span: &Span, method: &str, route: &str) {
    span.record("otel.name", format!("{method} {route}").as_str());
    span.set_attribute("http.route", route.to_owned());
}

/// The answer. A request that matched no route is named for its method.
pub(crate) fn finish(span: &Span, method: &str, routed: bool, status: StatusCode) {
    if !routed {
        span.record("otel.name", method);
    }
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}
