//! Temporary development target for tests/api/tenancy.rs (removed once merged into the api binary).
#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "api/tenancy.rs"]
mod tenancy;
