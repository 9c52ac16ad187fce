use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use nexus_core::auth::Authority;

/// The principal a request acts as, for `createdBy` / `modifiedBy` and the
/// audit trail. The authentication layer inserts it into the request
/// extensions; routes open to all have none and are recorded as `system`.
pub struct CurrentActor(pub nexus_core::Actor);

impl<S: Send + Sync> FromRequestParts<S> for CurrentActor {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let actor = parts
            .extensions
            .get::<nexus_core::Actor>()
            .cloned()
            .unwrap_or_else(|| nexus_core::Actor::system("request"));
        Ok(CurrentActor(actor))
    }
}

/// What the request's caller holds, for operations that give permissions
/// (a caller may give only what it holds). Without an authentication layer
/// the caller holds nothing.
pub struct CurrentAuthority(pub Authority);

impl<S: Send + Sync> FromRequestParts<S> for CurrentAuthority {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let authority = parts
            .extensions
            .get::<Authority>()
            .cloned()
            .unwrap_or(Authority::Grants(Vec::new()));
        Ok(CurrentAuthority(authority))
    }
}
