//! One integration-test binary: the real server over HTTP, on SQLite by default and on
//! PostgreSQL when `LIAISON_TEST_DATABASE_URL` is set.

mod helpers;

mod auth;
mod bulk_results;
mod bulk_sources;
mod bulk_users;
mod connection_requests;
mod contacts;
mod db_connections;
mod dev_seed;
mod fake_intercom;
mod http;
mod invitee;
mod jobs;
mod lifecycle;
mod limits;
mod mail;
mod notices;
mod permissions;
mod platform;
mod scim_server;
mod secrets;
mod smtp;
mod statement_counts;
mod sync_providers;
mod tenancy;
mod topics;
mod user_sync;
