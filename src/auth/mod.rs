//! Authentication and authorisation: JWT verification and minting, principals, and the one place
//! permission levels are evaluated.

pub mod authenticate;
pub mod jwks;
pub mod principal;
pub mod tokens;
mod verified;
