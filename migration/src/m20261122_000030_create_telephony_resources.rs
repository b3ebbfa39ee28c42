//! Queues and lines: an account's telephony resources, and each user's access to them with a
//! level. Templates copy a user's access onto new users.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{
    account_fk, account_id_unique, create_link_table, create_table_with_indexes, drop_table, index,
    one_of,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TelephonyResources {
    Table,
    Id,
    AccountId,
    Kind,
    Name,
    NameKey,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = "telephony_resources";
        let resources = Table::create()
            .table(TelephonyResources::Table)
            .col(pk_uuid(TelephonyResources::Id))
            .col(uuid(TelephonyResources::AccountId))
            .col(string_len(TelephonyResources::Kind, 8))
            .col(string_len(TelephonyResources::Name, 100))
            .col(string_len(TelephonyResources::NameKey, 100))
            .col(string_len_null(TelephonyResources::Description, 500))
            .col(timestamp_with_time_zone(TelephonyResources::CreatedAt))
            .col(timestamp_with_time_zone(TelephonyResources::UpdatedAt))
            .foreign_key(&mut account_fk(table))
            .check(one_of(table, "kind", &["QUEUE", "LINE"]))
            .to_owned();
        create_table_with_indexes(
            manager,
            resources,
            vec![
                account_id_unique(table),
                index(table, "name", &["account_id", "kind", "name_key"], true),
            ],
        )
        .await?;
        create_link_table(
            manager,
            "user_resource_access",
            ("user_id", "users"),
            ("resource_id", table),
            vec![
                ColumnDef::new(Alias::new("level"))
                    .string_len(8)
                    .not_null()
                    .check(Expr::cust("level IN ('READ', 'FULL')"))
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "user_resource_access").await?;
        drop_table(manager, "telephony_resources").await
    }
}
