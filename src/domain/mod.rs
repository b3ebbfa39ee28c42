//! Pure domain types and rules: identifiers, validated values, permission levels. Nothing here
//! knows about HTTP, GraphQL or SQL beyond the value-type derive that lets ids reach the columns.

pub mod bulk;
pub mod bulk_csv;
pub mod catalog;
pub mod connection_request;
pub mod contact;
pub mod ids;
pub mod operator;
pub mod permission;
pub mod sync;
pub mod telephony;
pub mod user;
pub mod values;
