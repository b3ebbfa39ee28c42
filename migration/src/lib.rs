//! Liaison's schema history. One change per file, applied in order; every `down` undoes its `up`.
//! Tables carry `account_id` and a UNIQUE (account_id, id) so that foreign keys between tenant
//! tables are composite and no row can point into another account.

pub use sea_orm_migration::prelude::*;

mod tenant;

mod m20261122_000001_create_accounts;
mod m20261122_000002_create_users;
mod m20261122_000003_create_roles;
mod m20261122_000004_create_role_grants;
mod m20261122_000005_create_user_roles;
mod m20261122_000006_create_skills;
mod m20261122_000007_create_user_skills;
mod m20261122_000008_create_groups;
mod m20261122_000009_create_group_members;
mod m20261122_000010_create_integrations;
mod m20261122_000011_create_connections;
mod m20261122_000012_create_external_identities;
mod m20261122_000013_create_audit_events;
mod m20261122_000014_create_jobs;
mod m20261122_000015_create_schedules;
mod m20261122_000016_create_outbox_messages;
mod m20261122_000017_add_users_email_invalid_at;
mod m20261122_000018_create_integration_contacts;
mod m20261122_000019_add_users_title;
mod m20261122_000020_add_users_is_distribution_list;
mod m20261122_000021_create_topic_contacts;
mod m20261122_000022_add_users_consent;
mod m20261122_000023_create_consent_changes;
mod m20261122_000024_add_accounts_contact_review;
mod m20261122_000025_create_notices;
mod m20261122_000026_create_connection_requests;
mod m20261122_000027_add_connections_request;
mod m20261122_000028_add_outbox_messages_body_encrypted;
mod m20261122_000029_create_bulk_user_jobs;
mod m20261122_000030_create_telephony_resources;
mod m20261122_000031_create_user_views;
mod m20261122_000032_add_bulk_job_lookup_indexes;
mod m20261202_000033_create_sync_sources;
mod m20261202_000034_create_sync_runs;
mod m20261202_000035_add_external_identities_missing;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_accounts::Migration),
            Box::new(m20261122_000002_create_users::Migration),
            Box::new(m20261122_000003_create_roles::Migration),
            Box::new(m20261122_000004_create_role_grants::Migration),
            Box::new(m20261122_000005_create_user_roles::Migration),
            Box::new(m20261122_000006_create_skills::Migration),
            Box::new(m20261122_000007_create_user_skills::Migration),
            Box::new(m20261122_000008_create_groups::Migration),
            Box::new(m20261122_000009_create_group_members::Migration),
            Box::new(m20261122_000010_create_integrations::Migration),
            Box::new(m20261122_000011_create_connections::Migration),
            Box::new(m20261122_000012_create_external_identities::Migration),
            Box::new(m20261122_000013_create_audit_events::Migration),
            Box::new(m20261122_000014_create_jobs::Migration),
            Box::new(m20261122_000015_create_schedules::Migration),
            Box::new(m20261122_000016_create_outbox_messages::Migration),
            Box::new(m20261122_000017_add_users_email_invalid_at::Migration),
            Box::new(m20261122_000018_create_integration_contacts::Migration),
            Box::new(m20261122_000019_add_users_title::Migration),
            Box::new(m20261122_000020_add_users_is_distribution_list::Migration),
            Box::new(m20261122_000021_create_topic_contacts::Migration),
            Box::new(m20261122_000022_add_users_consent::Migration),
            Box::new(m20261122_000023_create_consent_changes::Migration),
            Box::new(m20261122_000024_add_accounts_contact_review::Migration),
            Box::new(m20261122_000025_create_notices::Migration),
            Box::new(m20261122_000026_create_connection_requests::Migration),
            Box::new(m20261122_000027_add_connections_request::Migration),
            Box::new(m20261122_000028_add_outbox_messages_body_encrypted::Migration),
            Box::new(m20261122_000029_create_bulk_user_jobs::Migration),
            Box::new(m20261122_000030_create_telephony_resources::Migration),
            Box::new(m20261122_000031_create_user_views::Migration),
            Box::new(m20261122_000032_add_bulk_job_lookup_indexes::Migration),
            Box::new(m20261202_000033_create_sync_sources::Migration),
            Box::new(m20261202_000034_create_sync_runs::Migration),
            Box::new(m20261202_000035_add_external_identities_missing::Migration),
        ]
    }
}
