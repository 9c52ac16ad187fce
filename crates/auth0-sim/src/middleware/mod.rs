//! What runs around the Management operations: authorization, the rate
//! limit, injected faults and statistics, and request validation.

pub(crate) mod auth;
pub(crate) mod faults;
pub(crate) mod rate_limit;
pub(crate) mod validation;
