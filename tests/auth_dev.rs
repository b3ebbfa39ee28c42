//! Temporary development target for tests/api/auth.rs (removed once merged into the api binary).
#[path = "api/auth.rs"]
mod auth;
#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
