//! Sync sources: an account's configured upstreams of users, one per integration.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{
    account_fk, account_id_unique, create_table_with_indexes, drop_table, index, one_of,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SyncSources {
    Table,
    Id,
    AccountId,
    IntegrationKey,
    PrimaryIdentifier,
    EverySeconds,
    DeactivateAfterMissedRuns,
    Enabled,
    Status,
    ConsecutiveFailures,
    ActiveRunId,
    LastRunAt,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(SyncSources::Table)
            .col(pk_uuid(SyncSources::Id))
            .col(uuid(SyncSources::AccountId))
            .col(string_len(SyncSources::IntegrationKey, 64))
            .col(string_len_null(SyncSources::PrimaryIdentifier, 16))
            .col(big_integer(SyncSources::EverySeconds))
            .col(integer_null(SyncSources::DeactivateAfterMissedRuns))
            .col(boolean(SyncSources::Enabled))
            .col(string_len(SyncSources::Status, 16))
            .col(integer(SyncSources::ConsecutiveFailures).default(0))
            // The run under way or awaiting approval: at most one per source, across replicas.
            .col(uuid_null(SyncSources::ActiveRunId))
            .col(timestamp_with_time_zone_null(SyncSources::LastRunAt))
            .col(string_len_null(SyncSources::LastError, 500))
            .col(timestamp_with_time_zone(SyncSources::CreatedAt))
            .col(timestamp_with_time_zone(SyncSources::UpdatedAt))
            .foreign_key(&mut account_fk("sync_sources"))
            .check(one_of(
                "sync_sources",
                "primary_identifier",
                &["USERNAME", "EMAIL", "EXTERNAL_ID"],
            ))
            .check(one_of(
                "sync_sources",
                "status",
                &["OK", "AUTH_FAILED", "FAILING"],
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![
                account_id_unique("sync_sources"),
                index(
                    "sync_sources",
                    "integration",
                    &["account_id", "integration_key"],
                    true,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "sync_sources").await
    }
}
