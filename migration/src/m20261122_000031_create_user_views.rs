//! User views: saved filters over an account's users, for lists and bulk jobs.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{
    account_fk, account_id_unique, create_table_with_indexes, drop_table, index, tenant_fk,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UserViews {
    Table,
    Id,
    AccountId,
    Name,
    NameKey,
    Filter,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = "user_views";
        let views = Table::create()
            .table(UserViews::Table)
            .col(pk_uuid(UserViews::Id))
            .col(uuid(UserViews::AccountId))
            .col(string_len(UserViews::Name, 100))
            .col(string_len(UserViews::NameKey, 100))
            .col(json(UserViews::Filter))
            .col(uuid_null(UserViews::CreatedBy))
            .col(timestamp_with_time_zone(UserViews::CreatedAt))
            .col(timestamp_with_time_zone(UserViews::UpdatedAt))
            .foreign_key(&mut account_fk(table))
            .foreign_key(&mut tenant_fk(
                table,
                "created_by",
                "users",
                ForeignKeyAction::NoAction,
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            views,
            vec![
                account_id_unique(table),
                index(table, "name", &["account_id", "name_key"], true),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "user_views").await
    }
}
