//! Sync runs, their per-user items, and the upstream records a run fetched: a run stages the
//! whole listing before it changes anything, so an incomplete fetch changes nothing and memory
//! stays flat however large the directory is.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{
    account_fk, account_id_unique, create_table_with_indexes, drop_table, index, one_of, tenant_fk,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SyncRuns {
    Table,
    Id,
    AccountId,
    SourceId,
    Trigger,
    DryRun,
    Status,
    Fetched,
    Created,
    Updated,
    Unchanged,
    Missing,
    Deactivated,
    Conflicts,
    Failed,
    /// The last staged position whose change has been applied (a resumed run goes on after it).
    AppliedThrough,
    /// The missing-upstream pass is done.
    MissingApplied,
    Error,
    RequestedBy,
    DecidedBy,
    DecidedAt,
    StartedAt,
    FinishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SyncRunItems {
    Table,
    AccountId,
    RunId,
    Position,
    ExternalId,
    UserId,
    Action,
    Status,
    Changes,
    Error,
}

#[derive(DeriveIden)]
enum SyncUpstreamUsers {
    Table,
    AccountId,
    RunId,
    Position,
    ExternalId,
    Username,
    Email,
    DisplayName,
    FirstName,
    LastName,
    /// The folded username a new user would get, for "earlier in the listing" checks.
    UsernameKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let runs = Table::create()
            .table(SyncRuns::Table)
            .col(pk_uuid(SyncRuns::Id))
            .col(uuid(SyncRuns::AccountId))
            .col(uuid(SyncRuns::SourceId))
            .col(string_len(SyncRuns::Trigger, 16))
            .col(boolean(SyncRuns::DryRun))
            .col(string_len(SyncRuns::Status, 20))
            .col(integer(SyncRuns::Fetched).default(0))
            .col(integer(SyncRuns::Created).default(0))
            .col(integer(SyncRuns::Updated).default(0))
            .col(integer(SyncRuns::Unchanged).default(0))
            .col(integer(SyncRuns::Missing).default(0))
            .col(integer(SyncRuns::Deactivated).default(0))
            .col(integer(SyncRuns::Conflicts).default(0))
            .col(integer(SyncRuns::Failed).default(0))
            .col(integer(SyncRuns::AppliedThrough).default(0))
            .col(boolean(SyncRuns::MissingApplied).default(false))
            .col(string_len_null(SyncRuns::Error, 1000))
            .col(uuid_null(SyncRuns::RequestedBy))
            .col(uuid_null(SyncRuns::DecidedBy))
            .col(timestamp_with_time_zone_null(SyncRuns::DecidedAt))
            .col(timestamp_with_time_zone_null(SyncRuns::StartedAt))
            .col(timestamp_with_time_zone_null(SyncRuns::FinishedAt))
            .col(timestamp_with_time_zone(SyncRuns::CreatedAt))
            .col(timestamp_with_time_zone(SyncRuns::UpdatedAt))
            .foreign_key(&mut account_fk("sync_runs"))
            .foreign_key(&mut tenant_fk(
                "sync_runs",
                "source_id",
                "sync_sources",
                ForeignKeyAction::Cascade,
            ))
            .check(one_of(
                "sync_runs",
                "trigger",
                &["SCHEDULE", "MANUAL", "ENABLE"],
            ))
            .check(one_of(
                "sync_runs",
                "status",
                &[
                    "QUEUED",
                    "RUNNING",
                    "AWAITING_APPROVAL",
                    "SUCCEEDED",
                    "PARTIAL",
                    "FAILED",
                    "REJECTED",
                ],
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            runs,
            vec![
                account_id_unique("sync_runs"),
                index(
                    "sync_runs",
                    "source_created",
                    &["account_id", "source_id", "created_at"],
                    false,
                ),
            ],
        )
        .await?;

        let items = Table::create()
            .table(SyncRunItems::Table)
            .col(uuid(SyncRunItems::AccountId))
            .col(uuid(SyncRunItems::RunId))
            .col(integer(SyncRunItems::Position))
            .col(string_len(SyncRunItems::ExternalId, 255))
            .col(uuid_null(SyncRunItems::UserId))
            .col(string_len(SyncRunItems::Action, 20))
            .col(string_len(SyncRunItems::Status, 16))
            .col(json_null(SyncRunItems::Changes))
            .col(string_len_null(SyncRunItems::Error, 500))
            .primary_key(
                Index::create()
                    .name("pk_sync_run_items")
                    .col(SyncRunItems::RunId)
                    .col(SyncRunItems::Position),
            )
            .foreign_key(&mut tenant_fk(
                "sync_run_items",
                "run_id",
                "sync_runs",
                ForeignKeyAction::Cascade,
            ))
            .check(one_of(
                "sync_run_items",
                "action",
                &[
                    "CREATE",
                    "LINK",
                    "UPDATE",
                    "RETURNED",
                    "FLAG_MISSING",
                    "DEACTIVATE",
                    "CONFLICT",
                ],
            ))
            .check(one_of(
                "sync_run_items",
                "status",
                &["PLANNED", "APPLIED", "FAILED", "SKIPPED"],
            ))
            .to_owned();
        // A preview's "an earlier record of this run links that user" look-up.
        create_table_with_indexes(
            manager,
            items,
            vec![index(
                "sync_run_items",
                "user",
                &["run_id", "user_id"],
                false,
            )],
        )
        .await?;

        let staged = Table::create()
            .table(SyncUpstreamUsers::Table)
            .col(uuid(SyncUpstreamUsers::AccountId))
            .col(uuid(SyncUpstreamUsers::RunId))
            .col(integer(SyncUpstreamUsers::Position))
            .col(string_len(SyncUpstreamUsers::ExternalId, 255))
            .col(string_len_null(SyncUpstreamUsers::Username, 1000))
            .col(string_len_null(SyncUpstreamUsers::Email, 1000))
            .col(string_len_null(SyncUpstreamUsers::DisplayName, 1000))
            .col(string_len_null(SyncUpstreamUsers::FirstName, 1000))
            .col(string_len_null(SyncUpstreamUsers::LastName, 1000))
            .col(string_len_null(SyncUpstreamUsers::UsernameKey, 1000))
            .primary_key(
                Index::create()
                    .name("pk_sync_upstream_users")
                    .col(SyncUpstreamUsers::RunId)
                    .col(SyncUpstreamUsers::Position),
            )
            .foreign_key(&mut tenant_fk(
                "sync_upstream_users",
                "run_id",
                "sync_runs",
                ForeignKeyAction::Cascade,
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            staged,
            vec![
                index(
                    "sync_upstream_users",
                    "external_id",
                    &["run_id", "external_id"],
                    true,
                ),
                index(
                    "sync_upstream_users",
                    "username",
                    &["run_id", "username_key"],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "sync_upstream_users").await?;
        drop_table(manager, "sync_run_items").await?;
        drop_table(manager, "sync_runs").await
    }
}
