use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{account_fk, create_table_with_indexes, drop_table, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Durable background work. A worker claims a due job with a conditional UPDATE that sets a
/// lease; a crashed worker's job is claimed again once its lease expires. `dedupe_key` makes an
/// enqueue idempotent (a schedule's tick, an idempotency key).
#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    AccountId,
    Kind,
    Payload,
    Status,
    RunAt,
    Attempts,
    MaxAttempts,
    LeaseOwner,
    LeaseExpiresAt,
    LastError,
    DedupeKey,
    ScheduleName,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(Jobs::Table)
            .col(pk_uuid(Jobs::Id))
            .col(uuid_null(Jobs::AccountId))
            .col(string_len(Jobs::Kind, 64))
            .col(json_binary(Jobs::Payload))
            .col(string_len(Jobs::Status, 16))
            .col(timestamp_with_time_zone(Jobs::RunAt))
            .col(integer(Jobs::Attempts).default(0))
            .col(integer(Jobs::MaxAttempts))
            .col(string_len_null(Jobs::LeaseOwner, 100))
            .col(timestamp_with_time_zone_null(Jobs::LeaseExpiresAt))
            .col(text_null(Jobs::LastError))
            .col(string_len_null(Jobs::DedupeKey, 200))
            .col(string_len_null(Jobs::ScheduleName, 200))
            .col(timestamp_with_time_zone(Jobs::CreatedAt))
            .col(timestamp_with_time_zone(Jobs::UpdatedAt))
            .col(timestamp_with_time_zone_null(Jobs::FinishedAt))
            .foreign_key(&mut account_fk("jobs"))
            .check(one_of(
                "jobs",
                "status",
                &["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"],
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![
                index("jobs", "due", &["status", "run_at"], false),
                index("jobs", "dedupe_key", &["dedupe_key"], true),
                index("jobs", "account", &["account_id", "kind"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "jobs").await
    }
}
