//! Temporary development target for tests/api/http.rs (removed once merged into the api binary).
#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "api/http.rs"]
mod http;
