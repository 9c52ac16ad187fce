//! A local Auth0 tenant: client-credentials tokens (RS256), the
//! authorization code flow with PKCE (a login form), JWKS, OpenID
//! configuration, and the Management API v2 operations Nexus uses, with
//! Auth0's scopes, error bodies, rate-limit headers and `app_metadata` merge
//! rules; plus a control API (`/__sim/…`) that seeds data and injects faults.
//! For development and tests only: state is in memory and the signing key is
//! a fixed development key.

// Helpers fail with the ready Auth0-shaped `Response`; it is built once per
// failed request, so its size is of no consequence.
#![allow(clippy::result_large_err)]

mod authorize;
mod clients;
mod clock;
mod connections;
mod control;
mod error;
mod exports;
mod lifecycle;
mod listing;
mod log_streams;
mod middleware;
mod state;
mod tokens;
mod users;

use axum::routing::{get, post, put};
use axum::Router;

pub use state::{Client, Simulator};
pub use users::merge_metadata;

/// Every Management scope the simulator knows; the default client holds all.
pub const SCOPES: &[&str] = &[
    "read:users",
    "create:users",
    "update:users",
    "update:users_app_metadata",
    "delete:users",
    "create:user_tickets",
    "create:guardian_enrollment_tickets",
    "read:clients",
    "create:clients",
    "read:connections",
    "read:log_streams",
    "create:log_streams",
    "delete:log_streams",
    "update:connections",
];

/// The default client's credentials and the default database connection.
pub const DEFAULT_CLIENT_ID: &str = "nexus-sim-client";
pub const DEFAULT_CLIENT_SECRET: &str = "nexus-sim-secret-do-not-use-in-production";
pub const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";
pub const DEFAULT_CONNECTION_ID: &str = "con_sim0000000000001";

impl Simulator {
    pub fn router(&self) -> Router {
        let management = Router::new()
            .route(
                "/api/v2/users",
                get(users::list_users).post(users::create_user),
            )
            .route(
                "/api/v2/users/{id}",
                get(users::get_user)
                    .patch(users::patch_user)
                    .delete(users::delete_user),
            )
            .route("/api/v2/users-by-email", get(users::users_by_email))
            .route(
                "/api/v2/user-blocks/{id}",
                get(lifecycle::user_blocks::get_blocks)
                    .delete(lifecycle::user_blocks::delete_blocks),
            )
            .route(
                "/api/v2/tickets/password-change",
                post(lifecycle::tickets::password_change),
            )
            .route(
                "/api/v2/jobs/verification-email",
                post(lifecycle::jobs::verification_email),
            )
            .route("/api/v2/jobs/{id}", get(lifecycle::jobs::get_job))
            .route(
                "/api/v2/guardian/enrollments/ticket",
                post(lifecycle::mfa::enrollment_ticket),
            )
            .route(
                "/api/v2/users/{id}/enrollments",
                get(lifecycle::mfa::list_enrollments),
            )
            .route("/api/v2/jobs/users-exports", post(exports::users_export))
            .route(
                "/api/v2/log-streams",
                get(log_streams::list_log_streams).post(log_streams::create_log_stream),
            )
            .route(
                "/api/v2/log-streams/{id}",
                get(log_streams::get_log_stream).delete(log_streams::delete_log_stream),
            )
            .route(
                "/api/v2/clients",
                get(clients::list_clients).post(clients::create_client),
            )
            .route("/api/v2/clients/{id}", get(clients::get_client))
            .route("/api/v2/connections", get(connections::list_connections))
            .route("/api/v2/connections/{id}", get(connections::get_connection))
            .route(
                "/api/v2/connections/{id}/clients",
                get(connections::get_connection_clients)
                    .patch(connections::patch_connection_clients),
            )
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                middleware::rate_limit::rate_limit,
            ));
        Router::new()
            .route("/authorize", get(authorize::authorize))
            .route("/u/login", post(authorize::login))
            .route("/oauth/token", post(tokens::token))
            .route("/.well-known/jwks.json", get(tokens::jwks))
            .route(
                "/.well-known/openid-configuration",
                get(tokens::openid_configuration),
            )
            .route(
                "/dbconnections/change_password",
                post(lifecycle::emails::change_password),
            )
            .route(
                "/lo/reset",
                get(lifecycle::emails::reset_page).post(lifecycle::emails::reset),
            )
            .route("/lo/verify", get(lifecycle::emails::verify))
            .route(
                "/lo/mfa-enroll",
                get(lifecycle::mfa::enroll_page).post(lifecycle::mfa::enroll),
            )
            .route("/mfa/associate", post(lifecycle::mfa::associate))
            .merge(management)
            .route("/__sim/clients", post(control::seed_client))
            .route("/__sim/connections", post(control::seed_connection))
            .route("/__sim/users", post(control::seed_user))
            .route("/__sim/faults", put(control::set_faults))
            .route("/__sim/rate-limit", put(control::set_rate_limit))
            .route("/__sim/stats", get(control::stats))
            .route("/__sim/clock", post(control::advance_clock))
            .route("/__sim/emails", get(lifecycle::emails::inbox))
            .route("/__sim/exports/{file}", get(exports::download))
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                middleware::faults::faults_and_stats,
            ))
            .with_state(self.clone())
    }
}

/// Serves a simulator on `listener` until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    rate_limit: u32,
) -> std::io::Result<Simulator> {
    let base = format!("http://{}", listener.local_addr()?);
    let sim = Simulator::new(&base, rate_limit);
    let app = sim.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(sim)
}
