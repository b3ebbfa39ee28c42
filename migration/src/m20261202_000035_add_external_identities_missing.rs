//! A linked user gone upstream is flagged on its link, never deleted: since when, and for how
//! many consecutive complete runs (an optional policy deactivates after N).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ExternalIdentities {
    Table,
    MissingSince,
    MissedRuns,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(ExternalIdentities::Table)
                    .add_column(timestamp_with_time_zone_null(
                        ExternalIdentities::MissingSince,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ExternalIdentities::Table)
                    .add_column(integer(ExternalIdentities::MissedRuns).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ExternalIdentities::MissedRuns,
            ExternalIdentities::MissingSince,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ExternalIdentities::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
