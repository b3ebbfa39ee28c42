//! Temporary development target for tests/api/auth.rs (removed once merged into the api binary).
#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "api/auth.rs"]
mod auth;
