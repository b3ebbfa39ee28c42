//! Temporary development target for tests/api/permissions.rs (removed once merged into the api binary).
#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "api/permissions.rs"]
mod permissions;
