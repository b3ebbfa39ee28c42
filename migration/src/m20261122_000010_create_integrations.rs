use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::drop_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The global catalog: not a tenant table. Rows are upserted from the catalog data file at start,
/// so that connections can reference an integration by key.
#[derive(DeriveIden)]
enum Integrations {
    Table,
    Key,
    Name,
    Category,
    Description,
    SettingsSchema,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Integrations::Table)
                    .col(string_len(Integrations::Key, 64).primary_key())
                    .col(string_len(Integrations::Name, 200))
                    .col(string_len(Integrations::Category, 32))
                    .col(text(Integrations::Description))
                    .col(json_binary(Integrations::SettingsSchema))
                    .col(timestamp_with_time_zone(Integrations::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "integrations").await
    }
}
