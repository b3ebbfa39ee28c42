use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{account_fk, drop_table, one_of, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RoleGrants {
    Table,
    AccountId,
    RoleId,
    Area,
    Level,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RoleGrants::Table)
                    .col(uuid(RoleGrants::AccountId))
                    .col(uuid(RoleGrants::RoleId))
                    .col(string_len(RoleGrants::Area, 32))
                    .col(string_len(RoleGrants::Level, 8))
                    .primary_key(
                        Index::create()
                            .name("pk_role_grants")
                            .col(RoleGrants::RoleId)
                            .col(RoleGrants::Area),
                    )
                    .foreign_key(&mut account_fk("role_grants"))
                    .foreign_key(&mut tenant_fk(
                        "role_grants",
                        "role_id",
                        "roles",
                        ForeignKeyAction::Cascade,
                    ))
                    .check(one_of("role_grants", "level", &["NONE", "READ", "FULL"]))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "role_grants").await
    }
}
