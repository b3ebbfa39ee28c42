//! Subcommands of the `liaison` binary that need more than a few lines (the rest live in
//! `main.rs`). Like the GraphQL layer, they only parse, call domain services and print.

pub mod seed;
pub mod users;
