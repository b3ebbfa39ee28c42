//! The API's object types. Each wraps what a service returns and decides, field by field, what the
//! caller may see.

pub mod account;
pub mod audit;
pub mod bulk_users;
pub mod connection_request;
pub mod contacts;
pub mod directory;
pub mod enums;
pub mod integration;
pub mod node;
pub mod notice;
pub mod payload;
pub mod platform;
pub mod role;
pub mod telephony;
pub mod user;
pub mod user_sync;
pub mod user_view;
pub mod viewer;
