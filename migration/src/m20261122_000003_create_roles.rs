use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{account_fk, account_id_unique, create_table_with_indexes, drop_table, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
    AccountId,
    Name,
    NameKey,
    Description,
    IsAccountAdmin,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(Roles::Table)
            .col(pk_uuid(Roles::Id))
            .col(uuid(Roles::AccountId))
            .col(string_len(Roles::Name, 100))
            .col(string_len(Roles::NameKey, 100))
            .col(string_len_null(Roles::Description, 500))
            .col(boolean(Roles::IsAccountAdmin).default(false))
            .col(timestamp_with_time_zone(Roles::CreatedAt))
            .col(timestamp_with_time_zone(Roles::UpdatedAt))
            .foreign_key(&mut account_fk("roles"))
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![
                account_id_unique("roles"),
                index("roles", "name", &["account_id", "name_key"], true),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "roles").await
    }
}
