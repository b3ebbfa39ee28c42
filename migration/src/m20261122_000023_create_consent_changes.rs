//! The history of consent changes: which flag, the new value, who changed it and when.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{
    account_fk, account_id_unique, create_table_with_indexes, drop_table, index, one_of, tenant_fk,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ConsentChanges {
    Table,
    Id,
    AccountId,
    UserId,
    Flag,
    Value,
    ChangedByUserId,
    ChangedByLabel,
    ChangedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(ConsentChanges::Table)
            .col(pk_uuid(ConsentChanges::Id))
            .col(uuid(ConsentChanges::AccountId))
            .col(uuid(ConsentChanges::UserId))
            .col(string_len(ConsentChanges::Flag, 32))
            .col(boolean(ConsentChanges::Value))
            .col(uuid_null(ConsentChanges::ChangedByUserId))
            .col(string_len_null(ConsentChanges::ChangedByLabel, 200))
            .col(timestamp_with_time_zone(ConsentChanges::ChangedAt))
            .foreign_key(&mut account_fk("consent_changes"))
            .foreign_key(&mut tenant_fk(
                "consent_changes",
                "user_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .check(one_of(
                "consent_changes",
                "flag",
                &["INTERVIEWS", "PRODUCT_UPDATES"],
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![
                account_id_unique("consent_changes"),
                index(
                    "consent_changes",
                    "user",
                    &["account_id", "user_id", "changed_at"],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "consent_changes").await
    }
}
