use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{drop_table, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Slug,
    Name,
    LicenceLimit,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(pk_uuid(Accounts::Id))
                    .col(string_len(Accounts::Slug, 40))
                    .col(string_len(Accounts::Name, 200))
                    .col(integer(Accounts::LicenceLimit))
                    .col(string_len(Accounts::Status, 16).default("ACTIVE"))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .col(timestamp_with_time_zone(Accounts::UpdatedAt))
                    .check(one_of("accounts", "status", &["ACTIVE", "SUSPENDED"]))
                    .check(Check::named(
                        "ck_accounts_licence_limit",
                        Expr::col(Accounts::LicenceLimit).gte(0),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_accounts_slug")
                    .table(Accounts::Table)
                    .col(Accounts::Slug)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "accounts").await
    }
}
