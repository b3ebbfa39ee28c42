use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{
    account_fk, account_id_unique, create_table_with_indexes, drop_table, index, tenant_fk,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ExternalIdentities {
    Table,
    Id,
    AccountId,
    UserId,
    Source,
    ExternalId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(ExternalIdentities::Table)
            .col(pk_uuid(ExternalIdentities::Id))
            .col(uuid(ExternalIdentities::AccountId))
            .col(uuid(ExternalIdentities::UserId))
            .col(string_len(ExternalIdentities::Source, 64))
            .col(string_len(ExternalIdentities::ExternalId, 255))
            .col(timestamp_with_time_zone(ExternalIdentities::CreatedAt))
            .foreign_key(&mut account_fk("external_identities"))
            .foreign_key(&mut tenant_fk(
                "external_identities",
                "user_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![
                account_id_unique("external_identities"),
                index(
                    "external_identities",
                    "source_external_id",
                    &["account_id", "source", "external_id"],
                    true,
                ),
                index(
                    "external_identities",
                    "user",
                    &["account_id", "user_id"],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "external_identities").await
    }
}
