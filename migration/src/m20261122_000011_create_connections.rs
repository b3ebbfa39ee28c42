use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{
    account_fk, account_id_unique, create_table_with_indexes, drop_table, index, one_of, tenant_fk,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Connections {
    Table,
    Id,
    AccountId,
    IntegrationKey,
    Status,
    Settings,
    /// Encrypted at rest with the platform key ring; never returned by the API.
    Secrets,
    ConnectedByUserId,
    ConnectedByLabel,
    ConnectedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Key,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(Connections::Table)
            .col(pk_uuid(Connections::Id))
            .col(uuid(Connections::AccountId))
            .col(string_len(Connections::IntegrationKey, 64))
            .col(string_len(Connections::Status, 16))
            .col(json_binary(Connections::Settings))
            .col(text_null(Connections::Secrets))
            .col(uuid_null(Connections::ConnectedByUserId))
            .col(string_len_null(Connections::ConnectedByLabel, 254))
            .col(timestamp_with_time_zone_null(Connections::ConnectedAt))
            .col(timestamp_with_time_zone(Connections::CreatedAt))
            .col(timestamp_with_time_zone(Connections::UpdatedAt))
            .foreign_key(&mut account_fk("connections"))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_connections_integration")
                    .from(Connections::Table, Connections::IntegrationKey)
                    .to(Integrations::Table, Integrations::Key),
            )
            .foreign_key(&mut tenant_fk(
                "connections",
                "connected_by_user_id",
                "users",
                ForeignKeyAction::NoAction,
            ))
            .check(one_of(
                "connections",
                "status",
                &["NOT_CONNECTED", "CONNECTED", "ERROR"],
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![
                account_id_unique("connections"),
                index(
                    "connections",
                    "integration",
                    &["account_id", "integration_key"],
                    true,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "connections").await
    }
}
