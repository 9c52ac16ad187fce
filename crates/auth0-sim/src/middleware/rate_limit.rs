//! The Management API's rate limit, with Auth0's `x-ratelimit-*` headers.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::clock::now_seconds;
use crate::error::error;
use crate::Simulator;

/// The current second and the requests it has used.
pub(crate) struct Window {
    pub(crate) second: u64,
    pub(crate) used: u32,
}

/// Management API rate limit: `rate_limit` requests per second, with
/// `x-ratelimit-*` headers on every answer and a 429 when spent.
pub(crate) async fn rate_limit(
    State(sim): State<Simulator>,
    request: Request,
    next: Next,
) -> Response {
    let second = now_seconds();
    let (limit, remaining, limited) = sim.with(|t| {
        if t.window.second != second {
            t.window = Window { second, used: 0 };
        }
        let burst = t.faults.burst_429 > 0;
        if burst {
            t.faults.burst_429 -= 1;
        }
        let limited = burst || t.window.used >= t.rate_limit;
        if limited {
            t.stats.rate_limited += 1;
        } else {
            t.window.used += 1;
        }
        // A refused request has nothing left to spend, whatever the window says.
        let remaining = if limited {
            0
        } else {
            t.rate_limit.saturating_sub(t.window.used)
        };
        (t.rate_limit, remaining, limited)
    });
    let mut response = if limited {
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "Global limit has been reached",
            "too_many_requests",
        )
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(second + 1));
    response
}
