//! Bulk user jobs: many users created (or pending users activated) from a template user, each
//! source row with its own result. Rows are recorded when the job is, so a restarted worker
//! resumes with the rows still QUEUED and never creates a user twice.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{
    account_fk, account_id_unique, create_table_with_indexes, drop_table, index, one_of, tenant_fk,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BulkUserJobs {
    Table,
    Id,
    AccountId,
    RequestedBy,
    TemplateUserId,
    IdempotencyKey,
    Source,
    RetryOf,
    StartingAgentId,
    NextAgentId,
    Status,
    Total,
    Processed,
    Created,
    Failed,
    Skipped,
    CancelRequestedAt,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum BulkUserJobRows {
    Table,
    AccountId,
    JobId,
    Position,
    Source,
    UsernameKey,
    GivenAgentId,
    LinkKey,
    Status,
    UserId,
    AgentId,
    Errors,
    ProcessedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let jobs = Table::create()
            .table(BulkUserJobs::Table)
            .col(pk_uuid(BulkUserJobs::Id))
            .col(uuid(BulkUserJobs::AccountId))
            .col(uuid(BulkUserJobs::RequestedBy))
            .col(uuid(BulkUserJobs::TemplateUserId))
            .col(string_len_null(BulkUserJobs::IdempotencyKey, 100))
            .col(string_len(BulkUserJobs::Source, 16))
            .col(uuid_null(BulkUserJobs::RetryOf))
            .col(big_integer_null(BulkUserJobs::StartingAgentId))
            .col(big_integer_null(BulkUserJobs::NextAgentId))
            .col(string_len(BulkUserJobs::Status, 24))
            .col(integer(BulkUserJobs::Total))
            .col(integer(BulkUserJobs::Processed).default(0))
            .col(integer(BulkUserJobs::Created).default(0))
            .col(integer(BulkUserJobs::Failed).default(0))
            .col(integer(BulkUserJobs::Skipped).default(0))
            .col(timestamp_with_time_zone_null(
                BulkUserJobs::CancelRequestedAt,
            ))
            .col(timestamp_with_time_zone(BulkUserJobs::CreatedAt))
            .col(timestamp_with_time_zone(BulkUserJobs::UpdatedAt))
            .col(timestamp_with_time_zone_null(BulkUserJobs::StartedAt))
            .col(timestamp_with_time_zone_null(BulkUserJobs::FinishedAt))
            .foreign_key(&mut account_fk("bulk_user_jobs"))
            .foreign_key(&mut tenant_fk(
                "bulk_user_jobs",
                "requested_by",
                "users",
                ForeignKeyAction::NoAction,
            ))
            .foreign_key(&mut tenant_fk(
                "bulk_user_jobs",
                "template_user_id",
                "users",
                ForeignKeyAction::NoAction,
            ))
            .check(one_of(
                "bulk_user_jobs",
                "status",
                &[
                    "QUEUED",
                    "RUNNING",
                    "COMPLETED",
                    "COMPLETED_WITH_ERRORS",
                    "FAILED",
                    "CANCELLED",
                ],
            ))
            .check(one_of(
                "bulk_user_jobs",
                "source",
                &["ROWS", "USER_VIEW", "PENDING_USERS", "CSV", "RETRY"],
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            jobs,
            vec![
                account_id_unique("bulk_user_jobs"),
                index(
                    "bulk_user_jobs",
                    "idempotency",
                    &["account_id", "idempotency_key"],
                    true,
                ),
                index(
                    "bulk_user_jobs",
                    "created",
                    &["account_id", "created_at"],
                    false,
                ),
            ],
        )
        .await?;

        let rows = Table::create()
            .table(BulkUserJobRows::Table)
            .col(uuid(BulkUserJobRows::AccountId))
            .col(uuid(BulkUserJobRows::JobId))
            .col(integer(BulkUserJobRows::Position))
            .col(json(BulkUserJobRows::Source))
            .col(string_len_null(BulkUserJobRows::UsernameKey, 100))
            .col(big_integer_null(BulkUserJobRows::GivenAgentId))
            .col(string_len_null(BulkUserJobRows::LinkKey, 400))
            .col(string_len(BulkUserJobRows::Status, 16))
            .col(uuid_null(BulkUserJobRows::UserId))
            .col(big_integer_null(BulkUserJobRows::AgentId))
            .col(json_null(BulkUserJobRows::Errors))
            .col(timestamp_with_time_zone_null(BulkUserJobRows::ProcessedAt))
            .primary_key(
                Index::create()
                    .name("pk_bulk_user_job_rows")
                    .col(BulkUserJobRows::JobId)
                    .col(BulkUserJobRows::Position),
            )
            .foreign_key(&mut account_fk("bulk_user_job_rows"))
            .foreign_key(&mut tenant_fk(
                "bulk_user_job_rows",
                "job_id",
                "bulk_user_jobs",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut tenant_fk(
                "bulk_user_job_rows",
                "user_id",
                "users",
                ForeignKeyAction::NoAction,
            ))
            .check(one_of(
                "bulk_user_job_rows",
                "status",
                &["QUEUED", "CREATED", "SKIPPED", "FAILED", "CANCELLED"],
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            rows,
            vec![index(
                "bulk_user_job_rows",
                "status",
                &["job_id", "status", "position"],
                false,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "bulk_user_job_rows").await?;
        drop_table(manager, "bulk_user_jobs").await
    }
}
