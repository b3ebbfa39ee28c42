//! SeaORM entities, one per table. They are the storage model: services convert them into the
//! API's types, never expose them.

pub mod account;
pub mod audit_event;
pub mod bulk_user_job;
pub mod bulk_user_job_row;
pub mod connection;
pub mod connection_request;
pub mod connection_request_item;
pub mod connection_request_link;
pub mod consent_change;
pub mod external_identity;
pub mod group;
pub mod group_member;
pub mod integration;
pub mod integration_contact;
pub mod job;
pub mod notice;
pub mod notice_account;
pub mod notice_dismissal;
pub mod notice_recipient;
pub mod outbox_message;
pub mod role;
pub mod role_grant;
pub mod schedule;
pub mod skill;
pub mod sync_run;
pub mod sync_run_item;
pub mod sync_source;
pub mod sync_upstream_user;
pub mod telephony_resource;
pub mod topic_contact;
pub mod user;
pub mod user_resource_access;
pub mod user_role;
pub mod user_skill;
pub mod user_view;
