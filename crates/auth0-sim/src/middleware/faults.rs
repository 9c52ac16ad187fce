//! Injected faults (latency, failures, late answers) and the request
//! statistics the control API reports, applied to every request but the
//! control API's own.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::error;
use crate::Simulator;

/// The faults the control API has set (`PUT /__sim/faults`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Faults {
    pub(crate) latency: Duration,
    pub(crate) fail_until: Option<Instant>,
    pub(crate) fail_status: u16,
    /// Only requests with these methods fail; empty means all.
    pub(crate) fail_methods: Vec<String>,
    pub(crate) burst_429: u32,
    /// Requests on these routes (as the statistics name them) are carried
    /// out, then answered `late_answer` later: a client that times out does
    /// not know that they happened.
    pub(crate) late_routes: Vec<String>,
    pub(crate) late_answer: Duration,
    /// How many more late answers to give; `None` means no limit.
    pub(crate) late_answers: Option<u32>,
    /// PATCHes of users that set one of these fields are refused with 400.
    pub(crate) refuse_fields: Vec<String>,
}

pub(crate) async fn faults_and_stats(
    State(sim): State<Simulator>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let control = path.starts_with("/__sim/");
    let method = request.method().as_str().to_owned();
    let route = format!("{method} {}", route_name(&path));
    let patch_of_user = (!control && route == "PATCH /api/v2/users/{id}").then(|| path.clone());
    let traceparent = request
        .headers()
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let (latency, failing, late) = sim.with(|t| {
        let late = if control {
            None
        } else {
            t.faults.answers_late(&route)
        };
        if let Some(path) = &patch_of_user {
            let patching = t.stats.patching.entry(path.clone()).or_default();
            if *patching > 0 {
                t.stats.overlapping_patches += 1;
            }
            *patching += 1;
        }
        if !control {
            if let Some(traceparent) = traceparent {
                t.stats.traceparents.insert(route.clone(), traceparent);
            }
            *t.stats.requests.entry(route).or_default() += 1;
        }
        let failing = t
            .faults
            .fail_until
            .is_some_and(|until| Instant::now() < until)
            && (t.faults.fail_methods.is_empty() || t.faults.fail_methods.contains(&method));
        (
            t.faults.latency,
            failing.then_some(t.faults.fail_status),
            late,
        )
    });
    if control {
        return next.run(request).await;
    }
    // Counted out when the answer is done or the client gave up on it.
    let _patching = patch_of_user.map(|path| Patching {
        sim: sim.clone(),
        path,
    });
    answer(request, next, latency, failing, late).await
}

struct Patching {
    sim: Simulator,
    path: String,
}

impl Drop for Patching {
    fn drop(&mut self) {
        self.sim.with(|t| {
            if let Some(patching) = t.stats.patching.get_mut(&self.path) {
                *patching = patching.saturating_sub(1);
            }
        });
    }
}

async fn answer(
    request: Request,
    next: Next,
    latency: Duration,
    failing: Option<u16>,
    late: Option<Duration>,
) -> Response {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(status) = failing {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return error(
            status,
            "The service is temporarily unavailable (injected fault)",
            "service_unavailable",
        );
    }
    let response = next.run(request).await;
    if let Some(delay) = late {
        tokio::time::sleep(delay).await;
    }
    response
}

impl Faults {
    /// Whether this request on `route` is answered late (and for how long);
    /// counts it against `late_answers`.
    fn answers_late(&mut self, route: &str) -> Option<Duration> {
        if !self.late_routes.iter().any(|r| r == route) || self.late_answers == Some(0) {
            return None;
        }
        if let Some(left) = &mut self.late_answers {
            *left -= 1;
        }
        Some(self.late_answer)
    }
}

/// Groups `/api/v2/users/auth0|123` as `/api/v2/users/{id}` in the statistics.
fn route_name(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "api", "v2", resource, _id] => format!("/api/v2/{resource}/{{id}}"),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_group_user_ids() {
        assert_eq!(route_name("/api/v2/users/auth0|abc"), "/api/v2/users/{id}");
        assert_eq!(route_name("/api/v2/users"), "/api/v2/users");
    }
}
