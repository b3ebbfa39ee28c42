//! Cryptography at rest: the key ring that encrypts secrets and hashes lookup tokens.

pub mod keyring;
