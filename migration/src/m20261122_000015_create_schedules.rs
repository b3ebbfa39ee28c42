use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{account_fk, create_table_with_indexes, drop_table, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Recurring work. A tick is claimed by advancing `next_run_at` with a conditional UPDATE, so it
/// fires once however many replicas look at it. AFTER_COMPLETION schedules wait for their job to
/// end before the next run is planned.
#[derive(DeriveIden)]
enum Schedules {
    Table,
    Name,
    AccountId,
    JobKind,
    Payload,
    EverySeconds,
    EveryMonths,
    Anchor,
    JitterSeconds,
    NextRunAt,
    LastFiredAt,
    LastCompletedAt,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(Schedules::Table)
            .col(string_len(Schedules::Name, 200).primary_key())
            .col(uuid_null(Schedules::AccountId))
            .col(string_len(Schedules::JobKind, 64))
            .col(json_binary(Schedules::Payload))
            .col(big_integer_null(Schedules::EverySeconds))
            .col(integer_null(Schedules::EveryMonths))
            .col(string_len(Schedules::Anchor, 24))
            .col(integer(Schedules::JitterSeconds).default(0))
            .col(timestamp_with_time_zone_null(Schedules::NextRunAt))
            .col(timestamp_with_time_zone_null(Schedules::LastFiredAt))
            .col(timestamp_with_time_zone_null(Schedules::LastCompletedAt))
            .col(boolean(Schedules::Enabled).default(true))
            .col(timestamp_with_time_zone(Schedules::CreatedAt))
            .col(timestamp_with_time_zone(Schedules::UpdatedAt))
            .foreign_key(&mut account_fk("schedules"))
            .check(one_of(
                "schedules",
                "anchor",
                &["FIXED", "AFTER_COMPLETION"],
            ))
            .check(Check::named(
                "ck_schedules_interval",
                Expr::cust("every_seconds IS NOT NULL OR every_months IS NOT NULL"),
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![index(
                "schedules",
                "due",
                &["enabled", "next_run_at"],
                false,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "schedules").await
    }
}
