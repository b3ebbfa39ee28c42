//! Liaison: a GraphQL API server for the account-administration side of a SaaS product.
//!
//! Requests flow one way: `http` → `graphql` (thin resolvers) → `service` (authorise, validate,
//! transact) → `store` (the only SeaORM queries) → database. `domain` holds pure types.

pub mod auth;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
